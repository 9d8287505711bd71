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
//! | work | both inputs in ts order — ascending for `>=`/`>`, descending for `<=`/`<` — in one partition: the lake's files are written and declared sorted by ts, so a merge of the scan's partitions gives it with no sort; elsewhere the planner adds a sort on the ts alone (it spills). Then one pass that keeps each key's best right row in a table of key ids (DataFusion's group-by interning): O(n + m) after the order |
//! | memory | the left streams; the right keeps the batch under the cursor, the batches holding some key's best row (copied together into one batch when more than 32 are kept) and those the output being built refers to, plus the key table: O(distinct keys + a few batches), reserved from the memory pool |
//! | pushdown | `WHERE` terms on left columns only move below the join; projections prune both inputs |
//!
//! How a statement gets here is in [`sql`]: an AST rewrite turns each ASOF join into a
//! parenthesized (nested) join, which a [`RelationPlanner`](datafusion::logical_expr::planner::RelationPlanner)
//! plans into the [`AsofJoin`] logical node; [`AsofExtensionPlanner`] turns that into
//! [`AsofJoinExec`], whose kernel is in `merge`. An input that breaks the ts order its plan
//! declares (a table declared `WITH ORDER` over unsorted rows) is an execution error, not a
//! wrong answer.

mod encode;
mod exec;
mod logical;
mod merge;
pub mod sql;

pub use exec::{AsofExtensionPlanner, AsofJoinExec};
pub use logical::{AsofJoin, AsofOp, PushLeftFiltersIntoAsof};
pub use sql::{AsofRelationPlanner, wrap_asof_joins};

#[cfg(test)]
mod tests;
