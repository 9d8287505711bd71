//! # sigfuse-models
//!
//! Learned artifacts as plain Rust and candle: template miner, encoders, fusion, calibration,
//! and their save/load format. No Arrow, DataFusion or tokio here, and no I/O: models turn
//! bytes into models and back; the engine reads and writes the bytes.
//!
//! # Layout
//!
//! | module | what it holds |
//! |---|---|
//! | [`baseline`] | the baseline detector: robust per-service statistics, fused calibrated score, root-cause ranking |
//! | [`error`] | [`ModelError`], the crate's one error type, converted once at the `udfs`/`engine` seam |
//! | [`logparse`] | log-template mining (Drain-family miner, masks, stable ids, save/load, accuracy metrics) |
//! | [`device`] | the `sigfuse.device` setting (`cpu`, `cuda:N` with the `cuda` feature) |
//! | [`text`] | text embeddings: a BERT sentence encoder, the built-in hashed encoder, the cache, the template key |
//!
//! Models get their bytes from the caller: reading from the lake's object store is the
//! engine's job (only a local-folder convenience reader lives here).

pub mod baseline;
pub mod device;
pub mod error;
pub mod logparse;
pub mod text;

pub use error::{ModelError, Result};
