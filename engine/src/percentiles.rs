//! Several `percentile_cont` of one value in one aggregate, computed from one copy of the values.
//!
//! DataFusion's exact `percentile_cont` keeps every value of a group, so a query asking for p50,
//! p95 and p99 of the same latency (the dashboards' usual trio, and `signal_windows`) keeps,
//! ships between the partial and final aggregates, and partitions three copies of every value.
//! [`FusePercentiles`] is an optimizer rule that replaces the `percentile_cont` calls of one
//! `Aggregate` that read the same value with the same filter by one [`PercentileSet`] call,
//! which keeps the values once and returns every percentile as a field of a struct, and puts a
//! projection above that names the fields as the original calls were named. The answers are
//! exactly `percentile_cont`'s: the same ranks `p × (n − 1)`, the same interpolation.
//!
//! Measured on the 1-hour, 40-service demo lake (`benches/peers.py` q2): see docs/benchmarks.md.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Float64Builder, ListArray, StructArray,
};
use datafusion::arrow::buffer::{OffsetBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::tree_node::Transformed;
use datafusion::common::{Column, Result, ScalarValue, internal_err};
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, Aggregate, AggregateUDF, AggregateUDFImpl, EmitTo, Expr, ExprSchemable,
    GroupsAccumulator, LogicalPlan, Projection, Signature, Volatility,
};
use datafusion::optimizer::optimizer::ApplyOrder;
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use datafusion::physical_expr::expressions::Literal;

/// The name the fused call shows in `EXPLAIN`.
pub const NAME: &str = "percentile_cont_set";

/// The optimizer rule: fuses the `percentile_cont` calls of an `Aggregate` that share a value.
#[derive(Debug, Default)]
pub struct FusePercentiles;

/// What a `percentile_cont` call reads, when it can be fused: its value (without an alias) and
/// filter; and the percentile it asks for, with `ORDER BY … DESC` turned into `1 − p`.
fn fusable(e: &Expr, input: &datafusion::common::DFSchema) -> Option<((Expr, Option<Expr>), f64)> {
    let Expr::AggregateFunction(AggregateFunction { func, params }) = e else {
        return None;
    };
    if func.name() != "percentile_cont"
        || params.distinct
        || params.null_treatment.is_some()
        || params.args.len() != 2
        || params.order_by.len() > 1
    {
        return None;
    }
    let value = params.args[0].clone().unalias();
    // percentile_cont coerces its value to Float64 unless it is a narrower float.
    if value.get_type(input).ok()? != DataType::Float64 {
        return None;
    }
    let Expr::Literal(ScalarValue::Float64(Some(p)), _) = params.args[1].clone().unalias() else {
        return None;
    };
    // An out-of-range percentile stays with percentile_cont, which reports it.
    if !(0.0..=1.0).contains(&p) {
        return None;
    }
    let descending = params.order_by.first().is_some_and(|s| !s.asc);
    let p = if descending { 1.0 - p } else { p };
    Some(((value, params.filter.as_deref().cloned()), p))
}

