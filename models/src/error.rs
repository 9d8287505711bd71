//! The crate's one error type, converted once at the `udfs`/`engine` seam
//! (`DataFusionError::External`).

/// What can go wrong inside a model: bad saved state, an unsupported format, bad options.
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
}

/// Results of this crate.
pub type Result<T, E = ModelError> = std::result::Result<T, E>;
