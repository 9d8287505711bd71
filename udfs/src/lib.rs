//! # sigfuse-udfs
//!
//! Every sigfuse SQL function, one file per function, grouped in family modules that each
//! expose `functions()`. [`register_all`] is the one entry point the engine calls.
//!
//! # Layout
//!
//! | module | what it holds |
//! |---|---|
//! | [`logs`] | log functions: `embed_text` |
//! | [`settings`] | the `sigfuse.*` session settings ([`settings::SigfuseOptions`]) |
//! | [`handles`] | the model handles the engine gives functions ([`handles::TextEncoderSource`]) |
//!
//! Time-window functions (`time`) and fusion scores (`fusion`) land with their issues.
//! Functions do no I/O and hold no global state other than a model handle given to them.
//!
//! [`register_all`] also registers datafusion-functions-json (`json_get_str(attributes, 'k')`,
//! `json_get_int`, `json_contains`, the `->`/`->>` operators, …), which the `attributes` column
//! of every signal table is meant to be queried with (DESIGN.md).

pub mod handles;
pub mod logs;
pub mod settings;

use datafusion::common::Result;
use datafusion::prelude::SessionContext;

pub use handles::ModelHandles;

/// Registers every sigfuse function in `ctx`, bound to `models`. The session's config should
/// carry [`settings::SigfuseOptions`] (the engine adds it), or `SET sigfuse.…` is refused.
pub fn register_all(ctx: &mut SessionContext, models: &ModelHandles) -> Result<()> {
    datafusion_functions_json::register_all(ctx)?;
    // Bound to the session's settings as they are now (a later SET rebinds them).
    let options = ctx.state().config_options().as_ref().clone();
    for f in logs::functions(models) {
        let f = f
            .inner()
            .with_updated_config(&options)
            .unwrap_or_else(|| f.as_ref().clone());
        ctx.register_udf(f);
    }
    Ok(())
}
