//! Constant statements keep their physical plan for the connection.
//!
//! A connection pool checks its connections with `SELECT 1`, drivers ask `SELECT current_schema()`,
//! and dashboards repeat such texts all day. DataFusion parses, plans and optimizes every
//! statement anew (a few hundred microseconds, several times what PostgreSQL needs for the
//! whole round trip). A statement that reads no table, takes no parameter and calls only
//! immutable functions gives the same rows every time within a connection whose settings do not
//! change; so from the second time a connection sends the same text, its physical plan is
//! reused and only executed.
//!
//! What keeps this right:
//! - a text is planned for reuse only after the normal path ran it (so the hooks — rights,
//!   failed-transaction state — saw it once), and only when its logical plan holds no table
//!   scan, no extension node, no DDL/DML, no placeholder and no function that is not
//!   `Immutable` (`now()` is folded into a literal by the optimizer, so it is excluded too);
//! - the physical plan must be made of operators that hold no per-run state (projection,
//!   filter, limit, union, the one-row source), and each run executes a fresh copy of the
//!   tree (`reset_plan_states`: the operators' metrics would otherwise grow with every run);
//! - every statement that may change a setting (anything but a query, transaction control
//!   and `SHOW`: `SET`, `RESET`, `DISCARD`, DDL, …, also inside a text of several statements)
//!   forgets the connection's plans; a failed transaction takes the normal path (which
//!   answers `25P01`); a statement is kept only after it ran without error.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, LogicalPlan, Volatility};
use datafusion::physical_plan::execution_plan::reset_plan_states;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::Statement;
use datafusion_postgres::pgwire::api::ClientInfo;
use datafusion_postgres::pgwire::api::portal::Format;
use datafusion_postgres::pgwire::api::results::Response;
use datafusion_postgres::pgwire::error::{PgWireError, PgWireResult};

/// Plans kept per connection; the oldest are not tracked, the whole set is dropped when full.
const MAX_PLANS: usize = 64;
/// Texts seen once (by hash) before one is planned for reuse.
const MAX_SEEN: usize = 1024;
/// Longer texts are not kept.
const MAX_TEXT: usize = 1024;

/// Physical operators that keep no state between runs but their metrics, which
/// `reset_plan_states` gives fresh on every run (leaves here record none).
const STATELESS: [&str; 8] = [
    "ProjectionExec",
    "PlaceholderRowExec",
    "EmptyExec",
    "FilterExec",
    "CoalesceBatchesExec",
    "GlobalLimitExec",
    "LocalLimitExec",
    "UnionExec",
];

/// One connection's reusable plans of constant statements.
pub struct ConstantPlans {
    ctx: Arc<SessionContext>,
    hasher: RandomState,
    state: Mutex<Known>,
}

#[derive(Default)]
struct Known {
    plans: HashMap<String, Arc<Reusable>>,
    seen: HashSet<u64>,
}

/// A constant statement's plan, with the task context it runs in (the connection's settings
/// when it was planned; any change of them drops the plan).
pub struct Reusable {
    /// The columns as the logical plan has them (the normal path describes them so; the
    /// physical schema may lack their pg type markers).
    schema: datafusion::arrow::datatypes::SchemaRef,
    plan: Arc<dyn ExecutionPlan>,
    task: Arc<TaskContext>,
    /// PostgreSQL's names of the columns ([`crate::column_names`]).
    names: Option<Vec<Option<String>>>,
}