impl OptimizerRule for FusePercentiles {
    fn name(&self) -> &str {
        "fuse_percentiles"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Aggregate(agg) = plan else {
            return Ok(Transformed::no(plan));
        };
        // Calls by what they read (value and filter), in the order they first appear, each
        // with its (aggregate index, percentile) pairs; only groups of two or more are fused.
        type Key = (Expr, Option<Expr>);
        let mut groups: Vec<(Key, Vec<(usize, f64)>)> = Vec::new();
        for (i, e) in agg.aggr_expr.iter().enumerate() {
            if let Some((key, p)) = fusable(e, agg.input.schema()) {
                match groups.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, members)) => members.push((i, p)),
                    None => groups.push((key, vec![(i, p)])),
                }
            }
        }
        groups.retain(|(_, m)| m.len() > 1);
        if groups.is_empty() {
            return Ok(Transformed::no(LogicalPlan::Aggregate(agg)));
        }
        // Aggregate index -> (group, field of the group's struct).
        let fused: HashMap<usize, (usize, usize)> = groups
            .iter()
            .enumerate()
            .flat_map(|(g, (_, m))| m.iter().enumerate().map(move |(j, (i, _))| (*i, (g, j))))
            .collect();
        // The new aggregate: the calls that stay, then one set per group.
        let mut aggr_expr: Vec<Expr> = agg
            .aggr_expr
            .iter()
            .enumerate()
            .filter(|(i, _)| !fused.contains_key(i))
            .map(|(_, e)| e.clone())
            .collect();
        let mut set_names = Vec::with_capacity(groups.len());
        for ((value, filter), members) in &groups {
            let mut args = vec![value.clone()];
            args.extend(
                members
                    .iter()
                    .map(|(_, p)| Expr::Literal(ScalarValue::Float64(Some(*p)), None)),
            );
            let call = Expr::AggregateFunction(AggregateFunction::new_udf(
                Arc::new(AggregateUDF::new_from_impl(PercentileSet::new())),
                args,
                false,
                filter.clone().map(Box::new),
                vec![],
                None,
            ));
            set_names.push(call.schema_name().to_string());
            aggr_expr.push(call);
        }
        let old_schema = Arc::clone(&agg.schema);
        let group_count = old_schema.fields().len() - agg.aggr_expr.len();
        let new = Aggregate::try_new(Arc::clone(&agg.input), agg.group_expr.clone(), aggr_expr)?;
        // The projection: every column of the old aggregate under its old name.
        let exprs = old_schema
            .iter()
            .enumerate()
            .map(|(i, (qualifier, field))| {
                let Some((g, j)) = i.checked_sub(group_count).and_then(|a| fused.get(&a)) else {
                    return Expr::Column(Column::from((qualifier, field)));
                };
                let set = Expr::Column(Column::from_name(set_names[*g].clone()));
                datafusion::functions::core::expr_fn::get_field(set, field_name(*j))
                    .alias_qualified(qualifier.cloned(), field.name())
            })
            .collect();
        let projection = Projection::try_new(exprs, Arc::new(LogicalPlan::Aggregate(new)))?;
        Ok(Transformed::yes(LogicalPlan::Projection(projection)))
    }
}

fn field_name(j: usize) -> String {
    format!("p{j}")
}

/// `percentile_cont_set(value, p0, p1, …)`: `{p0: …, p1: …}`, each field what
/// `percentile_cont(p_j) WITHIN GROUP (ORDER BY value)` returns. Made only by [`FusePercentiles`].
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PercentileSet {
    signature: Signature,
}

impl PercentileSet {
    pub fn new() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl Default for PercentileSet {
    fn default() -> Self {
        Self::new()
    }
}

fn result_fields(n: usize) -> Fields {
    (0..n)
        .map(|j| Field::new(field_name(j), DataType::Float64, true))
        .collect()
}

/// The percentiles, from the literal arguments after the value.
fn percentiles(args: &AccumulatorArgs) -> Result<Vec<f64>> {
    args.exprs[1..]
        .iter()
        .map(|e| match e.downcast_ref::<Literal>().map(Literal::value) {
            Some(ScalarValue::Float64(Some(p))) => Ok(*p),
            _ => internal_err!("{NAME}: percentiles must be Float64 literals, got {e}"),
        })
        .collect()
}

impl AggregateUDFImpl for PercentileSet {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if arg_types.len() < 2 || arg_types[0] != DataType::Float64 {
            return internal_err!("{NAME}: a Float64 value and percentiles, got {arg_types:?}");
        }
        Ok(DataType::Struct(result_fields(arg_types.len() - 1)))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let item = Field::new_list_field(DataType::Float64, true);
        Ok(vec![Arc::new(Field::new(
            format!("{}[values]", args.name),
            DataType::List(Arc::new(item)),
            true,
        ))])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(SetAccumulator {
            values: Vec::new(),
            ps: percentiles(&args)?,
        }))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(SetGroupsAccumulator {
            groups: Vec::new(),
            ps: percentiles(&args)?,
        }))
    }
}

/// The percentiles of `values`, as `percentile_cont` computes each: the value at rank
/// `p × (n − 1)`, interpolated linearly (with its weight quantized to 1e-6) between the two
/// ranks around it. The ranks are found with selections on ever shorter tails of `values`.
fn compute(values: &mut [f64], ps: &[f64]) -> Vec<Option<f64>> {
    const PRECISION: f64 = 1_000_000.0;
    let n = values.len();
    if n == 0 {
        return vec![None; ps.len()];
    }
    let index = |p: f64| p * ((n - 1) as f64);
    let mut ranks: Vec<usize> = ps
        .iter()
        .flat_map(|p| [index(*p).floor() as usize, index(*p).ceil() as usize])
        .collect();
    ranks.sort_unstable();
    ranks.dedup();
    // Each selection puts the value of rank `r` at `values[r]` and leaves everything before
    // it alone, so after the loop every needed rank's value is at its own index.
    let mut start = 0;
    for r in ranks {
        values[start..].select_nth_unstable_by(r - start, |a, b| a.total_cmp(b));
        start = r + 1;
    }
    ps.iter()
        .map(|p| {
            let i = index(*p);
            let (lo, hi) = (values[i.floor() as usize], values[i.ceil() as usize]);
            if i.floor() == i.ceil() {
                return Some(lo);
            }
            let weight = ((i - i.floor()) * PRECISION) as usize as f64 / PRECISION;
            Some(lo + (hi - lo) * weight)
        })
        .collect()
}

