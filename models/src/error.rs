//! The crate's one error type. `udfs` converts it once, at its seam, into
//! `DataFusionError::External`, so every message here must already say who failed, what was
//! expected and what was got.

/// Everything that can go wrong while loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A saved model could not be read: the bytes are not what the manifest promised.
    #[error("{model}: cannot read saved state: {detail}")]
    Corrupt { model: &'static str, detail: String },
    /// A saved model was written by a format version this build does not read.
    #[error("{model}: saved format version {got} is not supported (this build reads {expected})")]
    Version {
        model: &'static str,
        expected: u32,
        got: u32,
    },
    /// A configuration value is out of range.
    #[error("{model}: option {option} must be {expected}, got {got}")]
    Config {
        model: &'static str,
        option: &'static str,
        expected: &'static str,
        got: String,
    },

    /// A model file could not be read.
    #[error("{model}: cannot read {file}: {source}")]
    Io {
        model: String,
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// A model file was read but its content is not what the model needs.
    #[error("{model}: {file}: {detail}")]
    Format {
        model: String,
        file: &'static str,
        detail: String,
    },
    /// The tokenizer failed to load or to encode.
    #[error("{model}: tokenizer: {detail}")]
    Tokenizer { model: String, detail: String },
    /// A device setting that this build cannot honour.
    #[error("device '{got}': {reason}")]
    Device { got: String, reason: String },
    /// A broken invariant of this crate (a bug, never a bad input).
    #[error("internal error: {0}")]
    Internal(String),
    /// A tensor operation failed (shapes, dtypes, device memory).
    #[error("{model}: {source}")]
    Candle {
        model: String,
        #[source]
        source: candle_core::Error,
    },
}

/// Results of this crate.
pub type Result<T, E = ModelError> = std::result::Result<T, E>;
