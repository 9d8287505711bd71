//! `CREATE MODEL … KIND log_parser`: mines the query's lines into a template miner, and loads
//! the newest log parser into the log functions.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, plan_err};
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::StreamExt;
use serde_json::json;
use sigfuse_models::logparse::{self, Miner, Scratch};
use sigfuse_storage::Lake;
use sigfuse_udfs::logs::{LogParser, model_err};

use super::registry;
use super::training::Progress;

/// Mines the rows (first column the body, optional second the service); returns the miner
/// and its training metrics.
pub(super) async fn train(
    name: &str,
    mut stream: SendableRecordBatchStream,
    progress: &mut Progress,
) -> Result<(Miner, serde_json::Value)> {
    let fields = stream.schema().fields().len();
    if !(1..=2).contains(&fields) {
        return plan_err!(
            "CREATE MODEL {name}: the query must return (body [, service]), got {fields} columns"
        );
    }
    let mut miner = Miner::default();
    let mut scratch = Scratch::default();
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        progress.rows(batch.num_rows());
        let body = cast(batch.column(0), &DataType::Utf8)?;
        let body = body.as_string::<i32>();
        let service = match batch.num_columns() {
            2 => Some(cast(batch.column(1), &DataType::Utf8)?),
            _ => None,
        };
        let service = service.as_ref().map(|s| s.as_string::<i32>());
        for i in 0..batch.num_rows() {
            if body.is_null(i) {
                continue;
            }
            let svc = service.filter(|s| s.is_valid(i)).map_or("", |s| s.value(i));
            miner.add(svc, body.value(i), &mut scratch);
        }
    }
    let summary = miner.manifest(name, 0, "", "");
    let metrics = json!({"lines": summary.lines, "templates": summary.templates});
    Ok((miner, metrics))
}

/// Loads the log parser created last (among the models' `active` versions, the newest by
/// creation time) into `parser`; its name and version, or `None` when the lake has none (the
/// functions then mine online).
pub async fn load_latest(
    lake: &Lake,
    active: &[registry::Manifest],
    parser: &LogParser,
) -> Result<Option<(String, u64)>> {
    let best = active
        .iter()
        .filter(|m| m.kind == logparse::KIND)
        .max_by(|a, b| {
            (&a.created_at, a.version, &a.name).cmp(&(&b.created_at, b.version, &b.name))
        });
    let Some(m) = best else {
        parser.set_online();
        return Ok(None);
    };
    let miner = Miner::load_state(&registry::read_state(lake, &m.name, m.version).await?)
        .map_err(model_err)?;
    parser.set_model(miner, &m.name, m.version);
    Ok(Some((m.name.clone(), m.version)))
}