/// The result struct of one row per group.
fn to_struct(rows: impl Iterator<Item = Vec<Option<f64>>>, n_ps: usize) -> ArrayRef {
    let mut builders: Vec<Float64Builder> = (0..n_ps).map(|_| Float64Builder::new()).collect();
    for row in rows {
        for (b, v) in builders.iter_mut().zip(row) {
            b.append_option(v);
        }
    }
    let columns: Vec<ArrayRef> = builders
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as ArrayRef)
        .collect();
    Arc::new(StructArray::new(result_fields(n_ps), columns, None))
}

/// The values of each group in one list array (the partial aggregate's state).
fn to_list(groups: Vec<Vec<f64>>) -> ArrayRef {
    let lengths = groups.iter().map(Vec::len);
    let offsets = OffsetBuffer::from_lengths(lengths);
    let values = Float64Array::new(ScalarBuffer::from(groups.concat()), None);
    Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(DataType::Float64, true)),
        offsets,
        Arc::new(values),
        None,
    ))
}

/// Calls `f(row, values)` with the non-NULL values of each non-NULL list of a state column
/// (slices of the list's values: the partial aggregates' lists have no NULL values).
fn each_list(state: &ArrayRef, mut f: impl FnMut(usize, &[f64])) {
    let lists = state.as_list::<i32>();
    let values = lists
        .values()
        .as_primitive::<datafusion::arrow::datatypes::Float64Type>();
    let offsets = lists.value_offsets();
    for row in 0..lists.len() {
        if lists.is_null(row) {
            continue;
        }
        let (from, to) = (offsets[row] as usize, offsets[row + 1] as usize);
        if values.null_count() == 0 {
            f(row, &values.values()[from..to]);
        } else {
            let kept: Vec<f64> = (from..to)
                .filter(|i| values.is_valid(*i))
                .map(|i| values.value(i))
                .collect();
            f(row, &kept);
        }
    }
}

/// Calls `f(row, value)` for each non-NULL value whose filter (if any) is true.
fn each_value(values: &ArrayRef, filter: Option<&BooleanArray>, mut f: impl FnMut(usize, f64)) {
    let values = values.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
    for (row, v) in values.values().iter().enumerate() {
        if values.is_valid(row) && filter.is_none_or(|f| f.is_valid(row) && f.value(row)) {
            f(row, *v);
        }
    }
}

#[derive(Debug)]
struct SetGroupsAccumulator {
    groups: Vec<Vec<f64>>,
    ps: Vec<f64>,
}

impl GroupsAccumulator for SetGroupsAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.groups.resize_with(total_num_groups, Vec::new);
        each_value(&values[0], opt_filter, |row, v| {
            self.groups[group_indices[row]].push(v)
        });
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let groups = emit_to.take_needed(&mut self.groups);
        let ps = &self.ps;
        Ok(to_struct(
            groups.into_iter().map(|mut g| compute(&mut g, ps)),
            ps.len(),
        ))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        Ok(vec![to_list(emit_to.take_needed(&mut self.groups))])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.groups.resize_with(total_num_groups, Vec::new);
        each_list(&values[0], |row, v| {
            self.groups[group_indices[row]].extend_from_slice(v)
        });
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let mut groups = vec![Vec::new(); values[0].len()];
        each_value(&values[0], opt_filter, |row, v| groups[row].push(v));
        Ok(vec![to_list(groups)])
    }

    fn size(&self) -> usize {
        self.groups
            .iter()
            .map(|g| g.capacity() * size_of::<f64>())
            .sum::<usize>()
            + self.groups.capacity() * size_of::<Vec<f64>>()
    }
}

#[derive(Debug)]
struct SetAccumulator {
    values: Vec<f64>,
    ps: Vec<f64>,
}

