//! From source field names to canonical columns.
//!
//! Each canonical column has a list of usual source names (`timestamp`, `@timestamp`, `msg`,
//! `traceId`, …); `--map canonical=source` puts a source name (a dotted path reaches into nested
//! objects) in front of them. Source fields that no column takes are kept, not dropped: they are
//! merged into `attributes`.

use std::borrow::Cow;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, plan_err};
use serde_json::{Map, Value};

use super::fields::{Field, Val, ValRef};
use super::time::{ts_from_float, ts_from_int, ts_from_str};
use crate::rows::{Cell, CellRef, Row};
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

/// Index of a top-level field name the mapping looks at (see [`FieldMap::key_id`]).
pub(crate) type KeyId = u16;

/// One name a column may take its value from.
struct Key {
    id: KeyId,
    /// For a dotted name: the id of its first segment and the rest of the path, tried when
    /// no top-level field has the whole name.
    path: Option<(KeyId, String)>,
}

/// A set of key ids: a bit per id below 128 (any mapping short of dozens of `--map`s), a list
/// above. Most of a column's aliases are absent from a record, and a bit says so at once.
#[derive(Default)]
struct IdSet {
    low: u128,
    high: Vec<KeyId>,
}

impl IdSet {
    #[inline]
    fn insert(&mut self, id: KeyId) {
        match 1u128.checked_shl(u32::from(id)) {
            Some(bit) => self.low |= bit,
            None => self.high.push(id),
        }
    }

    #[inline]
    fn contains(&self, id: KeyId) -> bool {
        match 1u128.checked_shl(u32::from(id)) {
            Some(bit) => self.low & bit != 0,
            None => self.high.contains(&id),
        }
    }
}

struct Column {
    index: usize,
    name: String,
    data_type: DataType,
    keys: Vec<Key>,
    /// The ids of its names and of their first segments, when all are below 128: a record
    /// with none of them present leaves the column NULL without looking at each name.
    reach: Option<u128>,
}

/// How source fields become the columns of one table.
pub struct FieldMap {
    kind: SignalKind,
    columns: Vec<Column>,
    attributes: usize,
    /// Every top-level name the mapping may look at, by length, for [`FieldMap::key_id`]:
    /// a handful of names share a length, so finding one costs a few short compares.
    names: Vec<Vec<(u64, String, KeyId)>>,
}

/// The first eight bytes of a name as a number: names of up to eight bytes compare as one
/// integer, longer ones by their rest after that.
pub(crate) fn prefix_word(b: &[u8]) -> u64 {
    match b.first_chunk::<8>() {
        Some(w) => u64::from_le_bytes(*w),
        None => b.iter().rev().fold(0, |w, &c| (w << 8) | u64::from(c)),
    }
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
    to_cell(column, data_type, ValRef::from(v)).map(CellRef::into_owned)
}

