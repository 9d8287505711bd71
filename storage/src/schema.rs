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

/// `schema` with its `Utf8` columns as `Utf8View`.
fn views(schema: &Schema) -> SchemaRef {
    let fields = schema.fields().iter().map(|f| match f.data_type() {
        DataType::Utf8 => Arc::new(f.as_ref().clone().with_data_type(DataType::Utf8View)),
        _ => Arc::clone(f),
    });
    Arc::new(Schema::new(fields.collect::<Vec<_>>()))
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

    /// The schema the SQL table reads the files with: [`Self::schema`] with every text column as
    /// `Utf8View`. The files hold plain `Utf8` (what every writer produces); reading them as views
    /// skips copying each dictionary-encoded value (`service`, `severity`, `host`, …) into one
    /// buffer per batch, and grouping and joining compare the inlined short strings directly.
    pub fn read_schema(self) -> SchemaRef {
        static READ: LazyLock<[SchemaRef; 4]> =
            LazyLock::new(|| SignalKind::ALL.map(|k| views(&k.schema())));
        Arc::clone(&READ[self as usize])
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

    #[test]
    fn tables_read_text_as_views() {
        for kind in SignalKind::ALL {
            let (file, read) = (kind.schema(), kind.read_schema());
            assert_eq!(file.fields().len(), read.fields().len(), "{kind}");
            for (f, r) in file.fields().iter().zip(read.fields()) {
                assert_eq!((f.name(), f.is_nullable()), (r.name(), r.is_nullable()));
                let want = match f.data_type() {
                    DataType::Utf8 => &DataType::Utf8View,
                    other => other,
                };
                assert_eq!(r.data_type(), want, "{kind}.{}", f.name());
            }
        }
    }
}
