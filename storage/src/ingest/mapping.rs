//! From source field names to canonical columns.
//!
//! Each canonical column has a list of usual source names (`timestamp`, `@timestamp`, `msg`,
//! `traceId`, …); `--map canonical=source` puts a source name (a dotted path reaches into nested
//! objects) in front of them. Source fields that no column takes are kept, not dropped: they are
//! merged into `attributes`.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, plan_err};
use serde_json::{Map, Value};

use super::time::{ts_from_float, ts_from_int, ts_from_str};
use crate::rows::{Cell, Row};
use crate::schema::SignalKind;

fn aliases(kind: SignalKind, column: &str) -> &'static [&'static str] {
    use SignalKind::*;
    match (kind, column) {
        (_, "ts") => &[
            "ts",
            "timestamp",
            "time",
            "@timestamp",
            "Timestamp",
            "time_unix_nano",
            "timeUnixNano",
            "start_time",
        ],
        (_, "service") => &[
            "service",
            "service.name",
            "service_name",
            "serviceName",
            "app",
        ],
        (_, "host") => &["host", "hostname", "host.name", "pod", "k8s.pod.name"],
        (_, "severity") => &[
            "severity",
            "level",
            "severity_text",
            "severityText",
            "loglevel",
            "lvl",
        ],
        (Logs, "body") => &["body", "message", "msg", "log", "text"],
        (_, "trace_id") => &["trace_id", "traceId", "trace.id", "TraceID"],
        (_, "span_id") => &["span_id", "spanId", "span.id", "SpanID"],
        (Spans, "parent_span_id") => &["parent_span_id", "parentSpanId", "parent_id", "ParentID"],
        (Spans, "duration_ns") => &["duration_ns", "durationNanos"],
        (Spans, "operation") => &[
            "operation",
            "name",
            "operation_name",
            "operationName",
            "span_name",
        ],
        (Spans, "kind") => &["kind", "span_kind", "spanKind"],
        (Spans, "status") => &["status", "status_code", "statusCode"],
        (Metrics, "name") => &["name", "metric", "metric_name", "__name__"],
        (Metrics, "value") => &["value", "val"],
        (Metrics, "unit") => &["unit"],
        (Events, "kind") => &["kind", "type", "event_type", "reason"],
        (Events, "message") => &["message", "msg", "description", "note"],
        (_, "attributes") => &["attributes", "attrs", "labels", "tags"],
        _ => &[],
    }
}

struct Column {
    index: usize,
    name: String,
    data_type: DataType,
    keys: Vec<String>,
}

/// How source fields become the columns of one table.
pub struct FieldMap {
    kind: SignalKind,
    columns: Vec<Column>,
    attributes: usize,
}

/// Looks a key up directly, then as a dotted path into nested objects.
fn lookup<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if let Some(v) = obj.get(key) {
        return Some(v);
    }
    let (head, rest) = key.split_once('.')?;
    match obj.get(head)? {
        Value::Object(inner) => lookup(inner, rest),
        _ => None,
    }
}

/// Converts a JSON value for a column of `data_type`; `Err` names the column.
pub fn json_to_cell(
    column: &str,
    data_type: &DataType,
    v: &Value,
) -> std::result::Result<Cell, String> {
    let bad = |what: &str| format!("{column}: expected {what}, got {v}");
    Ok(match (data_type, v) {
        (_, Value::Null) => Cell::Null,
        (DataType::Timestamp(_, _), Value::Number(n)) => match n.as_i64() {
            Some(i) => Cell::Ts(ts_from_int(i)?),
            None => Cell::Ts(ts_from_float(
                n.as_f64().ok_or_else(|| bad("a timestamp"))?,
            )?),
        },
        (DataType::Timestamp(_, _), Value::String(s)) => Cell::Ts(ts_from_str(s)?),
        (DataType::Timestamp(_, _), _) => return Err(bad("a timestamp")),
        (DataType::Int64, Value::Number(n)) => match n.as_i64() {
            Some(i) => Cell::Int(i),
            None => Cell::Float(n.as_f64().ok_or_else(|| bad("an integer"))?),
        },
        (DataType::Int64, Value::String(s)) if s.trim().is_empty() => Cell::Null,
        (DataType::Int64, Value::String(s)) => match s.trim().parse::<i64>() {
            Ok(i) => Cell::Int(i),
            Err(_) => Cell::Float(s.trim().parse::<f64>().map_err(|_| bad("an integer"))?),
        },
        (DataType::Int64, _) => return Err(bad("an integer")),
        (DataType::Float64, Value::Number(n)) => {
            Cell::Float(n.as_f64().ok_or_else(|| bad("a number"))?)
        }
        (DataType::Float64, Value::String(s)) if s.trim().is_empty() => Cell::Null,
        (DataType::Float64, Value::String(s)) => {
            let f = s.trim().parse::<f64>().map_err(|_| bad("a number"))?;
            if !f.is_finite() {
                return Err(format!("{column}: not a finite number: {s}"));
            }
            Cell::Float(f)
        }
        (DataType::Float64, _) => return Err(bad("a number")),
        (_, Value::String(s)) => Cell::Str(s.clone()),
        (_, other) => Cell::Str(other.to_string()),
    })
}

