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
//! | [`docs`] | renders `docs/sql-functions.md` from the functions' `#[user_doc]` |
//!
//! Log encoders (`logs`) and fusion scores (`fusion`) land with their issues. Functions do no
//! I/O and hold no global state other than a model handle given to them; planner extensions
//! (gap filling, ASOF join) live in `sigfuse-engine`.
//!
//! [`register_all`] also registers datafusion-functions-json (`json_get_str(attributes, 'k')`,
//! `json_get_int`, `json_contains`, the `->`/`->>` operators, …), which the `attributes` column
//! of every signal table is meant to be queried with (DESIGN.md).

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionContext;

pub mod docs;
pub mod time;

/// Every scalar function of ours, for registration and for the generated reference.
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    time::functions()
}

/// Registers every sigfuse function in `ctx`.
pub fn register_all(ctx: &mut SessionContext) -> Result<()> {
    datafusion_functions_json::register_all(ctx)?;
    for f in scalar_functions() {
        ctx.register_udf(f.as_ref().clone());
    }
    Ok(())
}
