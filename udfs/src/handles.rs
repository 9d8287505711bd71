//! What the engine hands to functions that need models. Functions never do I/O: loading
//! weights (from a folder or the lake's object store) is the engine's job, behind
//! [`TextEncoderSource`].

use std::fmt::Debug;
use std::sync::Arc;

use datafusion::common::{Result, plan_err};
use sigfuse_models::text::{DEFAULT_CACHE_ENTRIES, HashedEncoder, TextEmbedder, TextEncoder};

use crate::settings::BUILTIN_TEXT_ENCODER;

/// Gives text encoders by name, loading each once and keeping it (with its embedding cache)
/// for every session and query that asks again.
pub trait TextEncoderSource: Debug + Send + Sync {
    /// The encoder named `spec` (`builtin`, a folder or a URL) on `device` (`cpu`, `cuda:N`).
    /// Errors say which of the two was wrong and why.
    fn text_encoder(&self, spec: &str, device: &str) -> Result<Arc<TextEmbedder>>;
}

/// The model handles [`crate::register_all`] gives to functions.
#[derive(Debug, Clone)]
pub struct ModelHandles {
    pub text_encoders: Arc<dyn TextEncoderSource>,
    /// Log-template mining (`log_template`, …); the engine loads saved models into it.
    pub log_parser: Arc<crate::logs::LogParser>,
    /// Baseline detection models by name (`anomaly_score`, `root_cause`, …); the engine loads
    /// and switches them.
    pub detectors: Arc<crate::detect::Detectors>,
}

impl Default for ModelHandles {
    /// Only the built-in encoder: for sessions built without an engine (unit tests).
    fn default() -> Self {
        Self {
            text_encoders: Arc::new(BuiltinOnly::default()),
            log_parser: Arc::new(crate::logs::LogParser::online()),
            detectors: Arc::default(),
        }
    }
}

/// A [`TextEncoderSource`] that knows only `builtin`.
#[derive(Debug)]
pub struct BuiltinOnly {
    builtin: Arc<TextEmbedder>,
}

impl Default for BuiltinOnly {
    fn default() -> Self {
        Self {
            builtin: Arc::new(TextEmbedder::new(
                TextEncoder::Hashed(HashedEncoder),
                DEFAULT_CACHE_ENTRIES,
            )),
        }
    }
}

impl TextEncoderSource for BuiltinOnly {
    fn text_encoder(&self, spec: &str, _device: &str) -> Result<Arc<TextEmbedder>> {
        if spec.trim().eq_ignore_ascii_case(BUILTIN_TEXT_ENCODER) {
            Ok(Arc::clone(&self.builtin))
        } else {
            plan_err!(
                "text encoder '{spec}': this session has no model loader, only '{BUILTIN_TEXT_ENCODER}'"
            )
        }
    }
}
