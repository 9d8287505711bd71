//! # sigfuse-udfs
//!
//! Every sigfuse SQL function, one file per function, grouped in family modules that each
//! expose `functions()`. [`register_all`] is the one entry point the engine calls.
//!
//! # Layout
//!
//! | module | what it holds |
//! |---|---|
//! | [`time`] | time-window functions: `time_bucket` (its kernel, `time::bucket`, is shared with gap filling and `signal_windows`) |
//! | [`logs`] | log functions: `log_template`, `log_template_id`, `log_params`, `log_patterns` (sharing [`logs::LogParser`]) and `embed_text` |
//! | [`json`] | PostgreSQL's `json`/`jsonb`: the types and casts, `->`, `->>`, `#>`, `#>>`, and `to_json`, `json_build_object`, `json_build_array`, `json_extract_path(_text)`, `json_typeof`, `json_array_length` with their `jsonb_` twins |
//! | [`detect`] | detection with a baseline model: `anomaly_score`, `modality_weights`, and the table functions `detect_anomalies`, `root_cause` (sharing [`detect::Detectors`]) |
//! | [`settings`] | the `sigfuse.*` session settings ([`settings::SigfuseOptions`]) |
//! | [`handles`] | the model handles the engine gives functions ([`ModelHandles`]: text encoders, log parser) |
//! | `texts` | the rows of a text argument of any string or binary type, shared by the families |
//! | [`docs`] | renders `docs/sql-functions.md` from the functions' `#[user_doc]` |
//!
//! Learned fusion models land with their issue. Functions do no I/O and hold no global
//! state other than a model handle given to them; planner extensions (gap filling, ASOF join)
//! live in `sigfuse-engine`.
//!
//! [`register_all`] also registers datafusion-functions-json (`json_get_str(attributes, 'k')`,
//! `json_get_int`, `json_contains`, …), which the `attributes` column
//! of every signal table is meant to be queried with (DESIGN.md); its `->`/`->>` operators are
//! replaced by PostgreSQL's ([`json::JsonOperators`]), its `?` stays.

use std::sync::Arc;

use datafusion::catalog::TableFunctionImpl;
use datafusion::common::Result;
use datafusion::logical_expr::{AggregateUDF, Documentation, ScalarUDF};
use datafusion::prelude::SessionContext;

pub mod detect;
pub mod docs;
pub mod handles;
pub mod json;
pub mod logs;
pub mod settings;
mod texts;
pub mod time;

pub use handles::ModelHandles;

/// Every scalar function of ours, bound to `models`, for registration and for the generated
/// reference.
pub fn scalar_functions(models: &ModelHandles) -> Vec<Arc<ScalarUDF>> {
    let mut functions = time::functions();
    functions.extend(logs::functions(models));
    functions.extend(detect::functions(models));
    functions.extend(json::functions());
    functions
}

/// Every aggregate function of ours, bound to `models`.
pub fn aggregate_functions(models: &ModelHandles) -> Vec<Arc<AggregateUDF>> {
    logs::aggregates(&models.log_parser)
}

/// Every table function of ours, by name, over the signal tables `tables` (logs, spans,
/// metrics, events), bound to `models`, with its reference documentation.
pub fn table_functions(
    models: &ModelHandles,
    tables: &[String; 4],
) -> Vec<(&'static str, Arc<dyn TableFunctionImpl>, Documentation)> {
    let doc = |d: Option<&Documentation>| d.cloned().expect("table functions have #[user_doc]");
    let windows = time::signal_windows::SignalWindows::new(tables.clone());
    let windows_doc = doc(windows.documentation());
    let detect = detect::detect_anomalies::DetectAnomalies::new(Arc::clone(&models.detectors));
    let detect_doc = doc(detect.documentation());
    let root = detect::root_cause::RootCause::new(
        Arc::clone(&models.detectors),
        Arc::clone(&models.log_parser),
    );
    let root_doc = doc(root.documentation());
    vec![
        (time::signal_windows::NAME, Arc::new(windows), windows_doc),
        (detect::detect_anomalies::NAME, Arc::new(detect), detect_doc),
        (detect::root_cause::NAME, Arc::new(root), root_doc),
    ]
}

/// Registers every sigfuse function in `ctx`, bound to `models`. The session's config should
/// carry [`settings::SigfuseOptions`] (the engine adds it), or `SET sigfuse.…` is refused.
pub fn register_all(ctx: &mut SessionContext, models: &ModelHandles) -> Result<()> {
    datafusion_functions_json::register_all(ctx)?;
    // After datafusion-functions-json, so that PostgreSQL's `->` (JSON, not a union) wins.
    json::install(ctx, None);
    // Bound to the session's settings as they are now (a later SET rebinds them).
    let options = ctx.state().config_options().as_ref().clone();
    for f in scalar_functions(models) {
        let f = f
            .inner()
            .with_updated_config(&options)
            .unwrap_or_else(|| f.as_ref().clone());
        ctx.register_udf(f);
    }
    for f in aggregate_functions(models) {
        ctx.register_udaf(f.as_ref().clone());
    }
    Ok(())
}
