//! OTLP/JSON as the OpenTelemetry collector's file exporter writes it: one
//! `Export{Logs,Trace,Metrics}ServiceRequest` per line. `docs/ingest-otlp.md` has the mapping.
//!
//! A line is parsed straight into typed structs. When that fails on a value rather than on the
//! JSON syntax, the line is parsed again with each record kept as a JSON value and decoded on its
//! own, so a bad record is rejected alone (named by its path in the request) and its siblings
//! survive. Only lines holding a bad record pay for the second parse.
//!
//! | module | what it does |
//! |---|---|
//! | this file | the wire types (numbers as strings, enums as numbers or names) and [`read`] |
//! | `records` | where a record sits, what its resource and scope give it; logs and spans |
//! | `metrics` | gauges and sums; histograms and summaries as Prometheus-style series |
//! | `json` | AnyValues and attributes rendered as JSON text |

use std::fmt;
use std::io::Read;

use datafusion::common::Result;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Unexpected, Visitor};
use serde_json::Value;

use super::jsonl::par_for_each_line;
use super::out::RowOut;
use crate::rows::{BatchBuilder, Row};
use crate::schema::SignalKind;
use records::{Line, Rows};

mod json;
mod metrics;
mod records;

type StdResult<T, E> = std::result::Result<T, E>;

// ---------------------------------------------------------------------------------------------
// Numbers and enums as proto3 JSON writes them

/// A JSON number, or a string holding one: proto3 JSON writes 64-bit integers as decimal strings
/// and non-finite doubles as `"NaN"`, `"Infinity"`, `"-Infinity"`.
enum Num {
    U(u64),
    I(i64),
    F(f64),
}

struct NumVisitor(&'static str);

impl Visitor<'_> for NumVisitor {
    type Value = Num;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_u64<E>(self, v: u64) -> StdResult<Num, E> {
        Ok(Num::U(v))
    }
    fn visit_i64<E>(self, v: i64) -> StdResult<Num, E> {
        Ok(Num::I(v))
    }
    fn visit_f64<E>(self, v: f64) -> StdResult<Num, E> {
        Ok(Num::F(v))
    }
    fn visit_unit<E>(self) -> StdResult<Num, E> {
        Ok(Num::U(0))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> StdResult<Num, E> {
        let t = s.trim();
        if let Ok(v) = t.parse::<u64>() {
            Ok(Num::U(v))
        } else if let Ok(v) = t.parse::<i64>() {
            Ok(Num::I(v))
        } else {
            t.parse::<f64>()
                .map(Num::F)
                .map_err(|_| E::invalid_value(Unexpected::Str(s), &self.0))
        }
    }
}

fn unsigned<'de, D: Deserializer<'de>>(d: D, what: &'static str) -> StdResult<u64, D::Error> {
    match d.deserialize_any(NumVisitor(what))? {
        Num::U(v) => Ok(v),
        Num::I(v) => Err(de::Error::invalid_value(Unexpected::Signed(v), &what)),
        Num::F(v) if v >= 0.0 && v.fract() == 0.0 && v < u64::MAX as f64 => Ok(v as u64),
        Num::F(v) => Err(de::Error::invalid_value(Unexpected::Float(v), &what)),
    }
}

/// `fixed64`/`uint64` counts.
#[derive(Debug, Default, Clone, Copy)]
struct U64(u64);

impl<'de> Deserialize<'de> for U64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> StdResult<Self, D::Error> {
        unsigned(d, "an unsigned integer (a number or a decimal string)").map(U64)
    }
}

/// `fixed64` nanoseconds since the epoch; 0 means absent.
#[derive(Debug, Default, Clone, Copy)]
struct Nanos(u64);