impl ConstantPlans {
    /// For the connection whose context is `ctx`.
    pub fn new(ctx: Arc<SessionContext>) -> Self {
        Self {
            ctx,
            hasher: RandomState::new(),
            state: Mutex::new(Known::default()),
        }
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The kept plan of `text`, if it is a constant statement this connection ran before.
    pub fn get(&self, text: &str, client: &impl ClientInfo) -> Option<Arc<Reusable>> {
        use datafusion_postgres::pgwire::messages::response::TransactionStatus;
        if client.transaction_status() == TransactionStatus::Error {
            return None;
        }
        self.known().plans.get(text).cloned()
    }

    /// Forgets every plan (the connection's settings may have changed).
    pub fn clear(&self) {
        self.known().plans.clear();
    }

    /// After the normal path ran the one query `text` (as `sql`, after the compatibility
    /// rewrites) without error: keeps its plan when it is constant and was seen before. (The
    /// caller forgets the plans after any statement that may change a setting.)
    pub async fn learn(&self, text: &str, sql: &str) {
        // Most queries read a table; their text says so without planning. Long texts are
        // not constant statements a pool repeats.
        if text.len() > MAX_TEXT || contains_ignore_case(sql, "from") {
            return;
        }
        let hash = self.hasher.hash_one(text);
        {
            let mut known = self.known();
            if known.plans.contains_key(text) {
                return;
            }
            if known.seen.len() >= MAX_SEEN {
                known.seen.clear();
            }
            if known.seen.insert(hash) {
                // The first time: a text sent once is not worth a second planning.
                return;
            }
        }
        if let Some(reusable) = self.plan(text, sql).await {
            let mut known = self.known();
            if known.plans.len() >= MAX_PLANS {
                known.plans.clear();
            }
            known.plans.insert(text.to_string(), Arc::new(reusable));
        }
    }

    /// Plans `sql` as datafusion-postgres does (its parser, then DataFusion's on the
    /// statement's text), when it is one constant query.
    async fn plan(&self, text: &str, sql: &str) -> Option<Reusable> {
        let statements = crate::compat::PG_PARSER.parse(sql).ok()?;
        let [statement] = statements.as_slice() else {
            return None;
        };
        if !matches!(statement, Statement::Query(_)) {
            return None;
        }
        let state = self.ctx.state();
        let logical = state
            .create_logical_plan(&statement.to_string())
            .await
            .ok()?;
        if !is_constant(&logical) {
            return None;
        }
        let plan = state.create_physical_plan(&logical).await.ok()?;
        if !is_stateless(&plan) {
            return None;
        }
        Some(Reusable {
            names: crate::column_names::of_text(text),
            schema: Arc::new(logical.schema().as_arrow().clone()),
            plan,
            task: Arc::new(TaskContext::from(&state)),
        })
    }
}

impl Reusable {
    /// Runs the plan again and answers as datafusion-postgres does (text format, the client's
    /// date and time formats).
    pub fn respond(&self, client: &impl ClientInfo) -> PgWireResult<Vec<Response>> {
        let options = Arc::new(crate::encode::format_options(client.metadata()));
        // A run adds its metrics to the operators it runs: a fresh copy of the tree (the
        // operators are rebuilt, the expressions shared) keeps the kept plan from growing.
        let api = |e| PgWireError::ApiError(Box::new(e));
        let plan = reset_plan_states(Arc::clone(&self.plan)).map_err(api)?;
        let batches = execute_stream(plan, Arc::clone(&self.task)).map_err(api)?;
        let mut response =
            crate::encode::query_response(&self.schema, batches, &Format::UnifiedText, options)?;
        if let Some(names) = &self.names {
            crate::column_names::rename(&mut response, names);
        }
        Ok(vec![Response::Query(response)])
    }
}

fn contains_ignore_case(text: &str, word: &str) -> bool {
    text.as_bytes()
        .windows(word.len())
        .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
}

/// No table, no extension, no command, no parameter, only immutable functions — in the plan
/// and in its subqueries.
fn is_constant(plan: &LogicalPlan) -> bool {
    let mut constant = true;
    let _ = plan.apply_with_subqueries(|node| {
        let allowed = matches!(
            node,
            LogicalPlan::Projection(_)
                | LogicalPlan::Filter(_)
                | LogicalPlan::Values(_)
                | LogicalPlan::EmptyRelation(_)
                | LogicalPlan::Limit(_)
                | LogicalPlan::SubqueryAlias(_)
                | LogicalPlan::Union(_)
                | LogicalPlan::Subquery(_)
        );
        if !allowed {
            constant = false;
            return Ok(TreeNodeRecursion::Stop);
        }
        node.apply_expressions(|expr| {
            expr.apply(|e| {
                let volatile = match e {
                    Expr::Placeholder(_) => true,
                    Expr::ScalarFunction(f) => {
                        f.func.signature().volatility != Volatility::Immutable
                    }
                    Expr::AggregateFunction(_) | Expr::WindowFunction(_) => true,
                    _ => false,
                };
                if volatile {
                    constant = false;
                    return Ok(TreeNodeRecursion::Stop);
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })?;
        Ok(if constant {
            TreeNodeRecursion::Continue
        } else {
            TreeNodeRecursion::Stop
        })
    });
    constant
}

/// Every operator of `plan` keeps no state between runs.
fn is_stateless(plan: &Arc<dyn ExecutionPlan>) -> bool {
    STATELESS.contains(&plan.name()) && plan.children().into_iter().all(is_stateless)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn planned(ctx: &SessionContext, sql: &str) -> Option<Reusable> {
        ConstantPlans::new(Arc::new(ctx.clone()))
            .plan(sql, sql)
            .await
    }

    #[tokio::test]
    async fn only_constant_statements_are_kept() {
        let ctx = SessionContext::new();
        ctx.sql("CREATE TABLE t AS VALUES (1), (2)")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        for sql in [
            "SELECT 1",
            "SELECT 1;",
            "select 'a' AS x, 2 + 3 AS y",
            "SELECT 1 UNION ALL SELECT 2",
        ] {
            assert!(planned(&ctx, sql).await.is_some(), "{sql}");
        }
        for sql in [
            "SELECT now()",
            "SELECT random()",
            "SELECT * FROM t",
            "SELECT (SELECT max(column1) FROM t)",
            "SELECT count(*)",
            "SELECT $1",
            "SELECT 1; SELECT 2",
            "CREATE TABLE u AS SELECT 1",
            "SELECT 1 INTO u",
            "EXPLAIN SELECT 1",
            "VALUES (1), (2)",
        ] {
            assert!(planned(&ctx, sql).await.is_none(), "{sql}");
        }
    }

    /// Runs leave the kept plan as it was (metrics accumulated in it, 1 kB a run, until
    /// fresh copies were run).
    #[tokio::test]
    async fn runs_leave_the_kept_plan_unchanged() {
        let ctx = SessionContext::new();
        let kept = planned(&ctx, "SELECT 1 AS one").await.unwrap();
        let client = datafusion_postgres::pgwire::api::DefaultClient::<()>::new(
            "127.0.0.1:1".parse().unwrap(),
            false,
        );
        for _ in 0..100 {
            let mut responses = kept.respond(&client).unwrap();
            let Some(Response::Query(mut q)) = responses.pop() else {
                panic!("rows expected");
            };
            let rows: Vec<_> = futures::StreamExt::collect(q.data_rows()).await;
            assert_eq!(rows.len(), 1);
        }
        let metrics = kept.plan.metrics().map_or(0, |m| m.iter().count());
        assert_eq!(metrics, 0);
    }

    #[test]
    fn words_are_found_in_any_case() {
        assert!(contains_ignore_case("SELECT x FrOm t", "from"));
        assert!(!contains_ignore_case("SELECT 1", "from"));
    }
}
