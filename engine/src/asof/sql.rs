//! ASOF JOIN from SQL text to the [`AsofJoin`] node.
//!
//! sqlparser parses `a ASOF JOIN b MATCH_CONDITION (…) [ON …]` in every dialect, but DataFusion
//! 55's SQL planner refuses the join operator, and its only relation hook, the
//! [`RelationPlanner`], is handed table factors, never a join. A *parenthesized* join is a table
//! factor (`TableFactor::NestedJoin`), so:
//!
//! 1. [`wrap_asof_joins`] rewrites the AST so each ASOF join and everything before it becomes a
//!    nested join: `a JOIN b ASOF JOIN c … JOIN d` → `(a JOIN b ASOF JOIN c …) JOIN d`. The
//!    rewritten statement prints as that SQL and parses back to the same tree, so text-based
//!    paths (the Postgres endpoint re-parses `statement.to_string()`) keep it;
//!    [`crate::rewrite_statement`] and [`crate::rewrite_sql`] apply it with the other rewrites.
//! 2. [`AsofRelationPlanner`], registered on every session, plans a nested join whose last join
//!    is an ASOF join: both sides through the normal planner, the conditions with
//!    `sql_to_expr`, and returns `LogicalPlan::Extension(AsofJoin)`.
//!
//! Users may also write the parenthesized form themselves; it needs no rewrite.

use std::ops::ControlFlow;

use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::planner::{
    PlannedRelation, RelationPlanner, RelationPlannerContext, RelationPlanning,
};
use datafusion::logical_expr::{Extension, LogicalPlan};
use datafusion::sql::sqlparser::ast::{
    Join, JoinConstraint, JoinOperator, Query, SetExpr, TableFactor, TableWithJoins, VisitMut,
    VisitorMut,
};
use std::sync::Arc;

use super::logical::AsofJoin;

fn is_asof(join: &Join) -> bool {
    matches!(join.join_operator, JoinOperator::AsOf { .. })
}

/// Rewrites every ASOF join of a statement (or any AST node) into the nested-join form the
/// planner sees. Returns whether anything changed. Idempotent.
pub fn wrap_asof_joins<T: VisitMut>(node: &mut T) -> bool {
    let mut wrapper = Wrapper { changed: false };
    let _ = node.visit(&mut wrapper);
    wrapper.changed
}

/// Whether SQL text may hold an ASOF join: a cheap test that keeps every other statement off
/// the parse-and-print path of [`crate::rewrite_sql`].
pub(crate) fn may_have_asof(sql: &str) -> bool {
    sql.as_bytes()
        .windows(4)
        .any(|w| w.eq_ignore_ascii_case(b"asof"))
}

struct Wrapper {
    changed: bool,
}

impl VisitorMut for Wrapper {
    type Break = ();

    // Post-order: the nested joins this creates are not visited again.
    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        self.set_expr(&mut query.body);
        ControlFlow::Continue(())
    }

    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::NestedJoin {
            table_with_joins, ..
        } = factor
        {
            self.changed |= wrap(table_with_joins, true);
        }
        ControlFlow::Continue(())
    }
}

impl Wrapper {
    fn set_expr(&mut self, body: &mut SetExpr) {
        match body {
            SetExpr::Select(select) => {
                for twj in &mut select.from {
                    self.changed |= wrap(twj, false);
                }
            }
            SetExpr::SetOperation { left, right, .. } => {
                self.set_expr(left);
                self.set_expr(right);
            }
            _ => {}
        }
    }
}

/// Folds `rel j1 … ASOF jk …` so each ASOF join ends a nested join. Inside a nested join
/// (`nested`) an ASOF join that is the last join already has the shape the planner needs.
fn wrap(twj: &mut TableWithJoins, nested: bool) -> bool {
    let Some(last) = twj.joins.iter().rposition(is_asof) else {
        return false;
    };
    let count = twj.joins.len();
    if nested && last + 1 == count && !twj.joins[..last].iter().any(is_asof) {
        return false;
    }
    let mut relation = twj.relation.clone();
    let mut pending = Vec::new();
    for (i, join) in std::mem::take(&mut twj.joins).into_iter().enumerate() {
        let asof = is_asof(&join);
        pending.push(join);
        if asof && !(nested && i + 1 == count) {
            relation = TableFactor::NestedJoin {
                table_with_joins: Box::new(TableWithJoins {
                    relation,
                    joins: std::mem::take(&mut pending),
                }),
                alias: None,
            };
        }
    }
    twj.relation = relation;
    twj.joins = pending;
    true
}

/// Plans `(… ASOF JOIN r MATCH_CONDITION (…) [ON …])` into an [`AsofJoin`] node.
#[derive(Debug, Default)]
pub struct AsofRelationPlanner;

impl RelationPlanner for AsofRelationPlanner {
    fn plan_relation(
        &self,
        relation: TableFactor,
        context: &mut dyn RelationPlannerContext,
    ) -> Result<RelationPlanning> {
        let TableFactor::NestedJoin {
            mut table_with_joins,
            alias,
        } = relation
        else {
            return Ok(RelationPlanning::Original(Box::new(relation)));
        };
        if !table_with_joins.joins.last().is_some_and(is_asof) {
            return Ok(RelationPlanning::Original(Box::new(
                TableFactor::NestedJoin {
                    table_with_joins,
                    alias,
                },
            )));
        }
        let Some(join) = table_with_joins.joins.pop() else {
            return plan_err!("ASOF JOIN: missing join");
        };
        let left_factor = if table_with_joins.joins.is_empty() {
            table_with_joins.relation
        } else {
            TableFactor::NestedJoin {
                table_with_joins,
                alias: None,
            }
        };
        let left = context.plan(left_factor)?;
        let right = context.plan(join.relation)?;
        let JoinOperator::AsOf {
            match_condition,
            constraint,
        } = join.join_operator
        else {
            return plan_err!("ASOF JOIN: expected an ASOF join operator");
        };
        let schema = left.schema().join(right.schema())?;
        let condition = context.sql_to_expr(match_condition, &schema)?;
        let on = match constraint {
            JoinConstraint::None => None,
            JoinConstraint::On(expr) => Some(context.sql_to_expr(expr, &schema)?),
            JoinConstraint::Using(_) => {
                return plan_err!("ASOF JOIN: USING is not supported; write ON l.k = r.k");
            }
            JoinConstraint::Natural => {
                return plan_err!(
                    "ASOF JOIN: NATURAL is not supported; name the keys with ON or USING"
                );
            }
        };
        let node = AsofJoin::try_new(left, right, condition, on)?;
        let plan = LogicalPlan::Extension(Extension {
            node: Arc::new(node),
        });
        Ok(RelationPlanning::Planned(Box::new(PlannedRelation::new(
            plan, alias,
        ))))
    }
}