impl<'de> Deserialize<'de> for Nanos {
    fn deserialize<D: Deserializer<'de>>(d: D) -> StdResult<Self, D::Error> {
        unsigned(
            d,
            "nanoseconds since the epoch (a number or a decimal string)",
        )
        .map(Nanos)
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct I64(i64);

impl<'de> Deserialize<'de> for I64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> StdResult<Self, D::Error> {
        const WHAT: &str = "an integer (a number or a decimal string)";
        match d.deserialize_any(NumVisitor(WHAT))? {
            Num::I(v) => Ok(I64(v)),
            Num::U(v) => i64::try_from(v)
                .map(I64)
                .map_err(|_| de::Error::invalid_value(Unexpected::Unsigned(v), &WHAT)),
            Num::F(v) if v.fract() == 0.0 && v.abs() < i64::MAX as f64 => Ok(I64(v as i64)),
            Num::F(v) => Err(de::Error::invalid_value(Unexpected::Float(v), &WHAT)),
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct F64(f64);

impl<'de> Deserialize<'de> for F64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> StdResult<Self, D::Error> {
        Ok(F64(match d.deserialize_any(NumVisitor("a number"))? {
            Num::U(v) => v as f64,
            Num::I(v) => v as f64,
            Num::F(v) => v,
        }))
    }
}

/// A proto enum: the integer OTLP/JSON requires, or the value name some producers write.
#[derive(Debug, Clone, PartialEq)]
enum Enum {
    Code(i64),
    Name(String),
}

impl Default for Enum {
    fn default() -> Self {
        Enum::Code(0)
    }
}

struct EnumVisitor;

impl Visitor<'_> for EnumVisitor {
    type Value = Enum;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an enum number or name")
    }
    fn visit_u64<E>(self, v: u64) -> StdResult<Enum, E> {
        Ok(Enum::Code(i64::try_from(v).unwrap_or(i64::MAX)))
    }
    fn visit_i64<E>(self, v: i64) -> StdResult<Enum, E> {
        Ok(Enum::Code(v))
    }
    fn visit_unit<E>(self) -> StdResult<Enum, E> {
        Ok(Enum::Code(0))
    }
    fn visit_str<E>(self, s: &str) -> StdResult<Enum, E> {
        Ok(s.trim()
            .parse()
            .map_or_else(|_| Enum::Name(s.to_string()), Enum::Code))
    }
}

impl<'de> Deserialize<'de> for Enum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> StdResult<Self, D::Error> {
        d.deserialize_any(EnumVisitor)
    }
}

impl Enum {
    /// The position of the value in `names` (the proto's value names without `prefix`).
    fn index(&self, prefix: &str, names: &[&str]) -> Option<usize> {
        match self {
            Enum::Code(c) => usize::try_from(*c).ok().filter(|&c| c < names.len()),
            Enum::Name(n) => {
                let up = n.trim().to_ascii_uppercase();
                let short = up.strip_prefix(prefix).unwrap_or(&up);
                names.iter().position(|x| *x == short)
            }
        }
    }
}

const SPAN_KINDS: [&str; 6] = [
    "UNSPECIFIED",
    "INTERNAL",
    "SERVER",
    "CLIENT",
    "PRODUCER",
    "CONSUMER",
];
const STATUS_CODES: [&str; 3] = ["UNSET", "OK", "ERROR"];
const TEMPORALITIES: [&str; 3] = ["UNSPECIFIED", "DELTA", "CUMULATIVE"];
const SEVERITIES: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

