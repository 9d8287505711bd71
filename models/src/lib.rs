//! # sigfuse-models
//!
//! Learned artifacts as plain Rust and candle: template miner, encoders, fusion, calibration,
//! and their save/load format. No Arrow, DataFusion or tokio here, and no I/O: models turn
//! bytes into models and back; the engine reads and writes the bytes.
//!
//! # Layout
//!
//! | module | what |
//! |---|---|
//! | [`error`] | [`ModelError`], the crate's one error enum, converted once at the `udfs`/`engine` seam |
//! | [`logparse`] | log-template mining (Drain-family miner, masks, stable ids, save/load, accuracy metrics) |

pub mod error;
pub mod logparse;

pub use error::{ModelError, Result};
