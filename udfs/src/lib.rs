//! # sigfuse-udfs
//!
//! Every sigfuse SQL function, one file per function, grouped in family modules that each
//! expose `functions()`. [`register_all`] is the one entry point the engine calls.
//!
//! # Layout
//!
//! No families of our own yet: time-window functions (`time`), log encoders (`logs`) and fusion
//! scores (`fusion`) land with their issues. Functions do no I/O and hold no global state other
//! than a model handle given to them.
//!
//! [`register_all`] also registers datafusion-functions-json (`json_get_str(attributes, 'k')`,
//! `json_get_int`, `json_contains`, the `->`/`->>` operators, …), which the `attributes` column
//! of every signal table is meant to be queried with (DESIGN.md).

use datafusion::common::Result;
use datafusion::prelude::SessionContext;

/// Registers every sigfuse function in `ctx`.
pub fn register_all(ctx: &mut SessionContext) -> Result<()> {
    datafusion_functions_json::register_all(ctx)?;
    Ok(())
}
