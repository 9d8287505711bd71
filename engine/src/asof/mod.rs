//! `ASOF JOIN` (Snowflake syntax, as DataFusion adopts it next):
//!
//! ```sql
//! SELECT s.trace_id, s.ts, m.value AS cpu
//! FROM spans s
//! ASOF JOIN (SELECT ts, service, host, value FROM metrics WHERE name = 'cpu') m
//!   MATCH_CONDITION (s.ts >= m.ts)
//!   ON s.service = m.service AND s.host = m.host
//! ```
//!
//! | aspect | rule |
//! |---|---|
//! | rows | every left row exactly once (left-preserving), right columns NULL when nothing matches |
//! | `>=` / `>` | the right row with the greatest ts at or before (strictly before) the left ts |
//! | `<=` / `<` | the right row with the smallest ts at or after (strictly after) the left ts |
//! | `ON` | optional; only `l.x = r.y` terms joined by `AND`; both sides cast to a common type |
//! | NULLs | a NULL key or a NULL ts never matches (on either side); NULL never equals NULL |
//! | ties | among right rows with the same keys and best ts, the first in ascending order (NULLs first) of the right's other columns that the query reads and that have plain types (numbers, strings, binary, booleans, temporal) — the same answer whatever the input order or partitioning. Columns the query does not read are pruned before the join, so they take no part. DuckDB takes the first in its input order instead: the two agree on the matched ts and keys, not always on the other columns of tied rows |
//! | output | all left columns, then all right columns (nullable) |
//! | floats | keys and ts compare by IEEE total order (`-0.0 < 0.0`, NaN largest) |
//! | work | both inputs sorted by (keys, ts) — the planner adds the sorts, which spill — and, with keys, hash-partitioned by the keys so partitions run in parallel; then one merge pass: O((n + m) log) in all |
//! | memory | the left streams; the right keeps the batches the current output refers to (at most 32 before the output is cut) and the batch holding the current candidate; reserved from the memory pool |
//! | pushdown | `WHERE` terms on left columns only move below the join; projections prune both inputs |
//!
//! How a statement gets here is in [`sql`]: an AST rewrite turns each ASOF join into a
//! parenthesized (nested) join, which a [`RelationPlanner`](datafusion::logical_expr::planner::RelationPlanner)
//! plans into the [`AsofJoin`] logical node; [`AsofExtensionPlanner`] turns that into
//! [`AsofJoinExec`], whose kernel is in `merge`.

mod exec;
mod logical;
mod merge;
pub mod sql;

pub use exec::{AsofExtensionPlanner, AsofJoinExec};
pub use logical::{AsofJoin, AsofOp, PushLeftFiltersIntoAsof};
pub use sql::{AsofRelationPlanner, rewrite_sql, wrap_asof_joins};

#[cfg(test)]
mod tests;