impl Accumulator for SetAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        each_value(&values[0], None, |_, v| self.values.push(v));
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let row = compute(&mut self.values, &self.ps);
        let array = to_struct(std::iter::once(row), self.ps.len());
        ScalarValue::try_from_array(&array, 0)
    }

    fn size(&self) -> usize {
        size_of_val(self) + self.values.capacity() * size_of::<f64>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let list = to_list(vec![std::mem::take(&mut self.values)]);
        Ok(vec![ScalarValue::try_from_array(&list, 0)?])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        each_list(&states[0], |_, v| self.values.extend_from_slice(v));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    /// `percentile_cont`'s own answer for one percentile, to compare with.
    fn one(values: &[f64], p: f64) -> Option<f64> {
        let mut v = values.to_vec();
        compute(&mut v, &[p])[0]
    }

    #[test]
    fn ranks_and_interpolation_follow_percentile_cont() {
        let values = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0];
        let ps = [0.0, 0.5, 0.95, 0.99, 1.0, 0.2];
        let mut v = values.to_vec();
        let all = compute(&mut v, &ps);
        assert_eq!(all[0], Some(1.0));
        assert_eq!(all[1], Some(3.5));
        assert_eq!(all[4], Some(10.0));
        // 0.95 × 5 = 4.75: 5 + (10 − 5) × 0.75.
        assert_eq!(all[2], Some(8.75));
        for (p, got) in ps.iter().zip(&all) {
            assert_eq!(*got, one(&values, *p), "p = {p}");
        }
        assert_eq!(compute(&mut [], &[0.5, 0.9]), vec![None, None]);
        assert_eq!(compute(&mut [7.0], &[0.5, 0.9]), vec![Some(7.0), Some(7.0)]);
    }

    /// The fused plan answers exactly what DataFusion's separate calls answer, with filters,
    /// NULLs, DESC, an empty group, grouping sets and no GROUP BY; other aggregates stay.
    #[tokio::test]
    async fn fused_answers_equal_percentile_cont() -> Result<()> {
        let plain = SessionContext::new();
        let fused = SessionContext::new();
        fused.add_optimizer_rule(Arc::new(FusePercentiles));
        let setup = "CREATE TABLE t AS SELECT CAST(k % 3 AS INT) AS g, \
                     CASE WHEN k % 7 = 0 THEN NULL ELSE (k * 37) % 101 END AS v, k % 2 = 0 AS even \
                     FROM generate_series(1, 2000) AS s(k) \
                     UNION ALL SELECT 9 AS g, CAST(NULL AS BIGINT) AS v, true AS even";
        let queries = [
            "SELECT g, percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS p50, \
             percentile_cont(0.95) WITHIN GROUP (ORDER BY v) AS p95, count(*) AS n, \
             percentile_cont(0.99) WITHIN GROUP (ORDER BY v) / 1e6 AS p99 FROM t GROUP BY g",
            "SELECT g, percentile_cont(0.3) WITHIN GROUP (ORDER BY v DESC), \
             percentile_cont(0.3) WITHIN GROUP (ORDER BY v), \
             percentile_cont(0.9) WITHIN GROUP (ORDER BY v) FILTER (WHERE even), \
             percentile_cont(0.1) WITHIN GROUP (ORDER BY v) FILTER (WHERE even) FROM t GROUP BY g",
            "SELECT percentile_cont(v, 0.25), percentile_cont(v, 0.75), max(v) FROM t",
            "SELECT g, even, percentile_cont(0.5) WITHIN GROUP (ORDER BY v), \
             percentile_cont(0.8) WITHIN GROUP (ORDER BY v) FROM t \
             GROUP BY GROUPING SETS ((g), (g, even), ())",
        ];
        for ctx in [&plain, &fused] {
            ctx.sql(setup).await?.collect().await?;
        }
        for q in queries {
            let q = format!("SELECT * FROM ({q}) ORDER BY 1, 2");
            let want = plain.sql(&q).await?.collect().await?;
            let df = fused.sql(&q).await?;
            let plan = format!("{}", df.logical_plan().display_indent());
            let got = df.collect().await?;
            let text = |b| datafusion::arrow::util::pretty::pretty_format_batches(b).unwrap();
            assert_eq!(text(&got).to_string(), text(&want).to_string(), "{q}");
            assert_eq!(got[0].schema(), want[0].schema(), "{q}");
            let optimized = fused
                .state()
                .optimize(fused.sql(&q).await?.logical_plan())?;
            let shown = format!("{}", optimized.display_indent());
            assert!(shown.contains(NAME), "{q}: not fused:\n{shown}\n{plan}");
        }
        Ok(())
    }
}
