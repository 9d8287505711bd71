//! # sigfuse-udfs
//!
//! Every sigfuse SQL function, one file per function, grouped in family modules that each
//! expose `functions()`. [`register_all`] is the one entry point the engine calls.
//!
//! # Layout
//!
//! No families yet: time-window functions (`time`), log encoders (`logs`) and fusion scores
//! (`fusion`) land with their issues. Functions do no I/O and hold no global state other than a
//! model handle given to them.

use datafusion::common::Result;
use datafusion::prelude::SessionContext;

/// Registers every sigfuse function in `ctx`.
pub fn register_all(_ctx: &SessionContext) -> Result<()> {
    Ok(())
}
