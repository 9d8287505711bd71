//! Helpers shared by the integration tests.

use std::sync::Arc;

use datafusion::arrow::array::{Array, Int64Array, RecordBatch};
use sigfuse_engine::{Engine, EngineConfig};
use sigfuse_storage::ingest::Progress;
use sigfuse_storage::{BatchBuilder, Cell, Lake, Row, SignalKind, SignalWriter, WriterOptions};

/// 2024-06-03T00:00:00Z in nanoseconds.
pub const T0: i64 = 1_717_372_800_000_000_000;
pub const SEC: i64 = 1_000_000_000;

pub fn no_progress() -> Progress {
    Arc::new(|_| {})
}

pub fn engine(lake: &Lake) -> Engine {
    Engine::over(lake.clone(), &EngineConfig::default()).expect("engine over lake")
}

/// Runs a query and returns the first column of the first row as i64.
pub async fn scalar_i64(engine: &Engine, sql: &str) -> i64 {
    let batches = query(engine, sql).await;
    let col = batches[0].column(0);
    let ints =
        datafusion::arrow::compute::cast(col, &datafusion::arrow::datatypes::DataType::Int64)
            .unwrap();
    let ints = ints.as_any().downcast_ref::<Int64Array>().unwrap();
    assert!(!ints.is_null(0), "{sql} returned NULL");
    ints.value(0)
}

pub async fn query(engine: &Engine, sql: &str) -> Vec<RecordBatch> {
    engine
        .ctx()
        .sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

pub async fn query_text(engine: &Engine, sql: &str) -> String {
    datafusion::arrow::util::pretty::pretty_format_batches(&query(engine, sql).await)
        .unwrap()
        .to_string()
}

/// Writes one log line per `step` seconds for `hours` hours from `T0`, in batches of 3,600 rows
/// (one hour per batch when `step` is 1).
pub async fn write_logs(lake: &Lake, hours: i64, step: i64, options: WriterOptions) -> u64 {
    let mut writer = SignalWriter::new(lake, SignalKind::Logs, "test", options);
    let mut builder = BatchBuilder::new(SignalKind::Logs);
    let mut row = Row::new(SignalKind::Logs);
    let mut t = T0;
    while t < T0 + hours * 3600 * SEC {
        row.set("ts", Cell::Ts(t))
            .set(
                "service",
                if (t / SEC) % 2 == 0 {
                    "cart"
                } else {
                    "checkout"
                },
            )
            .set("severity", "INFO")
            .set("body", format!("request {} served", t / SEC));
        builder.append(&row).unwrap();
        if builder.len() == 3_600 {
            writer
                .write(builder.flush().unwrap().unwrap())
                .await
                .unwrap();
        }
        t += step * SEC;
    }
    if let Some(b) = builder.flush().unwrap() {
        writer.write(b).await.unwrap();
    }
    writer.finish().await.unwrap().rows
}
