//! The logical ASOF join node, how it is built from planned inputs and conditions, and the
//! optimizer rule that pushes filters on left columns below it.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{
    Column, DFSchema, DFSchemaRef, Result, internal_datafusion_err, internal_err, plan_err,
};
use datafusion::logical_expr::expr::BinaryExpr;
use datafusion::logical_expr::type_coercion::binary::comparison_coercion;
use datafusion::logical_expr::utils::{conjunction, split_conjunction_owned};
use datafusion::logical_expr::{
    Expr, ExprSchemable, Extension, Filter, JoinType, LogicalPlan, Operator,
    UserDefinedLogicalNodeCore, build_join_schema,
};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

/// The comparison of `MATCH_CONDITION (left.ts OP right.ts)`, always written left first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd)]
pub enum AsofOp {
    /// `l >= r`: the latest right row at or before the left row.
    GtEq,
    /// `l > r`: the latest right row strictly before.
    Gt,
    /// `l <= r`: the earliest right row at or after.
    LtEq,
    /// `l < r`: the earliest right row strictly after.
    Lt,
}

impl AsofOp {
    fn from_operator(op: Operator) -> Option<Self> {
        Some(match op {
            Operator::GtEq => Self::GtEq,
            Operator::Gt => Self::Gt,
            Operator::LtEq => Self::LtEq,
            Operator::Lt => Self::Lt,
            _ => return None,
        })
    }

    /// The same condition written with its sides swapped (`r <= l` is `l >= r`).
    fn swapped(self) -> Self {
        match self {
            Self::GtEq => Self::LtEq,
            Self::Gt => Self::Lt,
            Self::LtEq => Self::GtEq,
            Self::Lt => Self::Gt,
        }
    }

    /// Whether the best right row precedes the left row (`>=`, `>`) rather than follows it.
    pub fn looks_back(self) -> bool {
        matches!(self, Self::GtEq | Self::Gt)
    }

    /// Whether a right row with a timestamp equal to the left row's can match.
    pub fn inclusive(self) -> bool {
        matches!(self, Self::GtEq | Self::LtEq)
    }
}

impl fmt::Display for AsofOp {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Self::GtEq => ">=",
            Self::Gt => ">",
            Self::LtEq => "<=",
            Self::Lt => "<",
        })
    }
}

/// `left ASOF JOIN right MATCH_CONDITION (left_ts op right_ts) ON on[0].0 = on[0].1 AND …`:
/// every left row once, with the columns of its best right row (NULLs when none).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AsofJoin {
    pub left: Arc<LogicalPlan>,
    pub right: Arc<LogicalPlan>,
    /// Equality keys, each already cast to a common type (left expression, right expression).
    pub on: Vec<(Expr, Expr)>,
    pub left_ts: Expr,
    pub right_ts: Expr,
    pub op: AsofOp,
    schema: DFSchemaRef,
}

// Plans are compared only to order equal-looking nodes; the schema follows from the inputs.
impl PartialOrd for AsofJoin {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (
            &self.left,
            &self.right,
            &self.on,
            &self.left_ts,
            &self.right_ts,
            self.op,
        )
            .partial_cmp(&(
                &other.left,
                &other.right,
                &other.on,
                &other.left_ts,
                &other.right_ts,
                other.op,
            ))
    }
}

/// Which input an expression reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

fn side_of(expr: &Expr, left: &DFSchema, right: &DFSchema) -> Option<Side> {
    let cols = expr.column_refs();
    if cols.is_empty() {
        return None;
    }
    if cols.iter().all(|c| left.has_column(c)) {
        Some(Side::Left)
    } else if cols.iter().all(|c| right.has_column(c)) {
        Some(Side::Right)
    } else {
        None
    }
}

