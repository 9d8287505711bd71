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
//! | [`logs`] | log functions: `log_template`, `log_template_id`, `log_params`, `log_patterns`, and [`logs::LogParser`], the model handle they share |
//! | [`docs`] | renders `docs/sql-functions.md` from the functions' `#[user_doc]` |
//!
//! Fusion scores (`fusion`) land with their issue. [`Handles`] are the model handles the engine
//! gives to the functions. Functions do no
//! I/O and hold no global state other than a model handle given to them; planner extensions
//! (gap filling, ASOF join) live in `sigfuse-engine`.
//!
//! [`register_all`] also registers datafusion-functions-json (`json_get_str(attributes, 'k')`,
//! `json_get_int`, `json_contains`, the `->`/`->>` operators, …), which the `attributes` column
//! of every signal table is meant to be queried with (DESIGN.md).

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::prelude::SessionContext;

pub mod docs;
pub mod logs;
pub mod time;

/// The model handles the functions use; the engine owns them (and replaces models in them).
#[derive(Debug, Clone)]
pub struct Handles {
    /// Log-template mining (`logs` family).
    pub log_parser: Arc<logs::LogParser>,
}

impl Default for Handles {
    /// No saved model: an online log miner.
    fn default() -> Self {
        Self {
            log_parser: Arc::new(logs::LogParser::online()),
        }
    }
}

/// Every scalar function of ours, for registration and for the generated reference.
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    scalar_functions_with(&Handles::default())
}

/// Every scalar function of ours, using `handles`.
pub fn scalar_functions_with(handles: &Handles) -> Vec<Arc<ScalarUDF>> {
    let mut all = time::functions();
    all.extend(logs::functions(&handles.log_parser));
    all
}

/// Every aggregate function of ours, for the generated reference.
pub fn aggregate_functions() -> Vec<Arc<AggregateUDF>> {
    aggregate_functions_with(&Handles::default())
}

/// Every aggregate function of ours, using `handles`.
pub fn aggregate_functions_with(handles: &Handles) -> Vec<Arc<AggregateUDF>> {
    logs::aggregates(&handles.log_parser)
}

/// Registers every sigfuse function in `ctx`, without saved models.
pub fn register_all(ctx: &mut SessionContext) -> Result<()> {
    register_all_with(ctx, &Handles::default())
}

/// Registers every sigfuse function in `ctx`, using `handles`.
pub fn register_all_with(ctx: &mut SessionContext, handles: &Handles) -> Result<()> {
    datafusion_functions_json::register_all(ctx)?;
    for f in scalar_functions_with(handles) {
        ctx.register_udf(f.as_ref().clone());
    }
    for f in aggregate_functions_with(handles) {
        ctx.register_udaf(f.as_ref().clone());
    }
    Ok(())
}
