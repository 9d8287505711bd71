//! Gap filling: `time_bucket_gapfill` in a `GROUP BY`, with `locf(…)` and `interpolate(…)`.
//!
//! [`GapFillRule`] (an analyzer rule, so it sees the query as written, before filters are pushed
//! into scans) finds the aggregate grouped by `time_bucket_gapfill(width, ts, …)`, turns that key
//! into `time_bucket(width, ts, …)` under the same name, takes the bounds on `ts` from the
//! `WHERE` clause below it, and puts a [`GapFill`] node on top of the aggregate. The `locf` and
//! `interpolate` markers in the projection above become plain column references, and the node
//! records which column gets which filling. [`exec::GapFillExec`] does the work: it reads the
//! aggregate sorted by (group keys, bucket) and emits every bucket of every group.

pub mod exec;

use std::fmt;
use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema, DFSchemaRef, Result, plan_err};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{
    Aggregate, BinaryExpr, Expr, Extension, LogicalPlan, Operator, Projection, ScalarUDF,
    UserDefinedLogicalNodeCore,
};
use datafusion::optimizer::AnalyzerRule;
use sigfuse_udfs::time::{interpolate, locf, time_bucket::TimeBucket, time_bucket_gapfill};

/// How an aggregate column is filled in the buckets that had no rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Hash)]
pub enum Fill {
    Locf,
    Interpolate,
}

/// A bound on `ts` taken from the `WHERE` clause: a constant expression and whether it is
/// included.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Hash)]
pub struct Bound {
    pub expr: Expr,
    pub inclusive: bool,
}

/// The logical gap-fill node over an aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GapFill {
    pub input: LogicalPlan,
    /// `time_bucket_gapfill`'s arguments without `ts`: width, then origin/offset/zone.
    pub bucket_args: Vec<Expr>,
    pub time_column: Column,
    pub group_columns: Vec<Column>,
    /// The aggregate columns (NULL in filled rows).
    pub aggregates: Vec<Column>,
    /// Extra output columns, after the input's: an aggregate column filled another way
    /// (`locf(avg(v))` next to a plain `avg(v)`), under the name of the marker call.
    pub fills: Vec<(Column, Fill, String)>,
    pub lower: Vec<Bound>,
    pub upper: Vec<Bound>,
    schema: DFSchemaRef,
}

impl GapFill {
    #[allow(clippy::too_many_arguments)] // private; every field is its own argument
    fn new(
        input: LogicalPlan,
        bucket_args: Vec<Expr>,
        time_column: Column,
        group_columns: Vec<Column>,
        aggregates: Vec<Column>,
        fills: Vec<(Column, Fill, String)>,
        lower: Vec<Bound>,
        upper: Vec<Bound>,
    ) -> Result<Self> {
        // Filled rows have NULLs in every aggregate column, `count` included.
        let in_schema = input.schema();
        let mut fields: Vec<_> = in_schema
            .iter()
            .map(|(q, f)| (q.cloned(), Arc::new(f.as_ref().clone().with_nullable(true))))
            .collect();
        for (source, _, name) in &fills {
            let (_, field) = in_schema.qualified_field_from_column(source)?;
            fields.push((
                None,
                Arc::new(field.as_ref().clone().with_name(name).with_nullable(true)),
            ));
        }
        let schema = Arc::new(DFSchema::new_with_metadata(
            fields,
            in_schema.metadata().clone(),
        )?);
        Ok(Self {
            input,
            bucket_args,
            time_column,
            group_columns,
            aggregates,
            fills,
            lower,
            upper,
            schema,
        })
    }
}

// The schema follows from the rest; order by the other fields.
impl PartialOrd for GapFill {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        (
            &self.input,
            &self.bucket_args,
            &self.group_columns,
            &self.fills,
            &self.lower,
            &self.upper,
        )
            .partial_cmp(&(
                &other.input,
                &other.bucket_args,
                &other.group_columns,
                &other.fills,
                &other.lower,
                &other.upper,
            ))
    }
}

