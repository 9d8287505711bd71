//! `CREATE MODEL … KIND baseline [OPTIONS (window = '1 minute', anomalous = 0.99, call_graph =
//! 'deps')] AS <query returning signal_windows rows over a normal period>`: fits
//! `sigfuse_models::baseline` on the rows' features (plus the declared call graph, which the
//! engine reads from the table or query `call_graph` names), and loads the lake's baseline
//! models into the detection functions.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, IntervalUnit, TimeUnit, TimestampNanosecondType};
use datafusion::common::{DataFusionError, Result, ScalarValue, plan_err};
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::StreamExt;
use sigfuse_models::baseline::{self, Baseline, Options};
use sigfuse_storage::Lake;
use sigfuse_udfs::detect::{Detectors, windows};
use sigfuse_udfs::logs::model_err;

use super::registry;
use super::training::Progress;

const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// `'1 minute'` → nanoseconds.
fn interval_ns(name: &str, text: &str) -> Result<i64> {
    let v = ScalarValue::Utf8(Some(text.to_string()))
        .cast_to(&DataType::Interval(IntervalUnit::MonthDayNano))
        .map_err(|_| {
            DataFusionError::Plan(format!(
                "CREATE MODEL {name}: option window must be an interval such as '1 minute', got {text:?}"
            ))
        })?;
    match v {
        ScalarValue::IntervalMonthDayNano(Some(i)) if i.months == 0 => {
            let ns = i64::from(i.days) * NANOS_PER_DAY + i.nanoseconds;
            if ns > 0 {
                return Ok(ns);
            }
            plan_err!("CREATE MODEL {name}: option window must be positive, got {text:?}")
        }
        _ => plan_err!(
            "CREATE MODEL {name}: option window must be a fixed interval (no months), got {text:?}"
        ),
    }
}

fn options(name: &str, given: &BTreeMap<String, String>) -> Result<Options> {
    let mut o = Options::default();
    for (k, v) in given {
        match k.as_str() {
            "window" => o.window_ns = interval_ns(name, v)?,
            // Read by the engine (a table or query), handed to `train` as edges.
            super::CALL_GRAPH_OPTION => {}
            "anomalous" => {
                o.anomalous = v.parse().map_err(|_| {
                    DataFusionError::Plan(format!(
                        "CREATE MODEL {name}: option anomalous must be a number between 0 and 1, got {v:?}"
                    ))
                })?
            }
            other => {
                return plan_err!(
                    "CREATE MODEL {name}: unknown option {other:?} for KIND baseline (known: window, anomalous, call_graph)"
                );
            }
        }
    }
    Ok(o)
}

/// The window width of the rows, from `window_end - window_start`, if both are there.
fn width_of(batch: &datafusion::arrow::array::RecordBatch) -> Result<Option<i64>> {
    let schema = batch.schema();
    let (Ok(s), Ok(e)) = (
        schema.index_of("window_start"),
        schema.index_of("window_end"),
    ) else {
        return Ok(None);
    };
    let ts = DataType::Timestamp(TimeUnit::Nanosecond, None);
    let (s, e) = (cast(batch.column(s), &ts)?, cast(batch.column(e), &ts)?);
    let (s, e) = (
        s.as_primitive::<TimestampNanosecondType>(),
        e.as_primitive::<TimestampNanosecondType>(),
    );
    Ok((0..batch.num_rows())
        .find(|&i| s.is_valid(i) && e.is_valid(i))
        .map(|i| e.value(i) - s.value(i)))
}

/// Fits the model on the rows; returns it and its training metrics.
pub(super) async fn train(
    name: &str,
    given: &BTreeMap<String, String>,
    mut stream: SendableRecordBatchStream,
    call_graph: Option<Vec<(String, String)>>,
    progress: &mut Progress,
) -> Result<(Baseline, serde_json::Value)> {
    let mut options = options(name, given)?;
    let who = format!("CREATE MODEL {name}");
    let schema = stream.schema();
    if schema.index_of("service").is_err() {
        return plan_err!(
            "{who}: the query must return signal_windows rows (a service column and feature columns), e.g. AS SELECT * FROM signal_windows(INTERVAL '1 minute') WHERE window_start < …"
        );
    }
    let mut rows = Vec::new();
    let mut width = None;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        progress.rows(batch.num_rows());
        if width.is_none() {
            width = width_of(&batch)?;
        }
        rows.extend(windows(&who, batch.schema().fields(), batch.columns())?);
    }
    match (width, given.get("window")) {
        (Some(w), Some(text)) if w != options.window_ns => {
            return plan_err!(
                "{who}: option window {text:?} disagrees with the rows' windows ({} s wide)",
                w as f64 / 1e9
            );
        }
        (Some(w), None) => options.window_ns = w,
        _ => {}
    }
    let (mut model, report) = Baseline::fit(options, &rows).map_err(|e| match e {
        sigfuse_models::ModelError::Config { .. } => DataFusionError::Plan(format!("{who}: {e}")),
        other => model_err(other),
    })?;
    let from_spans = model.call_graph().count();
    let declared = call_graph.map(|edges| {
        let n = edges.len();
        model.declare_edges(edges);
        n
    });
    let metrics = serde_json::json!({
        "rows": progress.total(),
        "windows": report.windows,
        "services": report.services,
        "features": report.features,
        "modality_windows": report.modality_windows,
        "window_seconds": model.options.window_ns as f64 / 1e9,
        "anomalous": model.options.anomalous,
        "call_graph_edges": model.call_graph().count(),
        "call_graph_edges_from_spans": from_spans,
        "call_graph_edges_declared": declared,
    });
    Ok((model, metrics))
}

/// Loads every baseline model among the models' `active` versions into `detectors` (and drops
/// the ones the lake no longer has); returns their names and versions.
pub async fn load_all(
    lake: &Lake,
    active: &[registry::Manifest],
    detectors: &Detectors,
) -> Result<Vec<(String, u64)>> {
    let mut models = Vec::new();
    for m in active.iter().filter(|m| m.kind == baseline::KIND) {
        let state = registry::read_state(lake, &m.name, m.version).await?;
        models.push((
            m.name.clone(),
            m.version,
            Baseline::load_state(&state).map_err(model_err)?,
        ));
    }
    let loaded = models.iter().map(|(n, v, _)| (n.clone(), *v)).collect();
    detectors.replace_all(models);
    Ok(loaded)
}
