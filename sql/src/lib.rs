//! # sigfuse-sql
//!
//! The Postgres endpoint (`sigfuse serve`): pgwire through datafusion-postgres, authentication,
//! TLS, roles and the one SQLSTATE mapping. It plans nothing itself; sessions come from
//! `sigfuse-engine`.
//!
//! # Layout
//!
//! Empty until the Postgres-endpoint issue; the crate exists now so the workspace's dependency
//! set (datafusion-postgres 0.19, pgwire 0.41) is fixed from the start.

pub use sigfuse_engine as engine;