impl UserDefinedLogicalNodeCore for GapFill {
    fn name(&self) -> &str {
        "GapFill"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.input]
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    fn expressions(&self) -> Vec<Expr> {
        let bounds = self.lower.iter().chain(&self.upper).map(|b| b.expr.clone());
        self.bucket_args.iter().cloned().chain(bounds).collect()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let args: Vec<String> = self.bucket_args.iter().map(|e| e.to_string()).collect();
        let fills: Vec<String> = self
            .fills
            .iter()
            .map(|(c, fill, _)| format!("{fill:?}({})", c.name))
            .collect();
        let bound = |b: &[Bound], incl: &str, excl: &str| -> String {
            b.iter()
                .map(|b| format!("{} {}", if b.inclusive { incl } else { excl }, b.expr))
                .collect::<Vec<_>>()
                .join(", ")
        };
        write!(
            f,
            "GapFill: every=[{}], groups=[{}], range=[{}; {}], fill=[{}]",
            args.join(", "),
            self.group_columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            bound(&self.lower, ">=", ">"),
            bound(&self.upper, "<=", "<"),
            fills.join(", ")
        )
    }

    fn with_exprs_and_inputs(
        &self,
        exprs: Vec<Expr>,
        mut inputs: Vec<LogicalPlan>,
    ) -> Result<Self> {
        let Some(input) = inputs.pop() else {
            return plan_err!("GapFill: expected one input");
        };
        let (n_args, n_lower) = (self.bucket_args.len(), self.lower.len());
        if exprs.len() != n_args + n_lower + self.upper.len() {
            return plan_err!(
                "GapFill: expected {} expressions, got {}",
                n_args + n_lower + self.upper.len(),
                exprs.len()
            );
        }
        let rebound = |old: &[Bound], new: &[Expr]| -> Vec<Bound> {
            old.iter()
                .zip(new)
                .map(|(b, e)| Bound {
                    expr: e.clone(),
                    inclusive: b.inclusive,
                })
                .collect()
        };
        Self::new(
            input,
            exprs[..n_args].to_vec(),
            self.time_column.clone(),
            self.group_columns.clone(),
            self.aggregates.clone(),
            self.fills.clone(),
            rebound(&self.lower, &exprs[n_args..n_args + n_lower]),
            rebound(&self.upper, &exprs[n_args + n_lower..]),
        )
    }

    fn prevent_predicate_push_down_columns(&self) -> std::collections::HashSet<String> {
        // Filtering below would change which buckets exist: only group keys may pass.
        let groups: std::collections::HashSet<&str> =
            self.group_columns.iter().map(|c| c.name.as_str()).collect();
        self.schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|n| !groups.contains(n.as_str()))
            .collect()
    }
}

/// The analyzer rule that plans gap filling (see the module doc).
#[derive(Debug, Default)]
pub struct GapFillRule;

fn called<'a>(e: &'a Expr, name: &str) -> Option<&'a ScalarFunction> {
    match e {
        Expr::ScalarFunction(f) if f.func.name() == name => Some(f),
        Expr::Alias(a) => called(&a.expr, name),
        _ => None,
    }
}

fn stop_if(done: bool) -> TreeNodeRecursion {
    if done {
        TreeNodeRecursion::Stop
    } else {
        TreeNodeRecursion::Continue
    }
}

/// Whether `e` calls `time_bucket_gapfill`, `locf` or `interpolate` anywhere.
fn has_marker(e: &Expr) -> bool {
    const MARKERS: [&str; 3] = [time_bucket_gapfill::NAME, locf::NAME, interpolate::NAME];
    e.exists(|x| Ok(matches!(x, Expr::ScalarFunction(f) if MARKERS.contains(&f.func.name()))))
        .unwrap_or(false)
}

fn mentions(e: &Expr, name: &str) -> bool {
    e.exists(|e| Ok(matches!(e, Expr::ScalarFunction(f) if f.func.name() == name)))
        .unwrap_or(false)
}

impl AnalyzerRule for GapFillRule {
    fn name(&self) -> &str {
        "sigfuse_gap_fill"
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        // Every query passes here: one walk, no expression clones, until a marker is found.
        let mut seen = false;
        plan.apply_with_subqueries(|p| {
            p.apply_expressions(|e| {
                seen |= has_marker(e);
                Ok(stop_if(seen))
            })?;
            Ok(stop_if(seen))
        })?;
        if !seen {
            return Ok(plan);
        }
        let plan = plan.transform_up_with_subqueries(rewrite)?.data;
        // Anything left was used where gap filling has no meaning.
        let mut misuse = None;
        plan.apply_with_subqueries(|p| {
            for e in p.expressions() {
                if mentions(&e, time_bucket_gapfill::NAME) {
                    misuse = Some(format!(
                        "{}: only valid as a GROUP BY key of an aggregate query",
                        time_bucket_gapfill::NAME
                    ));
                } else if let Some(n) = [locf::NAME, interpolate::NAME]
                    .into_iter()
                    .find(|n| mentions(&e, n))
                {
                    misuse = Some(format!(
                        "{n}: only valid around an aggregate of a query grouped by {}",
                        time_bucket_gapfill::NAME
                    ));
                }
            }
            Ok(if misuse.is_some() {
                TreeNodeRecursion::Stop
            } else {
                TreeNodeRecursion::Continue
            })
        })?;
        match misuse {
            Some(m) => plan_err!("{m}"),
            None => Ok(plan),
        }
    }
}

