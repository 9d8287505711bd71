//! # sigfuse-storage
//!
//! Everything between bytes in object storage and canonical signal rows. It knows nothing about
//! models or SQL functions.
//!
//! # Layout
//!
//! | module | what it does |
//! |---|---|
//! | [`lake`] | object stores from URLs and paths (`file://`, `memory://`, `s3://`, `gs://`, `az://`) |
//! | [`schema`] | the four canonical signal schemas ([`SignalKind`]) |
//! | [`layout`] | `<root>/<table>/date=…/hour=…/<file>.parquet`, and time ranges → folders |
//! | [`rows`] | canonical rows and their validation into Arrow batches |
//! | [`writer`] | the atomic, sorted, zstd Parquet writer of the layout |
//! | [`table`] | [`SignalTable`], a `TableProvider` that lists only the folders a `ts` range needs |
//! | [`ingest`] | adapters (JSON lines, CSV, Parquet, OTLP JSON, Nezha) and the ingest pipeline |
//! | [`demo`] | `sigfuse demo`: a deterministic microservice system with labeled incidents |
//!
//! Registering tables in a `SessionContext` is `sigfuse-engine`'s job; this crate only provides
//! the providers.

pub mod demo;
pub mod ingest;
pub mod lake;
pub mod layout;
pub mod rows;
pub mod schema;
pub mod table;
pub mod writer;

pub use lake::Lake;
pub use rows::{BatchBuilder, Cell, Row};
pub use schema::SignalKind;
pub use table::SignalTable;
pub use writer::{SignalWriter, WriteStats, WriterOptions};
