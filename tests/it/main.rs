//! sigfuse's integration tests: one binary (STYLE.md), one module per area.

mod cli;
mod common;
mod crash;
mod detect;
mod ingest;
mod pruning;
mod s3;
mod serve;
mod slt;
