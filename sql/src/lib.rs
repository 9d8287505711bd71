//! # sigfuse-sql
//!
//! The Postgres endpoint (`sigfuse serve`): pgwire through datafusion-postgres, authentication,
//! TLS, roles and the one SQLSTATE mapping. The shared context comes from `sigfuse-engine`;
//! datafusion-postgres's parser, hooks and handlers answer the statements, except that a
//! simple-protocol query's rows are written by [`encode`] (the same bytes, several times
//! faster) and a connection's repeated constant statements reuse their plan
//! ([`constant_plans`]).
//!
//! # Layout
//!
//! | module | what it does |
//! |---|---|
//! | [`server`] | [`Server`]: listener, TLS, connection limit, handlers per connection, cancel requests |
//! | [`session`] | one connection's query handlers: `statement_timeout`, cancel, model statements |
//! | [`auth`] | the users file (salted SCRAM secrets only), SCRAM-SHA-256 or loopback trust, TLS-only |
//! | [`roles`] | `analyst` / `admin` and per-user schemas, checked on every statement (`42501`) |
//! | [`show`] | `SHOW datafusion.…` / `SHOW ALL` from the session's own settings |
//! | [`catalog`] | `pg_catalog` (array columns as arrays, `pg_locks`, PostgreSQL's `information_schema.columns`), `version()`, start-up functions, per-connection `pg_backend_pid()` |
//! | [`constant_plans`] | a connection's repeated constant statements (`SELECT 1`) run their kept physical plan |
//! | [`column_names`] | result columns named as PostgreSQL names unaliased select items (`count`, `?column?`) |
//! | [`encode`] | result rows as `DataRow`s: arrow-pg's bytes, written directly for common text columns |
//! | [`compat`] | PostgreSQL SQL that tools send and DataFusion refuses, rewritten (`(row).field`, `::regproc`, `_pg_expandarray`, `'t'` as a boolean) |
//! | [`sqlstate`] | the one error → SQLSTATE mapping, applied to everything sent to a client |
//!
//! Each connection gets its own `SessionContext` cloned from the shared one: tables, functions,
//! caches and the memory pool are shared, settings are not.

pub mod auth;
pub mod catalog;
pub mod column_names;
pub mod compat;
pub mod constant_plans;
pub mod encode;
pub mod roles;
pub mod server;
pub mod session;
pub mod show;
pub mod sqlstate;

pub use auth::Users;
pub use roles::Role;
pub use server::{ServeOptions, Server};
pub use sigfuse_engine as engine;