/// Converts a field value for a column of `data_type`, borrowing its text; `Err` names the
/// column.
fn to_cell<'a>(
    column: &str,
    data_type: &DataType,
    v: ValRef<'a>,
) -> std::result::Result<CellRef<'a>, String> {
    let bad = |what: &str| format!("{column}: expected {what}, got {v}");
    Ok(match (data_type, v) {
        (_, ValRef::Null) => CellRef::Null,
        (DataType::Timestamp(_, _), ValRef::Num(n)) => match n.as_i64() {
            Some(i) => CellRef::Ts(ts_from_int(i)?),
            None => CellRef::Ts(ts_from_float(
                n.as_f64().ok_or_else(|| bad("a timestamp"))?,
            )?),
        },
        (DataType::Timestamp(_, _), ValRef::Str(s)) => CellRef::Ts(ts_from_str(s)?),
        (DataType::Timestamp(_, _), _) => return Err(bad("a timestamp")),
        (DataType::Int64, ValRef::Num(n)) => match n.as_i64() {
            Some(i) => CellRef::Int(i),
            None => CellRef::Float(n.as_f64().ok_or_else(|| bad("an integer"))?),
        },
        (DataType::Int64, ValRef::Str(s)) if s.trim().is_empty() => CellRef::Null,
        (DataType::Int64, ValRef::Str(s)) => match s.trim().parse::<i64>() {
            Ok(i) => CellRef::Int(i),
            Err(_) => CellRef::Float(s.trim().parse::<f64>().map_err(|_| bad("an integer"))?),
        },
        (DataType::Int64, _) => return Err(bad("an integer")),
        (DataType::Float64, ValRef::Num(n)) => {
            CellRef::Float(n.as_f64().ok_or_else(|| bad("a number"))?)
        }
        (DataType::Float64, ValRef::Str(s)) if s.trim().is_empty() => CellRef::Null,
        (DataType::Float64, ValRef::Str(s)) => {
            let f = s.trim().parse::<f64>().map_err(|_| bad("a number"))?;
            if !f.is_finite() {
                return Err(format!("{column}: not a finite number: {s}"));
            }
            CellRef::Float(f)
        }
        (DataType::Float64, _) => return Err(bad("a number")),
        (_, ValRef::Str(s)) => CellRef::Str(Cow::Borrowed(s)),
        (_, other) => CellRef::Str(Cow::Owned(other.to_string())),
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
        let mut names: Vec<Vec<(u64, String, KeyId)>> = Vec::new();
        let mut intern = |name: &str| -> KeyId {
            if let Some((_, _, id)) = names
                .get(name.len())
                .and_then(|same_len| same_len.iter().find(|(_, n, _)| n == name))
            {
                return *id;
            }
            let id = names.iter().map(Vec::len).sum::<usize>() as KeyId;
            if names.len() <= name.len() {
                names.resize_with(name.len() + 1, Vec::new);
            }
            names[name.len()].push((prefix_word(name.as_bytes()), name.to_string(), id));
            id
        };
        let columns = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(index, f)| {
                let keys: Vec<Key> = overrides
                    .iter()
                    .filter(|(c, _)| c == f.name())
                    .map(|(_, s)| s.as_str())
                    .chain(aliases(kind, f.name()).iter().copied())
                    .map(|name| Key {
                        id: intern(name),
                        path: name
                            .split_once('.')
                            .map(|(head, rest)| (intern(head), rest.to_string())),
                    })
                    .collect();
                let reach = keys
                    .iter()
                    .flat_map(|k| std::iter::once(k.id).chain(k.path.as_ref().map(|p| p.0)))
                    .try_fold(0u128, |m, id| Some(m | 1u128.checked_shl(u32::from(id))?));
                Column {
                    index,
                    name: f.name().clone(),
                    data_type: f.data_type().clone(),
                    keys,
                    reach,
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
            names,
        })
    }

    pub fn kind(&self) -> SignalKind {
        self.kind
    }

    /// The id of a top-level field name the mapping may look at: a source name of a column,
    /// or the first segment of a dotted one. Other names are leftovers for `attributes`.
    pub(crate) fn key_id(&self, name: &str) -> Option<KeyId> {
        let same_len = self.names.get(name.len())?;
        let (b, word) = (name.as_bytes(), prefix_word(name.as_bytes()));
        same_len
            .iter()
            .find(|(w, n, _)| *w == word && n.as_bytes().get(8..) == b.get(8..))
            .map(|(_, _, id)| *id)
    }

    /// Fills `row` from a JSON object; fields no column takes go to `attributes`.
    pub fn fill(&self, obj: &Map<String, Value>, row: &mut Row) -> std::result::Result<(), String> {
        let fields: Vec<Field<'_>> = obj
            .iter()
            .map(|(k, v)| Field {
                id: self.key_id(k),
                key: Cow::Borrowed(k),
                val: Val::from(v),
            })
            .collect();
        let mut cells = vec![CellRef::Null; self.columns.len()];
        self.resolve(&fields, &mut cells)?;
        row.clear();
        for (i, cell) in cells.into_iter().enumerate() {
            row.set_at(i, cell.into_owned());
        }
        Ok(())
    }

    /// Maps the top-level fields of one record (names unique) to cells, one per schema column
    /// (all `Null` on entry). Each column takes the first of its source names, in order, that
    /// the record has and no earlier column took; fields no column takes, unless null, are
    /// merged into `attributes`.
    pub(crate) fn resolve<'f>(
        &self,
        fields: &'f [Field<'_>],
        cells: &mut [CellRef<'f>],
    ) -> std::result::Result<(), String> {
        let mut present = IdSet::default();
        fields
            .iter()
            .filter_map(|f| f.id)
            .for_each(|id| present.insert(id));
        let mut used = IdSet::default();
        let mut attributes: Option<Map<String, Value>> = None;
        for col in &self.columns {
            if col.reach.is_some_and(|reach| reach & present.low == 0) {
                continue;
            }
            let Some((id, v)) = col.keys.iter().find_map(|k| {
                if used.contains(k.id) {
                    return None;
                }
                Self::find(fields, &present, k).map(|v| (k.id, v))
            }) else {
                continue;
            };
            used.insert(id);
            if col.index == self.attributes {
                match v {
                    ValRef::Json(Value::Object(m)) => attributes = Some(m.clone()),
                    ValRef::Null => {}
                    ValRef::Str(s) => match serde_json::from_str::<Value>(s) {
                        Ok(Value::Object(m)) => attributes = Some(m),
                        _ => return Err(format!("attributes: expected a JSON object, got {v}")),
                    },
                    other => {
                        return Err(format!("attributes: expected a JSON object, got {other}"));
                    }
                }
                continue;
            }
            cells[col.index] = to_cell(&col.name, &col.data_type, v)?;
        }
        for f in fields {
            if f.id.is_some_and(|id| used.contains(id)) || matches!(f.val, Val::Null) {
                continue;
            }
            attributes
                .get_or_insert_with(Map::new)
                .insert(f.key.to_string(), f.val.to_value());
        }
        if let Some(m) = attributes {
            cells[self.attributes] = CellRef::Str(Cow::Owned(Value::Object(m).to_string()));
        }
        Ok(())
    }

    /// The value of `key` in a record: the field of that name, else the dotted path into the
    /// object named by its first segment.
    fn find<'f>(fields: &'f [Field<'_>], present: &IdSet, key: &Key) -> Option<ValRef<'f>> {
        if present.contains(key.id)
            && let Some(f) = fields.iter().find(|f| f.id == Some(key.id))
        {
            return Some(ValRef::from(&f.val));
        }
        let (head, rest) = key.path.as_ref()?;
        if !present.contains(*head) {
            return None;
        }
        match ValRef::from(&fields.iter().find(|f| f.id == Some(*head))?.val) {
            ValRef::Json(Value::Object(inner)) => lookup(inner, rest).map(ValRef::from),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fields::parse_object;
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

    /// The mapping as it was written over a `serde_json::Value` tree, kept as the oracle for
    /// the borrowed path that replaced it.
    fn fill_over_value(
        kind: SignalKind,
        overrides: &[(String, String)],
        obj: &Map<String, Value>,
    ) -> std::result::Result<Vec<Cell>, String> {
        let schema = kind.schema();
        let mut cells = vec![Cell::Null; schema.fields().len()];
        let mut used: Vec<String> = Vec::new();
        let mut attributes: Option<Map<String, Value>> = None;
        for (index, f) in schema.fields().iter().enumerate() {
            let keys: Vec<String> = overrides
                .iter()
                .filter(|(c, _)| c == f.name())
                .map(|(_, s)| s.clone())
                .chain(aliases(kind, f.name()).iter().map(|s| s.to_string()))
                .collect();
            let Some((key, v)) = keys.iter().find_map(|k| {
                if used.contains(k) {
                    return None;
                }
                lookup(obj, k).map(|v| (k.clone(), v))
            }) else {
                continue;
            };
            used.push(key);
            if f.name() == "attributes" {
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
            cells[index] = json_to_cell(f.name(), f.data_type(), v)?;
        }
        for (k, v) in obj {
            if used.contains(k) || v.is_null() {
                continue;
            }
            attributes
                .get_or_insert_with(Map::new)
                .insert(k.clone(), v.clone());
        }
        if let Some(m) = attributes {
            cells[schema.index_of("attributes").unwrap()] = Cell::Str(Value::Object(m).to_string());
        }
        Ok(cells)
    }

    #[test]
    fn borrowed_fields_map_exactly_as_a_value_tree_did() {
        let lines = [
            r#"{"timestamp":"1717372800.007","service":"cart","pod":"p-1","level":"INFO","message":"hi","trace_id":"t","span_id":"s"}"#,
            r#"{"ts":1,"msg":"a","message":"b","log":"c","x":{"y":[1,2.5,null]},"z":null,"n":1e3}"#,
            r#"{"time":"2024-01-01T00:00:00Z","body":7,"service":{"name":"svc"},"host":true}"#,
            r#"{"time":null,"timestamp":5,"body":"x","attributes":{"a":1,"b":"c"},"a":2}"#,
            r#"{"ts":1,"body":"x","attributes":"{\"k\":\"v\"}","attrs":{"q":1}}"#,
            r#"{"ts":1,"body":"x","attributes":"[1]"}"#,
            r#"{"ts":1,"body":"x","attributes":3}"#,
            r#"{"ts":1,"body":"x","attributes":null,"tags":{"t":1}}"#,
            r#"{"ts":1,"b\u006fdy":"esc","ms\"g":"q","m\u00e9":"é"}"#,
            r#"{"ts":1,"body":"x","ts":2,"body":"y"}"#,
            r#"{"ts":1,"res":{"svc":"cart","other":1},"k8s":{"pod":{"name":"p"}},"body":"x"}"#,
            r#"{"ts":1,"k8s.pod.name":"flat","k8s":{"pod":{"name":"nested"}},"body":"x"}"#,
            r#"{"ts":1,"service.name":"flat","service":"top","body":"x"}"#,
            r#"{"ts":"yesterday","body":"x"}"#,
            r#"{"ts":true,"body":"x"}"#,
            r#"{"ts":1.5e9,"name":"cpu","value":"0.5","val":2,"unit":null}"#,
            r#"{"ts":1,"name":"cpu","value":"high"}"#,
            r#"{"ts":1,"name":"cpu","value":"inf"}"#,
            r#"{"ts":1,"name":"cpu","value":18446744073709551615}"#,
            r#"{"ts":1,"trace_id":"t","span_id":"s","duration_ns":"12","kind":2,"status":{"code":1}}"#,
            r#"{"ts":1,"trace_id":"t","span_id":"s","duration_ns":" ","name":"op","durationNanos":3.5}"#,
            r#"{"ts":1,"trace_id":"t","span_id":"s","duration_ns":"1.5e3"}"#,
            r#"{"ts":1,"trace_id":"t","span_id":"s","duration_ns":[1]}"#,
            r#"{"ts":1,"type":"deploy","kind":"k","message":"m","note":"n"}"#,
            r#"{}"#,
            r#"{"ts":1,"k139":"late","k3":"early","body":"x","k135":null}"#,
            r#"{"ts":1,"k139":"late","k135":"x","body":"x","name":"n","value":1,"trace_id":"t","span_id":"s","kind":"k"}"#,
        ];
        let maps: Vec<Vec<(String, String)>> = vec![
            vec![],
            vec![
                ("host".into(), "pod".into()),
                ("severity".into(), "level".into()),
                ("body".into(), "message".into()),
            ],
            vec![
                ("service".into(), "res.svc".into()),
                ("host".into(), "k8s.pod.name".into()),
                ("body".into(), "msg".into()),
            ],
            vec![
                ("service".into(), "host".into()),
                ("body".into(), "ts".into()),
                ("attributes".into(), "x".into()),
            ],
            vec![
                ("ts".into(), "service.name".into()),
                ("name".into(), "kind".into()),
            ],
            vec![
                ("operation".into(), "message".into()),
                ("status".into(), "status.code".into()),
                ("kind".into(), "level".into()),
            ],
            vec![
                ("kind".into(), "log".into()),
                ("message".into(), "body".into()),
            ],
            // Past the first 128 key ids.
            (0..140)
                .map(|i| ("service".to_string(), format!("k{i}")))
                .collect(),
        ];
        let mut compared = 0;
        for kind in SignalKind::ALL {
            for overrides in &maps {
                // Sets naming a column the table lacks are refused, as `--map` is.
                let Ok(map) = FieldMap::new(kind, overrides) else {
                    continue;
                };
                for line in lines {
                    let obj: Map<String, Value> = serde_json::from_str(line).unwrap();
                    let want = fill_over_value(kind, overrides, &obj);
                    let mut fields = Vec::new();
                    parse_object(&map, line, &mut fields, &mut Default::default()).unwrap();
                    let mut cells = vec![CellRef::Null; kind.schema().fields().len()];
                    let got = map
                        .resolve(&fields, &mut cells)
                        .map(|()| cells.into_iter().map(CellRef::into_owned).collect());
                    assert_eq!(got, want, "{kind} {overrides:?} {line}");
                    let mut row = Row::new(kind);
                    let via_map = map.fill(&obj, &mut row).map(|()| row.cells().to_vec());
                    assert_eq!(via_map, want, "fill: {kind} {overrides:?} {line}");
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 14 * lines.len(), "override sets valid per table");
    }
}