fn rewrite(plan: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    match plan {
        LogicalPlan::Aggregate(agg)
            if agg
                .group_expr
                .iter()
                .any(|e| called(e, time_bucket_gapfill::NAME).is_some()) =>
        {
            Ok(Transformed::yes(plan_aggregate(agg)?))
        }
        LogicalPlan::Projection(p) if gapfill_below(&p.input) => {
            Ok(Transformed::yes(plan_projection(p)?))
        }
        other => Ok(Transformed::no(other)),
    }
}

fn gapfill_node(plan: &LogicalPlan) -> Option<&GapFill> {
    match plan {
        LogicalPlan::Extension(Extension { node }) => node.as_any().downcast_ref::<GapFill>(),
        _ => None,
    }
}

/// True when `plan` is a GapFill, or a HAVING filter over one.
fn gapfill_below(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Filter(f) => gapfill_node(&f.input).is_some(),
        other => gapfill_node(other).is_some(),
    }
}

fn plan_aggregate(agg: Aggregate) -> Result<LogicalPlan> {
    let who = time_bucket_gapfill::NAME;
    if agg
        .group_expr
        .iter()
        .any(|e| matches!(e, Expr::GroupingSet(_)))
    {
        return plan_err!("{who}: GROUPING SETS, CUBE and ROLLUP cannot be gap-filled");
    }
    let keys: Vec<usize> = (0..agg.group_expr.len())
        .filter(|&i| called(&agg.group_expr[i], who).is_some())
        .collect();
    let &[key] = keys.as_slice() else {
        return plan_err!(
            "{who}: a query can group by one time_bucket_gapfill, got {}",
            keys.len()
        );
    };
    let Some(call) = called(&agg.group_expr[key], who) else {
        return plan_err!("{who}: GROUP BY key vanished while planning");
    };
    let (args, ts) = (call.args.clone(), call.args[1].clone());
    let (lower, upper) = bounds(&agg.input, &ts)?;
    if lower.is_empty() || upper.is_empty() {
        return plan_err!(
            "{who}: the WHERE clause must bound {ts} from below and above with constants \
             (e.g. {ts} >= TIMESTAMP '…' AND {ts} < TIMESTAMP '…'), so the buckets to fill are known"
        );
    }
    let bucket = Expr::ScalarFunction(ScalarFunction::new_udf(
        Arc::new(ScalarUDF::from(TimeBucket::new())),
        args.clone(),
    ));
    let name = agg.schema.field(key).name().clone();
    let mut group_expr = agg.group_expr.clone();
    group_expr[key] = bucket.alias(name);
    let n_groups = group_expr.len();
    let aggregate =
        LogicalPlan::Aggregate(Aggregate::try_new(agg.input, group_expr, agg.aggr_expr)?);
    let schema = aggregate.schema();
    let column = |i: usize| Column::from(schema.qualified_field(i));
    let group_columns = (0..n_groups).filter(|&i| i != key).map(column).collect();
    let aggregates = (n_groups..schema.fields().len()).map(column).collect();
    let mut bucket_args = vec![args[0].clone()];
    bucket_args.extend(args[2..].iter().cloned());
    let node = GapFill::new(
        aggregate.clone(),
        bucket_args,
        column(key),
        group_columns,
        aggregates,
        vec![],
        lower,
        upper,
    )?;
    Ok(LogicalPlan::Extension(Extension {
        node: Arc::new(node),
    }))
}

/// Bounds on `ts` in the filters below the aggregate (through projections and aliases).
fn bounds(plan: &LogicalPlan, ts: &Expr) -> Result<(Vec<Bound>, Vec<Bound>)> {
    let (mut lower, mut upper) = (Vec::new(), Vec::new());
    let mut node = plan;
    loop {
        match node {
            LogicalPlan::Filter(f) => {
                for c in datafusion::logical_expr::utils::split_conjunction(&f.predicate) {
                    collect_bound(c, ts, &mut lower, &mut upper);
                }
                node = &f.input;
            }
            LogicalPlan::Projection(Projection { input, .. }) => node = input,
            _ => break,
        }
    }
    Ok((lower, upper))
}