impl FieldMap {
    /// `overrides` are `(canonical column, source field)` pairs from `--map`.
    pub fn new(kind: SignalKind, overrides: &[(String, String)]) -> Result<Self> {
        let schema = kind.schema();
        for (canonical, _) in overrides {
            if schema.index_of(canonical).is_err() {
                let names: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                return plan_err!(
                    "--map {canonical}=…: {kind} has no column {canonical}; its columns are {}",
                    names.join(", ")
                );
            }
        }
        let columns = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(index, f)| {
                let mut keys: Vec<String> = overrides
                    .iter()
                    .filter(|(c, _)| c == f.name())
                    .map(|(_, s)| s.clone())
                    .collect();
                keys.extend(aliases(kind, f.name()).iter().map(|s| s.to_string()));
                Column {
                    index,
                    name: f.name().clone(),
                    data_type: f.data_type().clone(),
                    keys,
                }
            })
            .collect();
        let attributes = schema
            .index_of("attributes")
            .expect("every table has attributes");
        Ok(Self {
            kind,
            columns,
            attributes,
        })
    }

    pub fn kind(&self) -> SignalKind {
        self.kind
    }

    /// Fills `row` from a JSON object; fields no column takes go to `attributes`.
    pub fn fill(&self, obj: &Map<String, Value>, row: &mut Row) -> std::result::Result<(), String> {
        row.clear();
        let mut used: Vec<&str> = Vec::with_capacity(self.columns.len());
        let mut attributes: Option<Map<String, Value>> = None;
        for col in &self.columns {
            let Some((key, v)) = col.keys.iter().find_map(|k| {
                if used.contains(&k.as_str()) {
                    return None;
                }
                lookup(obj, k).map(|v| (k.as_str(), v))
            }) else {
                continue;
            };
            used.push(key);
            if col.index == self.attributes {
                match v {
                    Value::Object(m) => attributes = Some(m.clone()),
                    Value::Null => {}
                    Value::String(s) => match serde_json::from_str::<Value>(s) {
                        Ok(Value::Object(m)) => attributes = Some(m),
                        _ => return Err(format!("attributes: expected a JSON object, got {v}")),
                    },
                    other => {
                        return Err(format!("attributes: expected a JSON object, got {other}"));
                    }
                }
                continue;
            }
            row.set_at(col.index, json_to_cell(&col.name, &col.data_type, v)?);
        }
        for (k, v) in obj {
            if used.contains(&k.as_str()) || v.is_null() {
                continue;
            }
            attributes
                .get_or_insert_with(Map::new)
                .insert(k.clone(), v.clone());
        }
        if let Some(m) = attributes {
            row.set_at(self.attributes, Cell::Str(Value::Object(m).to_string()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn aliases_map_and_leftovers_become_attributes() {
        let map = FieldMap::new(SignalKind::Logs, &[]).unwrap();
        let mut row = Row::new(SignalKind::Logs);
        map.fill(&obj(json!({"timestamp": 1_700_000_000, "msg": "hi", "level": "WARN", "pod": "p-1", "user": 7})), &mut row)
            .unwrap();
        assert_eq!(row.get("ts"), Some(&Cell::Ts(1_700_000_000_000_000_000)));
        assert_eq!(row.get("body"), Some(&Cell::Str("hi".into())));
        assert_eq!(row.get("host"), Some(&Cell::Str("p-1".into())));
        assert_eq!(
            row.get("attributes"),
            Some(&Cell::Str(r#"{"user":7}"#.into()))
        );
    }

    #[test]
    fn overrides_take_precedence_and_reach_nested_fields() {
        let map =
            FieldMap::new(SignalKind::Metrics, &[("service".into(), "res.svc".into())]).unwrap();
        let mut row = Row::new(SignalKind::Metrics);
        map.fill(&obj(json!({"ts": "2024-01-01T00:00:00Z", "name": "cpu", "value": "0.5", "res": {"svc": "cart"}})), &mut row)
            .unwrap();
        assert_eq!(row.get("service"), Some(&Cell::Str("cart".into())));
        assert_eq!(row.get("value"), Some(&Cell::Float(0.5)));
        assert!(FieldMap::new(SignalKind::Metrics, &[("nope".into(), "x".into())]).is_err());
    }

    #[test]
    fn wrong_types_name_the_column() {
        let map = FieldMap::new(SignalKind::Metrics, &[]).unwrap();
        let mut row = Row::new(SignalKind::Metrics);
        let e = map
            .fill(
                &obj(json!({"ts": 1, "name": "x", "value": "high"})),
                &mut row,
            )
            .unwrap_err();
        assert!(e.starts_with("value:"), "{e}");
        let e = map
            .fill(&obj(json!({"ts": true, "name": "x", "value": 1})), &mut row)
            .unwrap_err();
        assert!(e.starts_with("ts:"), "{e}");
    }
}