impl AsofJoin {
    /// Builds the node from the planned inputs and the planned `MATCH_CONDITION` and `ON`
    /// expressions (`on` is `None` without an `ON` clause). Errors name what was expected.
    pub fn try_new(
        left: LogicalPlan,
        right: LogicalPlan,
        match_condition: Expr,
        on: Option<Expr>,
    ) -> Result<Self> {
        let (ls, rs) = (left.schema(), right.schema());
        let (left_ts, op, right_ts) = match match_condition {
            Expr::BinaryExpr(BinaryExpr {
                left: a,
                op,
                right: b,
            }) if !matches!(op, Operator::And | Operator::Or) => {
                let Some(asof_op) = AsofOp::from_operator(op) else {
                    return plan_err!(
                        "ASOF JOIN: MATCH_CONDITION must compare with >=, >, <= or <, got {op} in {a} {op} {b}"
                    );
                };
                match (side_of(&a, ls, rs), side_of(&b, ls, rs)) {
                    (Some(Side::Left), Some(Side::Right)) => (*a, asof_op, *b),
                    (Some(Side::Right), Some(Side::Left)) => (*b, asof_op.swapped(), *a),
                    _ => {
                        return plan_err!(
                            "ASOF JOIN: MATCH_CONDITION must compare a column of the left input with one of the right input, got {a} {op} {b}"
                        );
                    }
                }
            }
            other => {
                return plan_err!(
                    "ASOF JOIN: MATCH_CONDITION must be one comparison such as (l.ts >= r.ts), got {other}"
                );
            }
        };
        let (left_ts, right_ts) = coerce_pair("MATCH_CONDITION", left_ts, ls, right_ts, rs)?;
        let mut keys = Vec::new();
        for conjunct in on.map(split_conjunction_owned).unwrap_or_default() {
            let Expr::BinaryExpr(BinaryExpr {
                left: a,
                op: Operator::Eq,
                right: b,
            }) = conjunct
            else {
                return plan_err!(
                    "ASOF JOIN: ON must be equalities between left and right columns joined by AND, got {conjunct}"
                );
            };
            let (l, r) = match (side_of(&a, ls, rs), side_of(&b, ls, rs)) {
                (Some(Side::Left), Some(Side::Right)) => (*a, *b),
                (Some(Side::Right), Some(Side::Left)) => (*b, *a),
                _ => {
                    return plan_err!(
                        "ASOF JOIN: each ON equality must compare a left column with a right column, got {a} = {b}"
                    );
                }
            };
            keys.push(coerce_pair("ON", l, ls, r, rs)?);
        }
        Self::from_parts(Arc::new(left), Arc::new(right), keys, left_ts, right_ts, op)
    }

    fn from_parts(
        left: Arc<LogicalPlan>,
        right: Arc<LogicalPlan>,
        on: Vec<(Expr, Expr)>,
        left_ts: Expr,
        right_ts: Expr,
        op: AsofOp,
    ) -> Result<Self> {
        let schema = Arc::new(build_join_schema(
            left.schema(),
            right.schema(),
            &JoinType::Left,
        )?);
        Ok(Self {
            left,
            right,
            on,
            left_ts,
            right_ts,
            op,
            schema,
        })
    }

    fn left_width(&self) -> usize {
        self.left.schema().fields().len()
    }
}

/// Casts both sides of a comparison to their common type, or says why they cannot be compared.
fn coerce_pair(
    clause: &str,
    l: Expr,
    ls: &DFSchema,
    r: Expr,
    rs: &DFSchema,
) -> Result<(Expr, Expr)> {
    let (lt, rt) = (l.get_type(ls)?, r.get_type(rs)?);
    if lt == rt {
        return Ok((l, r));
    }
    // A string never silently becomes a number or a timestamp here: that cast fails (or
    // compares wrongly) row by row at run time instead of at planning.
    let common = (is_string(&lt) == is_string(&rt))
        .then(|| comparison_coercion(&lt, &rt))
        .flatten();
    let Some(common) = common else {
        return plan_err!("ASOF JOIN: {clause} cannot compare {l} ({lt}) with {r} ({rt})");
    };
    Ok((l.cast_to(&common, ls)?, r.cast_to(&common, rs)?))
}

fn is_string(t: &DataType) -> bool {
    match t {
        DataType::Dictionary(_, v) => is_string(v),
        t => matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View),
    }
}

