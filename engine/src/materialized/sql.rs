//! `WITH name AS MATERIALIZED (…)` from SQL text to the [`MaterializedCte`] node.
//!
//! sqlparser parses the PostgreSQL hint into `Cte.materialized`, and DataFusion 55's planner
//! ignores it: it plans each CTE once and inlines a copy at every reference. Its only relation
//! hook, the [`RelationPlanner`], sees table factors, never a CTE, so:
//!
//! 1. [`mark_materialized`] rewrites the AST: `x AS MATERIALIZED (body)` becomes
//!    `x AS (SELECT * FROM (body) AS "__sigfuse_materialized x")`. The rewritten statement
//!    prints as that SQL and parses back to the same tree, so text-based paths (the Postgres
//!    endpoint re-parses `statement.to_string()`) keep it. `AS NOT MATERIALIZED` loses its
//!    hint: inlining is what DataFusion does anyway; so does a CTE of `WITH RECURSIVE`, which
//!    DataFusion computes once through its work table.
//! 2. [`MaterializedRelationPlanner`], registered on every session, plans a derived table with
//!    that alias through the normal planner and wraps it in [`MaterializedCte`] with a fresh id.
//!    DataFusion then inlines the CTE as before, so every reference holds a copy of the node
//!    with the same id, which is what the physical side shares.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::common::Result;
use datafusion::logical_expr::planner::{
    PlannedRelation, RelationPlanner, RelationPlannerContext, RelationPlanning,
};
use datafusion::logical_expr::{Extension, LogicalPlan};
use datafusion::sql::sqlparser::ast::{
    CteAsMaterialized, Query, SetExpr, TableFactor, VisitMut, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

use super::logical::MaterializedCte;

/// The alias prefix that marks a derived table as a materialized CTE's body; the CTE's name
/// follows after one space.
const MARK: &str = "__sigfuse_materialized ";

/// Rewrites every `AS MATERIALIZED` CTE of a statement (or any AST node) into the form the
/// relation planner recognizes, and drops `AS NOT MATERIALIZED` hints. Returns whether
/// anything changed. Idempotent.
pub fn mark_materialized<T: VisitMut>(node: &mut T) -> bool {
    let mut marker = Marker { changed: false };
    let _ = node.visit(&mut marker);
    marker.changed
}

/// Whether SQL text may hold a hint [`mark_materialized`] rewrites: a cheap test that keeps
/// every other statement off the parse-and-print path.
pub(crate) fn may_have_hint(sql: &str) -> bool {
    sql.as_bytes()
        .windows(12)
        .any(|w| w.eq_ignore_ascii_case(b"materialized"))
}

struct Marker {
    changed: bool,
}

impl VisitorMut for Marker {
    type Break = ();

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        let Some(with) = query.with.as_mut() else {
            return ControlFlow::Continue(());
        };
        let recursive = with.recursive;
        for cte in &mut with.cte_tables {
            match cte.materialized.take() {
                None => {}
                Some(CteAsMaterialized::NotMaterialized) => self.changed = true,
                // A recursive CTE is computed once anyway (DataFusion's work table), and its
                // body must stay the `UNION` DataFusion recognizes.
                Some(CteAsMaterialized::Materialized) if recursive => self.changed = true,
                Some(CteAsMaterialized::Materialized) => {
                    // A quoted identifier always parses; were it not to, the CTE is inlined.
                    if let Some(outer) = wrap(&cte.alias.name.value, &mut cte.query) {
                        cte.query = outer;
                    }
                    self.changed = true;
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// `SELECT * FROM (body) AS "__sigfuse_materialized name"`: `body` moves into the derived
/// table (and is left as `SELECT 1`); `None`, with `body` untouched, if that fails.
fn wrap(name: &str, body: &mut Box<Query>) -> Option<Box<Query>> {
    let sql = format!(
        "SELECT * FROM (SELECT 1) AS \"{MARK}{}\"",
        name.replace('"', "\"\"")
    );
    let mut outer = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(&sql)
        .and_then(|mut p| p.parse_query())
        .ok()?;
    if let SetExpr::Select(select) = outer.body.as_mut()
        && let Some(twj) = select.from.first_mut()
        && let TableFactor::Derived { subquery, .. } = &mut twj.relation
    {
        std::mem::swap(subquery, body);
        return Some(outer);
    }
    None
}

/// Plans `(body) AS "__sigfuse_materialized name"` into a [`MaterializedCte`] node.
#[derive(Debug, Default)]
pub struct MaterializedRelationPlanner;

/// Ids of planned materialized CTEs: unique in the process, so two CTEs never share a buffer.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl RelationPlanner for MaterializedRelationPlanner {
    fn plan_relation(
        &self,
        relation: TableFactor,
        context: &mut dyn RelationPlannerContext,
    ) -> Result<RelationPlanning> {
        let name = match &relation {
            TableFactor::Derived {
                alias: Some(alias), ..
            } => alias.name.value.strip_prefix(MARK).map(str::to_string),
            _ => None,
        };
        let (
            Some(name),
            TableFactor::Derived {
                lateral, subquery, ..
            },
        ) = (name, relation.clone())
        else {
            return Ok(RelationPlanning::Original(Box::new(relation)));
        };
        let input = context.plan(TableFactor::Derived {
            lateral,
            subquery,
            alias: None,
            sample: None,
        })?;
        let node = MaterializedCte::new(name, NEXT_ID.fetch_add(1, Ordering::Relaxed), input);
        let plan = LogicalPlan::Extension(Extension {
            node: Arc::new(node),
        });
        Ok(RelationPlanning::Planned(Box::new(PlannedRelation::new(
            plan, None,
        ))))
    }
}
