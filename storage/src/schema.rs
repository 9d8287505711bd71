//! The four canonical signal schemas (DESIGN.md, "The four signal tables").
//!
//! Every adapter normalises into these. Only `ts` is non-nullable: a row without a time cannot be
//! placed in the lake layout, so adapters reject it; every other column may be NULL when the
//! source does not carry it. `attributes` is a JSON object serialised as text.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// One of the four signal tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignalKind {
    Logs,
    Spans,
    Metrics,
    Events,
}

/// The type of `ts`: nanoseconds, UTC.
pub fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn ts_field() -> Field {
    Field::new("ts", ts_type(), false)
}

static LOGS: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        ts_field(),
        utf8("service"),
        utf8("host"),
        utf8("severity"),
        utf8("body"),
        utf8("trace_id"),
        utf8("span_id"),
        utf8("attributes"),
    ]))
});

static SPANS: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        ts_field(),
        Field::new("duration_ns", DataType::Int64, true),
        utf8("trace_id"),
        utf8("span_id"),
        utf8("parent_span_id"),
        utf8("service"),
        utf8("operation"),
        utf8("kind"),
        utf8("status"),
        utf8("host"),
        utf8("attributes"),
    ]))
});

static METRICS: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        ts_field(),
        utf8("service"),
        utf8("host"),
        utf8("name"),
        Field::new("value", DataType::Float64, true),
        utf8("unit"),
        utf8("attributes"),
    ]))
});

static EVENTS: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        ts_field(),
        utf8("service"),
        utf8("host"),
        utf8("kind"),
        utf8("severity"),
        utf8("message"),
        utf8("attributes"),
    ]))
});

impl SignalKind {
    pub const ALL: [SignalKind; 4] = [Self::Logs, Self::Spans, Self::Metrics, Self::Events];

    /// The SQL table name, which is also the folder name under the lake root.
    pub fn table_name(self) -> &'static str {
        match self {
            Self::Logs => "logs",
            Self::Spans => "spans",
            Self::Metrics => "metrics",
            Self::Events => "events",
        }
    }

    pub fn schema(self) -> SchemaRef {
        match self {
            Self::Logs => Arc::clone(&LOGS),
            Self::Spans => Arc::clone(&SPANS),
            Self::Metrics => Arc::clone(&METRICS),
            Self::Events => Arc::clone(&EVENTS),
        }
    }

    /// Columns a row must have besides `ts`; a source row without them is rejected, because a
    /// log without a body or a metric without a name or value carries nothing to analyse.
    pub fn required_columns(self) -> &'static [&'static str] {
        match self {
            Self::Logs => &["body"],
            Self::Spans => &["trace_id", "span_id"],
            Self::Metrics => &["name", "value"],
            Self::Events => &["kind"],
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.table_name().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for SignalKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.table_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_starts_with_a_non_null_utc_ts() {
        for kind in SignalKind::ALL {
            let schema = kind.schema();
            let ts = schema.field(0);
            assert_eq!(ts.name(), "ts");
            assert_eq!(ts.data_type(), &ts_type());
            assert!(!ts.is_nullable());
            for req in kind.required_columns() {
                assert!(schema.index_of(req).is_ok(), "{kind}: {req}");
            }
            assert_eq!(SignalKind::parse(kind.table_name()), Some(kind));
        }
        assert_eq!(SignalKind::parse("nope"), None);
    }
}
