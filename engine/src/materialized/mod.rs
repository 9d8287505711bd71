//! `WITH name AS MATERIALIZED (…)` (PostgreSQL's hint): the body is computed once per query,
//! however often the query reads it.
//!
//! ```sql
//! WITH sp AS MATERIALIZED (SELECT trace_id, span_id, parent_span_id, service, duration_ns
//!                          FROM spans WHERE ts >= now() - INTERVAL '1 hour')
//! SELECT p.service AS caller, c.service AS callee, count(*)
//! FROM sp c JOIN sp p ON c.trace_id = p.trace_id AND c.parent_span_id = p.span_id
//! GROUP BY 1, 2
//! ```
//!
//! DataFusion inlines every CTE at each reference, so the query above would scan and decode
//! `spans` twice. With the hint it is read once and both sides stream the same rows.
//!
//! | aspect | rule |
//! |---|---|
//! | rows | the body's, as if inlined: the same answer with or without the hint |
//! | optimizer | a barrier: no filter, limit or projection of a reference moves into the body, which computes every column it names (name only the ones the query reads) |
//! | memory | the rows stay in memory until every reference has read them, counted against the memory pool; more than the limit is a `ResourcesExhausted` error |
//! | `AS NOT MATERIALIZED` | accepted, and inlined (as every plain CTE is) |
//! | `WITH RECURSIVE` | the hint is accepted and has no effect: a recursive CTE is computed once anyway |
//! | correlated body | not supported (the node stops DataFusion's decorrelation): an error, where the plain CTE runs |
//! | EXPLAIN | each reference shows `MaterializedCte: name` (logical) / `MaterializedCteExec: name` (physical) over its copy of the body; one copy runs |
//!
//! How a statement gets here is in [`sql`]; [`share_materialized`] links the physical copies
//! after planning.

mod exec;
mod logical;
pub mod sql;

pub use exec::{MaterializedCteExec, MaterializedCtePlanner, share_materialized};
pub use logical::MaterializedCte;
pub use sql::{MaterializedRelationPlanner, mark_materialized};

#[cfg(test)]
mod tests;