/// TRACE…FATAL from a `SeverityNumber` (1–4 TRACE, 5–8 DEBUG, … 21–24 FATAL), or its name
/// (`SEVERITY_NUMBER_WARN2`).
fn severity_of(n: &Enum) -> Option<&'static str> {
    match n {
        Enum::Code(c @ 1..=24) => SEVERITIES.get(((c - 1) / 4) as usize).copied(),
        Enum::Code(_) => None,
        Enum::Name(s) => {
            let up = s.trim().to_ascii_uppercase();
            let base = up
                .strip_prefix("SEVERITY_NUMBER_")
                .unwrap_or(&up)
                .trim_end_matches(|c: char| c.is_ascii_digit());
            SEVERITIES.iter().find(|x| **x == base).copied()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Wire types (opentelemetry/proto/{common,resource,logs,trace,metrics}/v1)

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct AnyValue {
    string_value: Option<String>,
    bool_value: Option<bool>,
    int_value: Option<I64>,
    double_value: Option<F64>,
    array_value: Option<Values<AnyValue>>,
    kvlist_value: Option<Values<KeyValue>>,
    bytes_value: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Values<T> {
    #[serde(default = "Vec::new")]
    values: Vec<T>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct KeyValue {
    key: String,
    value: AnyValue,
}

/// A resource or an instrumentation scope (a resource has attributes only).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Scope {
    name: String,
    version: String,
    attributes: Vec<KeyValue>,
}

/// One line: exactly one of the three is set in a valid export request.
#[derive(Debug, Deserialize)]
struct Request<L, S, M> {
    #[serde(rename = "resourceLogs")]
    logs: Option<Vec<Resourced<L>>>,
    #[serde(rename = "resourceSpans")]
    spans: Option<Vec<Resourced<S>>>,
    #[serde(rename = "resourceMetrics")]
    metrics: Option<Vec<Resourced<M>>>,
}

#[derive(Debug, Deserialize)]
struct Resourced<R> {
    #[serde(default)]
    resource: Scope,
    #[serde(
        rename = "scopeLogs",
        alias = "scopeSpans",
        alias = "scopeMetrics",
        default = "Vec::new"
    )]
    scopes: Vec<Scoped<R>>,
}

#[derive(Debug, Deserialize)]
struct Scoped<R> {
    #[serde(default)]
    scope: Scope,
    #[serde(
        rename = "logRecords",
        alias = "spans",
        alias = "metrics",
        default = "Vec::new"
    )]
    records: Vec<R>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct LogRecord {
    time_unix_nano: Nanos,
    observed_time_unix_nano: Nanos,
    severity_number: Enum,
    severity_text: String,
    body: AnyValue,
    attributes: Vec<KeyValue>,
    trace_id: String,
    span_id: String,
    event_name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Span {
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    name: String,
    kind: Enum,
    start_time_unix_nano: Nanos,
    end_time_unix_nano: Nanos,
    attributes: Vec<KeyValue>,
    events: Vec<SpanEvent>,
    links: Vec<SpanLink>,
    status: Status,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SpanEvent {
    time_unix_nano: Nanos,
    name: String,
    attributes: Vec<KeyValue>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SpanLink {
    trace_id: String,
    span_id: String,
    attributes: Vec<KeyValue>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Status {
    message: String,
    code: Enum,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Metric<N, H, E, S> {
    #[serde(default)]
    name: String,
    #[serde(default)]
    unit: String,
    gauge: Option<Points<N>>,
    sum: Option<Points<N>>,
    histogram: Option<Points<H>>,
    exponential_histogram: Option<Points<E>>,
    summary: Option<Points<S>>,
}

/// The data of a metric: every kind has data points; sums and histograms add temporality.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Points<P> {
    #[serde(default = "Vec::new")]
    data_points: Vec<P>,
    #[serde(default)]
    aggregation_temporality: Enum,
    #[serde(default)]
    is_monotonic: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct NumberPoint {
    attributes: Vec<KeyValue>,
    time_unix_nano: Nanos,
    as_double: Option<F64>,
    as_int: Option<I64>,
    flags: U64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct HistogramPoint {
    attributes: Vec<KeyValue>,
    time_unix_nano: Nanos,
    count: U64,
    sum: Option<F64>,
    bucket_counts: Vec<U64>,
    explicit_bounds: Vec<F64>,
    min: Option<F64>,
    max: Option<F64>,
    flags: U64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ExpHistogramPoint {
    attributes: Vec<KeyValue>,
    time_unix_nano: Nanos,
    count: U64,
    sum: Option<F64>,
    scale: I64,
    zero_count: U64,
    zero_threshold: F64,
    positive: ExpBuckets,
    negative: ExpBuckets,
    min: Option<F64>,
    max: Option<F64>,
    flags: U64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ExpBuckets {
    offset: I64,
    bucket_counts: Vec<U64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SummaryPoint {
    attributes: Vec<KeyValue>,
    time_unix_nano: Nanos,
    count: U64,
    sum: F64,
    quantile_values: Vec<Quantile>,
    flags: U64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Quantile {
    quantile: F64,
    value: F64,
}

/// `DataPointFlags.FLAG_NO_RECORDED_VALUE`: a staleness marker, not a measurement.
const NO_RECORDED_VALUE: u64 = 1;

// ---------------------------------------------------------------------------------------------
// Records: typed on the fast path, JSON values decoded one by one on the slow path

/// Why a record was refused, and its JSON text.
type Refused = (String, String);

trait Decode<T> {
    fn decode(self) -> StdResult<T, Refused>;
}

/// A record kept as JSON, decoded on its own so that its errors stay its own.
#[derive(Deserialize)]
#[serde(transparent)]
struct Raw(Value);

impl<T: DeserializeOwned> Decode<T> for Raw {
    fn decode(self) -> StdResult<T, Refused> {
        T::deserialize(&self.0).map_err(|e| (e.to_string(), self.0.to_string()))
    }
}

macro_rules! typed {
    ($($t:ty),*) => {$(
        impl Decode<$t> for $t {
            fn decode(self) -> StdResult<$t, Refused> {
                Ok(self)
            }
        }
    )*};
}
typed!(
    LogRecord,
    Span,
    NumberPoint,
    HistogramPoint,
    ExpHistogramPoint,
    SummaryPoint
);

impl<N, H, E, S> Decode<Metric<N, H, E, S>> for Metric<N, H, E, S> {
    fn decode(self) -> StdResult<Self, Refused> {
        Ok(self)
    }
}

type Fast =
    Request<LogRecord, Span, Metric<NumberPoint, HistogramPoint, ExpHistogramPoint, SummaryPoint>>;
type Slow = Request<Raw, Raw, Raw>;

fn not_json(e: &serde_json::Error) -> bool {
    e.is_syntax() || e.is_eof()
}

/// Reads OTLP/JSON lines; each line's records go to their own table (only `table`'s when given).
pub(crate) fn read(
    reader: impl Read + Send,
    table: Option<SignalKind>,
    out: &mut RowOut,
) -> Result<()> {
    let checks: Vec<BatchBuilder> = [SignalKind::Logs, SignalKind::Spans, SignalKind::Metrics]
        .into_iter()
        .map(BatchBuilder::new)
        .collect();
    let new_rows = || Rows {
        logs: Row::new(SignalKind::Logs),
        spans: Row::new(SignalKind::Spans),
        metrics: Row::new(SignalKind::Metrics),
    };
    par_for_each_line(reader, out, new_rows, |rows, out, no, text| {
        let mut line = Line {
            out,
            no,
            text,
            table,
            checks: &checks,
        };
        match serde_json::from_str::<Fast>(text) {
            Ok(req) => line.request(req, rows),
            Err(e) if not_json(&e) => line.reject_line(format!("invalid JSON: {e}")),
            // A value did not fit: find the records it belongs to.
            Err(_) => match serde_json::from_str::<Slow>(text) {
                Ok(req) => line.request::<Raw, Raw, Raw, Raw, Raw, Raw, Raw>(req, rows),
                Err(e) if not_json(&e) => line.reject_line(format!("invalid JSON: {e}")),
                Err(e) => line.reject_line(format!("not a valid OTLP export request: {e}")),
            },
        }
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;

    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type, TimestampNanosecondType};
    use datafusion::common::Result;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use futures::TryStreamExt;
    use object_store::ObjectStoreExt;
    use serde_json::{Map, Value, json};

    use crate::ingest::{Format, IngestOptions, SourceReport, ingest};
    use crate::lake::Lake;
    use crate::schema::SignalKind;

    const T0: i64 = 1_700_000_000_000_000_000;

    fn kv(key: &str, value: Value) -> Value {
        json!({"key": key, "value": value})
    }

    fn s(v: &str) -> Value {
        json!({ "stringValue": v })
    }

    fn resource() -> Value {
        json!({"attributes": [
            kv("service.name", s("cart")),
            kv("k8s.pod.name", s("cart-7d9f")),
            kv("region", s("eu-west-1")),
        ]})
    }

    fn scope() -> Value {
        json!({"name": "io.opentelemetry.app", "version": "1.2.0"})
    }

    fn logs(records: Value) -> String {
        json!({"resourceLogs": [{"resource": resource(),
            "scopeLogs": [{"scope": scope(), "logRecords": records}]}]})
        .to_string()
    }

    fn spans(resource: Value, spans: Value) -> String {
        json!({"resourceSpans": [{"resource": resource,
            "scopeSpans": [{"scope": scope(), "spans": spans}]}]})
        .to_string()
    }

    fn metrics(metrics: Value) -> String {
        json!({"resourceMetrics": [{"resource": resource(),
            "scopeMetrics": [{"scope": scope(), "metrics": metrics}]}]})
        .to_string()
    }

    async fn run(lines: &[String], table: Option<SignalKind>) -> Result<(Lake, SourceReport)> {
        let mut file = tempfile::NamedTempFile::new()?;
        for line in lines {
            writeln!(file, "{line}")?;
        }
        file.flush()?;
        let lake = Lake::open("memory://t")?;
        let options = IngestOptions::new(Format::OtlpJson, table);
        let location = file.path().display().to_string();
        let report = ingest(&lake, &options, &location, Arc::new(|_| {})).await?;
        Ok((lake, report))
    }

    fn cell(col: &dyn Array, i: usize) -> Value {
        if col.is_null(i) {
            return Value::Null;
        }
        match col.data_type() {
            DataType::Timestamp(_, _) => {
                json!(col.as_primitive::<TimestampNanosecondType>().value(i))
            }
            DataType::Int64 => json!(col.as_primitive::<Int64Type>().value(i)),
            DataType::Float64 => json!(col.as_primitive::<Float64Type>().value(i)),
            DataType::Utf8View => json!(col.as_string_view().value(i)),
            _ => json!(col.as_string::<i32>().value(i)),
        }
    }

    /// Every row of a table as a JSON object (attributes parsed), sorted by ts, name, attributes.
    async fn table(lake: &Lake, kind: SignalKind) -> Result<Vec<Map<String, Value>>> {
        let prefix = lake.path(kind.table_name());
        let files: Vec<_> = lake.store().list(Some(&prefix)).try_collect().await?;
        let mut rows = Vec::new();
        for f in files {
            let bytes = lake.store().get(&f.location).await?.bytes().await?;
            for batch in ParquetRecordBatchReaderBuilder::try_new(bytes)?.build()? {
                let batch = batch?;
                for i in 0..batch.num_rows() {
                    let mut row = Map::new();
                    for (field, col) in batch.schema().fields().iter().zip(batch.columns()) {
                        let mut v = cell(col, i);
                        if field.name() == "attributes"
                            && let Value::String(text) = &v
                        {
                            v = serde_json::from_str(text).expect("attributes are JSON");
                        }
                        row.insert(field.name().clone(), v);
                    }
                    rows.push(row);
                }
            }
        }
        rows.sort_by_key(|r| {
            (
                r["ts"].as_i64(),
                r.get("name").map(Value::to_string),
                r["attributes"].to_string(),
            )
        });
        Ok(rows)
    }

    async fn rejects(lake: &Lake, report: &SourceReport) -> Result<Vec<Value>> {
        let Some(rel) = &report.rejects_file else {
            return Ok(Vec::new());
        };
        let bytes = lake.store().get(&lake.path(rel)).await?.bytes().await?;
        Ok(bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).expect("rejects are JSON lines"))
            .collect())
    }

    #[tokio::test]
    async fn logs_take_severity_from_the_number_and_service_host_from_the_resource() -> Result<()> {
        let line = logs(json!([
            {"timeUnixNano": T0.to_string(), "severityNumber": 9, "body": s("user logged in"),
             "traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "eee19b7ec3c1b174",
             "attributes": [kv("region", s("us-east-1")), kv("user.id", json!({"intValue": "7"}))]},
            {"observedTimeUnixNano": T0 + 1, "severityNumber": "SEVERITY_NUMBER_ERROR2",
             "body": {"kvlistValue": {"values": [kv("a", json!({"intValue": 5})),
                 kv("b", json!({"arrayValue": {"values": [{"boolValue": true}, {"doubleValue": 1.5}]}}))]}},
             "traceId": "", "spanId": ""},
            {"timeUnixNano": (T0 + 2).to_string(), "severityText": "Warning", "severityNumber": 13,
             "body": s("disk")},
            {"timeUnixNano": (T0 + 3).to_string(), "severityNumber": 21, "eventName": "user.login"},
        ]));
        let (lake, report) = run(&[line], None).await?;
        assert_eq!(report.rejected, 0, "{report:?}");
        let rows = table(&lake, SignalKind::Logs).await?;
        assert_eq!(rows.len(), 4);
        let col = |c: &str| rows.iter().map(|r| r[c].clone()).collect::<Vec<_>>();
        assert_eq!(
            col("ts"),
            [json!(T0), json!(T0 + 1), json!(T0 + 2), json!(T0 + 3)]
        );
        assert_eq!(
            col("severity"),
            [
                json!("INFO"),
                json!("ERROR"),
                json!("Warning"),
                json!("FATAL")
            ]
        );
        assert_eq!(
            col("body"),
            [
                json!("user logged in"),
                json!(r#"{"a":5,"b":[true,1.5]}"#),
                json!("disk"),
                json!("user.login")
            ]
        );
        assert_eq!(
            col("trace_id")[..2],
            [json!("5b8efff798038103d269b633813fc60c"), Value::Null]
        );
        assert_eq!(col("span_id")[1], Value::Null);
        assert!(
            rows.iter()
                .all(|r| r["service"] == "cart" && r["host"] == "cart-7d9f")
        );
        assert_eq!(
            rows[0]["attributes"],
            json!({"region": "us-east-1", "user.id": 7,
                   "otel.scope.name": "io.opentelemetry.app", "otel.scope.version": "1.2.0"})
        );
        assert_eq!(rows[3]["attributes"]["event.name"], "user.login");
        assert_eq!(rows[1]["attributes"]["region"], "eu-west-1");
        Ok(())
    }

    #[tokio::test]
    async fn spans_accept_integer_and_string_enums() -> Result<()> {
        let res = json!({"attributes": [kv("service.name", s("api")), kv("host.name", s("node-7")),
            kv("k8s.pod.name", s("api-1"))]});
        let line = spans(
            res,
            json!([
                {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "aaaaaaaaaaaaaaaa", "parentSpanId": "",
                 "name": "GET /cart", "kind": 2, "startTimeUnixNano": T0.to_string(),
                 "endTimeUnixNano": (T0 + 1500).to_string(), "status": {"code": 2, "message": "boom"},
                 "attributes": [kv("http.method", s("GET"))],
                 "events": [{"timeUnixNano": (T0 + 10).to_string(), "name": "exception",
                             "attributes": [kv("exception.type", s("IOError"))]}]},
                {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "bbbbbbbbbbbbbbbb",
                 "parentSpanId": "aaaaaaaaaaaaaaaa", "name": "SELECT", "kind": "SPAN_KIND_CLIENT",
                 "startTimeUnixNano": (T0 + 1).to_string(), "endTimeUnixNano": (T0 + 2).to_string(),
                 "status": {"code": "STATUS_CODE_OK"}},
                {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "cccccccccccccccc",
                 "name": "work", "kind": 0, "startTimeUnixNano": (T0 + 2).to_string()},
            ]),
        );
        let (lake, report) = run(&[line], None).await?;
        assert_eq!(report.rejected, 0, "{report:?}");
        let rows = table(&lake, SignalKind::Spans).await?;
        let col = |c: &str| rows.iter().map(|r| r[c].clone()).collect::<Vec<_>>();
        assert_eq!(col("kind"), [json!("SERVER"), json!("CLIENT"), Value::Null]);
        assert_eq!(col("status"), [json!("ERROR"), json!("OK"), json!("UNSET")]);
        assert_eq!(col("duration_ns"), [json!(1500), json!(1), Value::Null]);
        assert_eq!(
            col("parent_span_id"),
            [Value::Null, json!("aaaaaaaaaaaaaaaa"), Value::Null]
        );
        assert_eq!(
            col("operation"),
            [json!("GET /cart"), json!("SELECT"), json!("work")]
        );
        assert!(
            rows.iter()
                .all(|r| r["service"] == "api" && r["host"] == "node-7")
        );
        let attrs = &rows[0]["attributes"];
        assert_eq!(attrs["otel.status_description"], "boom");
        assert_eq!(attrs["k8s.pod.name"], "api-1");
        assert_eq!(attrs["http.method"], "GET");
        assert_eq!(
            attrs["otel.events"],
            json!([{"name": "exception", "ts": T0 + 10, "attributes": {"exception.type": "IOError"}}])
        );
        Ok(())
    }

    #[tokio::test]
    async fn gauge_and_sum_points_become_one_row_each() -> Result<()> {
        let line = metrics(json!([
            {"name": "cpu.utilization", "unit": "1", "gauge": {"dataPoints": [
                {"timeUnixNano": T0.to_string(), "asDouble": 0.5, "attributes": [kv("cpu", s("0"))]},
                {"timeUnixNano": T0.to_string(), "flags": 1},
            ]}},
            {"name": "http.requests", "unit": "{request}", "sum": {"aggregationTemporality": 2,
                "isMonotonic": true, "dataPoints": [{"timeUnixNano": (T0 + 1).to_string(), "asInt": "42"}]}},
        ]));
        let (lake, report) = run(&[line], None).await?;
        assert_eq!(report.rejected, 0, "{report:?}");
        let rows = table(&lake, SignalKind::Metrics).await?;
        assert_eq!(rows.len(), 2, "the no-recorded-value point is skipped");
        assert_eq!(
            (&rows[0]["name"], &rows[0]["value"], &rows[0]["unit"]),
            (&json!("cpu.utilization"), &json!(0.5), &json!("1"))
        );
        assert_eq!(rows[0]["attributes"]["cpu"], "0");
        assert_eq!(rows[0]["attributes"]["region"], "eu-west-1");
        assert_eq!(
            (&rows[1]["name"], &rows[1]["value"]),
            (&json!("http.requests"), &json!(42.0))
        );
        assert_eq!(rows[1]["attributes"]["otel.temporality"], "CUMULATIVE");
        assert_eq!(rows[1]["attributes"]["otel.monotonic"], true);
        assert_eq!(rows[1]["service"], "cart");
        Ok(())
    }

    /// `(name, le or quantile, value)` of every row.
    fn series(rows: &[Map<String, Value>]) -> Vec<(String, String, f64)> {
        let mut out: Vec<_> = rows
            .iter()
            .map(|r| {
                let a = &r["attributes"];
                let label = a
                    .get("le")
                    .or_else(|| a.get("quantile"))
                    .and_then(Value::as_str);
                (
                    r["name"].as_str().unwrap_or_default().to_string(),
                    label.unwrap_or_default().to_string(),
                    r["value"].as_f64().unwrap_or(f64::NAN),
                )
            })
            .collect();
        out.sort_by(|a, b| {
            let key =
                |r: &(String, String, f64)| (r.0.clone(), r.2, r.1.parse::<f64>().unwrap_or(0.0));
            key(a).partial_cmp(&key(b)).expect("no NaN")
        });
        out
    }

    fn row(name: &str, label: &str, value: f64) -> (String, String, f64) {
        (name.to_string(), label.to_string(), value)
    }

    #[tokio::test]
    async fn histograms_become_prometheus_count_sum_and_cumulative_buckets() -> Result<()> {
        let line = metrics(json!([
            {"name": "latency", "unit": "s", "histogram": {"aggregationTemporality": 1, "dataPoints": [
                {"timeUnixNano": T0.to_string(), "count": "6", "sum": 3.2, "min": 0.01, "max": 2.5,
                 "explicitBounds": [0.1, 0.5, 1], "bucketCounts": ["2", "3", "0", "1"]}]}},
            {"name": "size", "exponentialHistogram": {"aggregationTemporality": "AGGREGATION_TEMPORALITY_DELTA",
                "dataPoints": [{"timeUnixNano": T0.to_string(), "count": "5", "sum": 4, "scale": 0,
                 "zeroCount": "1", "positive": {"offset": 0, "bucketCounts": ["1", "2"]},
                 "negative": {"offset": 1, "bucketCounts": ["1"]}}]}},
        ]));
        let (lake, report) = run(&[line], None).await?;
        assert_eq!(report.rejected, 0, "{report:?}");
        let rows = table(&lake, SignalKind::Metrics).await?;
        assert_eq!(
            series(&rows),
            [
                row("latency_bucket", "0.1", 2.0),
                row("latency_bucket", "0.5", 5.0),
                row("latency_bucket", "1", 5.0),
                row("latency_bucket", "+Inf", 6.0),
                row("latency_count", "", 6.0),
                row("latency_max", "", 2.5),
                row("latency_min", "", 0.01),
                row("latency_sum", "", 3.2),
                row("size_bucket", "-2", 1.0),
                row("size_bucket", "0", 2.0),
                row("size_bucket", "2", 3.0),
                row("size_bucket", "4", 5.0),
                row("size_bucket", "+Inf", 5.0),
                row("size_count", "", 5.0),
                row("size_sum", "", 4.0),
            ]
        );
        assert!(
            rows.iter()
                .all(|r| r["attributes"]["otel.temporality"] == "DELTA")
        );
        assert!(
            rows.iter()
                .filter(|r| r["name"].as_str().is_some_and(|n| n.starts_with("latency")))
                .all(|r| r["unit"] == "s")
        );
        Ok(())
    }

    #[tokio::test]
    async fn summaries_become_count_sum_and_one_row_per_quantile() -> Result<()> {
        let line = metrics(json!([{"name": "rpc.duration", "summary": {"dataPoints": [
            {"timeUnixNano": T0.to_string(), "count": "10", "sum": 20.5,
             "quantileValues": [{"quantile": 0.5, "value": 1.5}, {"quantile": 0.99, "value": 4}]}]}}]));
        let (lake, _) = run(&[line], None).await?;
        let rows = table(&lake, SignalKind::Metrics).await?;
        assert_eq!(
            series(&rows),
            [
                row("rpc.duration", "0.5", 1.5),
                row("rpc.duration", "0.99", 4.0),
                row("rpc.duration_count", "", 10.0),
                row("rpc.duration_sum", "", 20.5),
            ]
        );
        Ok(())
    }

    #[tokio::test]
    async fn bad_lines_and_records_are_rejected_alone() -> Result<()> {
        let good = |i: i64| json!({"timeUnixNano": (T0 + i).to_string(), "body": s("ok")});
        let full = logs(json!([good(0), {"timeUnixNano": "yesterday", "body": s("bad")}, good(2)]));
        let truncated = full[..full.len() / 2].to_string();
        let lines = [
            full,
            truncated,
            r#"{"hello": 1}"#.to_string(),
            spans(
                resource(),
                json!([
                    {"spanId": "aaaaaaaaaaaaaaaa", "startTimeUnixNano": T0.to_string()},
                    {"traceId": "01", "spanId": "bbbbbbbbbbbbbbbb", "startTimeUnixNano": T0.to_string()},
                ]),
            ),
            metrics(json!([
                {"name": "h", "histogram": {"dataPoints": [{"timeUnixNano": T0.to_string(),
                    "count": "1", "explicitBounds": [1, 2], "bucketCounts": ["1"]}]}},
                {"name": "g", "gauge": {"dataPoints": [{"timeUnixNano": T0.to_string(), "asInt": 3}]}},
            ])),
        ];
        let (lake, report) = run(&lines, None).await?;
        assert_eq!(table(&lake, SignalKind::Logs).await?.len(), 2);
        assert_eq!(table(&lake, SignalKind::Spans).await?.len(), 1);
        let m = table(&lake, SignalKind::Metrics).await?;
        assert_eq!((m.len(), &m[0]["name"]), (1, &json!("g")));
        let rejects = rejects(&lake, &report).await?;
        assert_eq!(report.rejected, 5, "{rejects:?}");
        let reason = |line: u64| {
            rejects
                .iter()
                .find(|r| r["line"] == line)
                .and_then(|r| r["reason"].as_str())
                .unwrap_or_default()
                .to_string()
        };
        let r = reason(1);
        assert!(
            r.starts_with("resourceLogs[0].scopeLogs[0].logRecords[1]: ")
                && r.contains("yesterday"),
            "{r}"
        );
        assert!(reason(2).starts_with("invalid JSON"), "{}", reason(2));
        assert!(
            reason(3).starts_with("not an OTLP export request"),
            "{}",
            reason(3)
        );
        assert_eq!(
            reason(4),
            "resourceSpans[0].scopeSpans[0].spans[0]: missing required column trace_id"
        );
        let r = reason(5);
        assert!(
            r.starts_with(
                "resourceMetrics[0].scopeMetrics[0].metrics[0].histogram.dataPoints[0]: "
            ) && r.contains("bucketCounts"),
            "{r}"
        );
        let bad = rejects
            .iter()
            .find(|r| r["line"] == 1)
            .map(|r| r["record"].to_string());
        assert!(
            bad.is_some_and(|b| b.contains("yesterday") && !b.contains("resourceLogs")),
            "the record, not the line"
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_given_table_rejects_lines_of_other_signals() -> Result<()> {
        let lines = [
            logs(json!([{"timeUnixNano": T0.to_string(), "body": s("kept")}])),
            spans(
                resource(),
                json!([{"traceId": "01", "spanId": "02", "startTimeUnixNano": T0.to_string()}]),
            ),
        ];
        let (lake, report) = run(&lines, Some(SignalKind::Logs)).await?;
        assert_eq!(table(&lake, SignalKind::Logs).await?.len(), 1);
        assert!(table(&lake, SignalKind::Spans).await?.is_empty());
        assert_eq!(report.rejected, 1);
        assert_eq!(
            report.reject_reasons.keys().collect::<Vec<_>>(),
            ["line is for table spans, ingest is into logs"]
        );
        Ok(())
    }
}
