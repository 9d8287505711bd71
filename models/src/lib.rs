//! # sigfuse-models
//!
//! Learned artifacts as plain Rust and candle: template miner, encoders, fusion, calibration,
//! and their save/load format. No Arrow, DataFusion or tokio here.
//!
//! # Layout
//!
//! Empty until the log-modality issue: `error` (the crate's `thiserror` enum, converted once at
//! the `udfs` seam) and one module per model will live here.