fn constant(e: &Expr) -> bool {
    e.column_refs().is_empty() && !e.is_volatile()
}

fn strip_cast(e: &Expr) -> &Expr {
    match e {
        Expr::Cast(c) => strip_cast(&c.expr),
        Expr::TryCast(c) => strip_cast(&c.expr),
        other => other,
    }
}

fn collect_bound(c: &Expr, ts: &Expr, lower: &mut Vec<Bound>, upper: &mut Vec<Bound>) {
    let same = |e: &Expr| strip_cast(e) == strip_cast(ts);
    match c {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let (op, other) = if same(left) && constant(right) {
                (*op, right.as_ref())
            } else if same(right) && constant(left) {
                match op.swap() {
                    Some(op) => (op, left.as_ref()),
                    None => return,
                }
            } else {
                return;
            };
            let bound = |inclusive| Bound {
                expr: other.clone(),
                inclusive,
            };
            match op {
                Operator::GtEq => lower.push(bound(true)),
                Operator::Gt => lower.push(bound(false)),
                Operator::LtEq => upper.push(bound(true)),
                Operator::Lt => upper.push(bound(false)),
                Operator::Eq => {
                    lower.push(bound(true));
                    upper.push(bound(true));
                }
                _ => {}
            }
        }
        Expr::Between(b)
            if !b.negated && same(&b.expr) && constant(&b.low) && constant(&b.high) =>
        {
            lower.push(Bound {
                expr: (*b.low).clone(),
                inclusive: true,
            });
            upper.push(Bound {
                expr: (*b.high).clone(),
                inclusive: true,
            });
        }
        _ => {}
    }
}

/// Replaces `locf(col)` / `interpolate(col)` in the projection over a GapFill by a reference to
/// an extra column of the node that holds `col` filled that way.
fn plan_projection(p: Projection) -> Result<LogicalPlan> {
    let (filter, node) = match p.input.as_ref() {
        LogicalPlan::Filter(f) => (Some(f.clone()), gapfill_node(&f.input)),
        other => (None, gapfill_node(other)),
    };
    let Some(node) = node else {
        return plan_err!("GapFill: projection lost its input while planning");
    };
    let mut fills = node.fills.clone();
    let mut exprs = Vec::with_capacity(p.expr.len());
    for e in p.expr {
        let shown = e.schema_name().to_string();
        let out = e.transform_up(|e| {
            let fill = match &e {
                Expr::ScalarFunction(f) if f.func.name() == locf::NAME => Fill::Locf,
                Expr::ScalarFunction(f) if f.func.name() == interpolate::NAME => Fill::Interpolate,
                _ => return Ok(Transformed::no(e)),
            };
            let name = e.schema_name().to_string();
            let Expr::ScalarFunction(f) = e else {
                return Ok(Transformed::no(e));
            };
            let who = f.func.name().to_string();
            let Some(Expr::Column(col)) = f.args.first().map(strip_cast) else {
                return plan_err!(
                    "{who}: the argument must be an aggregate of the query, got {}",
                    f.args.first().map(|a| a.to_string()).unwrap_or_default()
                );
            };
            if !node.aggregates.contains(col) {
                return plan_err!(
                    "{who}: the argument must be an aggregate, not a GROUP BY key, got {col}"
                );
            }
            if !fills.iter().any(|(c, f, _)| c == col && *f == fill) {
                fills.push((col.clone(), fill, name.clone()));
            }
            let name = fills
                .iter()
                .find(|(c, f, _)| c == col && *f == fill)
                .map(|(_, _, n)| n.clone())
                .unwrap_or(name);
            Ok(Transformed::yes(Expr::Column(Column::from_name(name))))
        })?;
        // Keep the name the user sees (`locf(avg(x))` unless aliased).
        exprs.push(if out.transformed {
            out.data.alias_if_changed(shown)?
        } else {
            out.data
        });
    }
    let node = GapFill::new(
        node.input.clone(),
        node.bucket_args.clone(),
        node.time_column.clone(),
        node.group_columns.clone(),
        node.aggregates.clone(),
        fills,
        node.lower.clone(),
        node.upper.clone(),
    )?;
    let gap = LogicalPlan::Extension(Extension {
        node: Arc::new(node),
    });
    let input = match filter {
        Some(mut f) => {
            f.input = Arc::new(gap);
            LogicalPlan::Filter(f)
        }
        None => gap,
    };
    Ok(LogicalPlan::Projection(Projection::try_new(
        exprs,
        Arc::new(input),
    )?))
}