impl UserDefinedLogicalNodeCore for AsofJoin {
    fn name(&self) -> &str {
        "AsofJoin"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.left, &self.right]
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    /// Left keys, right keys, then the two timestamps.
    fn expressions(&self) -> Vec<Expr> {
        let mut exprs: Vec<Expr> = self.on.iter().map(|(l, _)| l.clone()).collect();
        exprs.extend(self.on.iter().map(|(_, r)| r.clone()));
        exprs.push(self.left_ts.clone());
        exprs.push(self.right_ts.clone());
        exprs
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "AsofJoin: match=[{} {} {}], on=[",
            self.left_ts, self.op, self.right_ts
        )?;
        for (i, (l, r)) in self.on.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}({l}, {r})")?;
        }
        write!(f, "]")
    }

    fn with_exprs_and_inputs(&self, exprs: Vec<Expr>, inputs: Vec<LogicalPlan>) -> Result<Self> {
        let n = self.on.len();
        let [left, right]: [LogicalPlan; 2] = inputs.try_into().map_err(|v: Vec<_>| {
            internal_datafusion_err!("AsofJoin: expected 2 inputs, got {}", v.len())
        })?;
        if exprs.len() != 2 * n + 2 {
            return internal_err!(
                "AsofJoin: expected {} expressions, got {}",
                2 * n + 2,
                exprs.len()
            );
        }
        let mut exprs = exprs;
        let right_ts = exprs.pop();
        let left_ts = exprs.pop();
        let (Some(left_ts), Some(right_ts)) = (left_ts, right_ts) else {
            return internal_err!("AsofJoin: missing timestamp expressions");
        };
        let rights = exprs.split_off(n);
        let on = exprs.into_iter().zip(rights).collect();
        Self::from_parts(
            Arc::new(left),
            Arc::new(right),
            on,
            left_ts,
            right_ts,
            self.op,
        )
    }

    /// Output columns are the left's then the right's, so a parent's needs split by position;
    /// the optimizer adds the columns our own expressions read.
    fn necessary_children_exprs(&self, output_columns: &[usize]) -> Option<Vec<Vec<usize>>> {
        let width = self.left_width();
        let left = output_columns
            .iter()
            .copied()
            .filter(|&i| i < width)
            .collect();
        let right = output_columns
            .iter()
            .filter(|&&i| i >= width)
            .map(|&i| i - width)
            .collect();
        Some(vec![left, right])
    }
}

/// Pushes the conjuncts of a `WHERE` that read only left columns below the ASOF join, into its
/// left input. That is exact because each left row's output depends on that row alone.
/// DataFusion's generic extension push-down would copy the predicate into every input, so the
/// node keeps all its columns out of it (the default) and this rule does the left side.
#[derive(Debug, Default)]
pub struct PushLeftFiltersIntoAsof;

impl OptimizerRule for PushLeftFiltersIntoAsof {
    fn name(&self) -> &str {
        "asof_push_left_filters"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::TopDown)
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Filter(filter) = plan else {
            return Ok(Transformed::no(plan));
        };
        let Some(join) = as_asof(&filter.input) else {
            return Ok(Transformed::no(LogicalPlan::Filter(filter)));
        };
        let left_schema = join.left.schema();
        let right_cols: HashSet<Column> = join.right.schema().columns().into_iter().collect();
        let (mut push, mut keep) = (Vec::new(), Vec::new());
        for conjunct in split_conjunction_owned(filter.predicate.clone()) {
            let cols = conjunct.column_refs();
            let left_only = !cols.is_empty()
                && cols
                    .iter()
                    .all(|c| left_schema.has_column(c) && !right_cols.contains(c))
                && !conjunct.is_volatile();
            if left_only {
                push.push(conjunct);
            } else {
                keep.push(conjunct);
            }
        }
        let Some(pushed) = conjunction(push) else {
            return Ok(Transformed::no(LogicalPlan::Filter(filter)));
        };
        let new_left = LogicalPlan::Filter(Filter::try_new(pushed, Arc::clone(&join.left))?);
        let new_join = AsofJoin::from_parts(
            Arc::new(new_left),
            Arc::clone(&join.right),
            join.on.clone(),
            join.left_ts.clone(),
            join.right_ts.clone(),
            join.op,
        )?;
        let node = LogicalPlan::Extension(Extension {
            node: Arc::new(new_join),
        });
        Ok(Transformed::yes(match conjunction(keep) {
            Some(rest) => LogicalPlan::Filter(Filter::try_new(rest, Arc::new(node))?),
            None => node,
        }))
    }
}

fn as_asof(plan: &LogicalPlan) -> Option<&AsofJoin> {
    match plan {
        LogicalPlan::Extension(ext) => ext.node.as_any().downcast_ref::<AsofJoin>(),
        _ => None,
    }
}
