//! [`GapFillExec`]: emits every bucket of every group over an aggregate sorted by (group keys,
//! bucket), and [`GapFillPlanner`], which turns the logical [`GapFill`] into it.
//!
//! Each partition holds whole groups (hash-partitioned on the keys), so partitions run in
//! parallel. Within one the aggregate's rows are buffered (they are at most groups × buckets,
//! the size of the output anyway; the buffer is counted against the memory pool), then the
//! output is assembled column by column with `take`: the filled rows take NULL, or for `locf`
//! the last non-NULL row before them, and `interpolate` computes its values.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{
    Array, ArrayRef, Float64Array, Int64Array, RecordBatch, RecordBatchOptions, UInt32Array,
};
use datafusion::arrow::compute::{SortOptions, cast, concat_batches, partition, take};
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef, TimeUnit};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DFSchema, Result, ScalarValue, exec_err, internal_err, plan_err};
use datafusion::execution::memory_pool::MemoryConsumer;
use datafusion::execution::{SendableRecordBatchStream, SessionState, TaskContext};
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::{Expr, LogicalPlan, UserDefinedLogicalNode};
use datafusion::physical_expr::expressions::Column as PhysicalColumn;
use datafusion::physical_expr::{
    EquivalenceProperties, LexRequirement, OrderingRequirements, PhysicalExpr,
    PhysicalSortRequirement,
};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, Distribution, ExecutionPlan, ExecutionPlanProperties,
    PlanProperties,
};
use datafusion::physical_planner::{ExtensionPlanner, PhysicalPlanner};
use futures::{StreamExt, TryStreamExt};
use sigfuse_udfs::time::{
    bucketer_from_scalars, evaluate_constant, time_bucket_gapfill, timestamp_ns,
};

use super::{Bound, Fill, GapFill};

/// The most buckets one query may fill per group: a typo in the bounds should be an error,
/// not an out-of-memory.
pub const MAX_BUCKETS: usize = 10_000_000;

/// The physical gap-fill operator (see the module doc).
#[derive(Debug)]
pub struct GapFillExec {
    input: Arc<dyn ExecutionPlan>,
    time: usize,
    groups: Vec<usize>,
    /// Extra output columns: (input column, filling, name).
    fills: Vec<(usize, Fill, String)>,
    /// Bucket starts in the unit of the time column.
    buckets: Arc<Vec<i64>>,
    properties: Arc<PlanProperties>,
}

impl GapFillExec {
    pub fn new(
        input: Arc<dyn ExecutionPlan>,
        time: usize,
        groups: Vec<usize>,
        fills: Vec<(usize, Fill, String)>,
        buckets: Arc<Vec<i64>>,
    ) -> Self {
        let in_schema = input.schema();
        let mut fields: Vec<_> = in_schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let key = groups.contains(&i) && i != time;
                Arc::new(f.as_ref().clone().with_nullable(f.is_nullable() || !key))
            })
            .collect();
        for (source, _, name) in &fills {
            let f = in_schema
                .field(*source)
                .clone()
                .with_name(name)
                .with_nullable(true);
            fields.push(Arc::new(f));
        }
        let schema = Arc::new(Schema::new_with_metadata(
            fields,
            in_schema.metadata().clone(),
        ));
        let mut eq = EquivalenceProperties::new(Arc::clone(&schema));
        if let Some(ordering) = input.output_ordering() {
            eq.add_ordering(ordering.iter().cloned());
        }
        let properties = PlanProperties::new(
            eq,
            input.output_partitioning().clone(),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        Self {
            input,
            time,
            groups,
            fills,
            buckets,
            properties: Arc::new(properties),
        }
    }

    fn column(&self, i: usize) -> Arc<dyn PhysicalExpr> {
        let schema = self.input.schema();
        Arc::new(PhysicalColumn::new(schema.field(i).name(), i))
    }
}

impl DisplayAs for GapFillExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let schema = self.input.schema();
        let name = |i: &usize| schema.field(*i).name().clone();
        let fills: Vec<String> = self
            .fills
            .iter()
            .map(|(i, fill, _)| format!("{fill:?}({})", name(i)))
            .collect();
        write!(
            f,
            "GapFillExec: time={}, groups=[{}], buckets={}, fill=[{}]",
            name(&self.time),
            self.groups.iter().map(name).collect::<Vec<_>>().join(", "),
            self.buckets.len(),
            fills.join(", ")
        )
    }
}

impl ExecutionPlan for GapFillExec {
    fn name(&self) -> &str {
        "GapFillExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn required_input_distribution(&self) -> Vec<Distribution> {
        if self.groups.is_empty() {
            vec![Distribution::SinglePartition]
        } else {
            vec![Distribution::KeyPartitioned(
                self.groups.iter().map(|&i| self.column(i)).collect(),
            )]
        }
    }

    fn required_input_ordering(&self) -> Vec<Option<OrderingRequirements>> {
        // Groups only need to be contiguous (either direction, NULLs anywhere); buckets must
        // ascend, and NULL buckets may be anywhere (they pass through). NULLS LAST as ORDER BY
        // writes it, so the user's sort above can be pushed below unchanged.
        let ascending = SortOptions {
            descending: false,
            nulls_first: false,
        };
        let groups = self
            .groups
            .iter()
            .map(|&i| PhysicalSortRequirement::new(self.column(i), None));
        let time = PhysicalSortRequirement::new(self.column(self.time), Some(ascending));
        let requirement = LexRequirement::new(groups.chain(std::iter::once(time)));
        vec![requirement.map(OrderingRequirements::new)]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = crate::only_child(children, "GapFillExec")?;
        Ok(Arc::new(Self::new(
            input,
            self.time,
            self.groups.clone(),
            self.fills.clone(),
            Arc::clone(&self.buckets),
        )))
    }

    fn execute(
        &self,
        partition: usize,
        ctx: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, Arc::clone(&ctx))?;
        let in_schema = self.input.schema();
        let schema = self.schema();
        let reservation =
            MemoryConsumer::new(format!("GapFillExec[{partition}]")).register(ctx.memory_pool());
        let spec = Spec {
            time: self.time,
            groups: self.groups.clone(),
            fills: self.fills.clone(),
            buckets: Arc::clone(&self.buckets),
        };
        let out_schema = Arc::clone(&schema);
        let future = async move {
            let batches: Vec<RecordBatch> = input
                .and_then(|b| {
                    let grown = reservation.try_grow(b.get_array_memory_size());
                    futures::future::ready(grown.map(|_| b))
                })
                .try_collect()
                .await?;
            let all = concat_batches(&in_schema, &batches)?;
            drop(batches);
            spec.fill(&all, &out_schema)
        };
        let stream = futures::stream::once(future).boxed();
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

struct Spec {
    time: usize,
    groups: Vec<usize>,
    fills: Vec<(usize, Fill, String)>,
    buckets: Arc<Vec<i64>>,
}

/// One output row: the input row it copies (`None` for a filled bucket), its group's first
/// input row (for the keys) and its bucket.
struct Out {
    src: Option<u32>,
    group_row: u32,
    time: Option<i64>,
}

impl Spec {
    fn fill(&self, batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
        let n = batch.num_rows();
        let times = cast(batch.column(self.time), &DataType::Int64)?;
        let times = times.as_any().downcast_ref::<Int64Array>().cloned();
        let Some(times) = times else {
            return internal_err!("GapFillExec: time column did not cast to Int64");
        };
        let ranges: Vec<std::ops::Range<usize>> = if self.groups.is_empty() {
            // One group, even when empty: a query without keys fills the whole range.
            std::iter::once(0..n).collect()
        } else if n == 0 {
            vec![]
        } else {
            let keys: Vec<ArrayRef> = self
                .groups
                .iter()
                .map(|&i| Arc::clone(batch.column(i)))
                .collect();
            partition(&keys)?.ranges()
        };
        let buckets = self.buckets.as_slice();
        let mut out = Vec::with_capacity(n.max(ranges.len() * buckets.len()));
        for range in ranges {
            let group_row = range.start as u32;
            let (mut r, mut j) = (range.start, 0usize);
            while r < range.end || j < buckets.len() {
                let t = (r < range.end).then(|| times.is_valid(r).then(|| times.value(r)));
                match t {
                    // NULL buckets and rows before or after the range pass through.
                    Some(None) => {
                        out.push(Out {
                            src: Some(r as u32),
                            group_row,
                            time: None,
                        });
                        r += 1;
                    }
                    Some(Some(t)) if j >= buckets.len() || t <= buckets[j] => {
                        if j < buckets.len() && t == buckets[j] {
                            j += 1;
                        }
                        out.push(Out {
                            src: Some(r as u32),
                            group_row,
                            time: Some(t),
                        });
                        r += 1;
                    }
                    _ => {
                        out.push(Out {
                            src: None,
                            group_row,
                            time: Some(buckets[j]),
                        });
                        j += 1;
                    }
                }
            }
        }
        let src: UInt32Array = out.iter().map(|o| o.src).collect();
        let keys: UInt32Array = out.iter().map(|o| Some(o.group_row)).collect();
        let mut columns = Vec::with_capacity(schema.fields().len());
        for (i, column) in batch.columns().iter().enumerate() {
            columns.push(if i == self.time {
                let t: Int64Array = out.iter().map(|o| o.time).collect();
                cast(&t, column.data_type())?
            } else if self.groups.contains(&i) {
                take(column, &keys, None)?
            } else {
                take(column, &src, None)?
            });
        }
        for (i, fill, _) in &self.fills {
            let column = batch.column(*i);
            columns.push(match fill {
                Fill::Locf => take(column, &locf_indices(&out, column.as_ref()), None)?,
                Fill::Interpolate => interpolate(&out, column, column.data_type())?,
            });
        }
        let options = RecordBatchOptions::new().with_row_count(Some(out.len()));
        Ok(RecordBatch::try_new_with_options(
            Arc::clone(schema),
            columns,
            &options,
        )?)
    }
}

/// For each output row, the input row to copy: itself, or for a filled row the last input row
/// of its group with a non-NULL value.
fn locf_indices(out: &[Out], column: &dyn Array) -> UInt32Array {
    let mut last: Option<u32> = None;
    let mut group = u32::MAX;
    out.iter()
        .map(|o| {
            if o.group_row != group {
                group = o.group_row;
                last = None;
            }
            match o.src {
                Some(r) => {
                    if column.is_valid(r as usize) {
                        last = Some(r);
                    }
                    Some(r)
                }
                None => last,
            }
        })
        .collect()
}

/// Linear interpolation in time between the neighbouring non-NULL input rows of the group.
fn interpolate(out: &[Out], column: &ArrayRef, target: &DataType) -> Result<ArrayRef> {
    let values = cast(column, &DataType::Float64)?;
    let Some(values) = values.as_any().downcast_ref::<Float64Array>() else {
        return internal_err!("interpolate: column did not cast to Float64");
    };
    let value = |o: &Out| -> Option<(f64, f64)> {
        let r = o.src? as usize;
        Some((o.time? as f64, values.is_valid(r).then(|| values.value(r))?))
    };
    let mut result: Vec<Option<f64>> = out
        .iter()
        .map(|o| {
            o.src.and_then(|r| {
                values
                    .is_valid(r as usize)
                    .then(|| values.value(r as usize))
            })
        })
        .collect();
    // Forward pass: previous known point; backward pass: next known point.
    let mut prev: Vec<Option<(f64, f64)>> = Vec::with_capacity(out.len());
    let (mut last, mut group) = (None, u32::MAX);
    for o in out {
        if o.group_row != group {
            (group, last) = (o.group_row, None);
        }
        prev.push(last);
        if let Some(p) = value(o) {
            last = Some(p);
        }
    }
    let (mut next, mut group) = (None, u32::MAX);
    for (i, o) in out.iter().enumerate().rev() {
        if o.group_row != group {
            (group, next) = (o.group_row, None);
        }
        if let (None, Some((t0, v0)), Some((t1, v1)), Some(t)) = (o.src, prev[i], next, o.time) {
            let v: f64 = v0 + (v1 - v0) * (t as f64 - t0) / (t1 - t0);
            result[i] = Some(if target.is_integer() { v.round() } else { v });
        }
        if let Some(p) = value(o) {
            next = Some(p);
        }
    }
    Ok(cast(&Float64Array::from(result), target)?)
}

/// Plans [`GapFill`] nodes.
#[derive(Debug, Default)]
pub struct GapFillPlanner;

/// Evaluates a constant expression (a bound or a bucket argument) at planning time; `now()`
/// and friends see the query's start time like everywhere else.
fn evaluate(
    planner: &dyn PhysicalPlanner,
    expr: &Expr,
    session: &SessionState,
    ctx: &PhysicalPlanningContext,
) -> Result<ScalarValue> {
    let physical = planner.create_physical_expr(expr, &DFSchema::empty(), session, ctx)?;
    evaluate_constant(&physical)
}

fn bound_ns(
    who: &str,
    bounds: &[Bound],
    lower: bool,
    planner: &dyn PhysicalPlanner,
    session: &SessionState,
    ctx: &PhysicalPlanningContext,
) -> Result<i128> {
    let mut best: Option<i128> = None;
    for b in bounds {
        let v = evaluate(planner, &b.expr, session, ctx)?;
        let Some(ns) = timestamp_ns(&v) else {
            return plan_err!(
                "{who}: the bound {} must be a non-NULL timestamp, got {v}",
                b.expr
            );
        };
        // Turn exclusive bounds into inclusive ones (nanosecond resolution).
        let ns = match (lower, b.inclusive) {
            (true, false) => ns + 1,
            (false, false) => ns - 1,
            _ => ns,
        };
        best = Some(match best {
            None => ns,
            Some(x) if lower => x.max(ns),
            Some(x) => x.min(ns),
        });
    }
    match best {
        Some(ns) => Ok(ns),
        None => {
            plan_err!("{who}: the WHERE clause must bound the time column from below and above")
        }
    }
}

#[async_trait]
impl ExtensionPlanner for GapFillPlanner {
    async fn plan_extension(
        &self,
        planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        _logical_inputs: &[&LogicalPlan],
        physical_inputs: &[Arc<dyn ExecutionPlan>],
        session: &dyn datafusion::catalog::Session,
        planning_ctx: &PhysicalPlanningContext,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let Some(node) = node.as_any().downcast_ref::<GapFill>() else {
            return Ok(None);
        };
        let who = time_bucket_gapfill::NAME;
        let Some(state) = session.as_any().downcast_ref::<SessionState>() else {
            return internal_err!("GapFill: planned outside a SessionState");
        };
        let [input] = physical_inputs else {
            return internal_err!("GapFill: expected one physical input");
        };
        let mut args = Vec::with_capacity(node.bucket_args.len() + 1);
        for (i, e) in node.bucket_args.iter().enumerate() {
            args.push(evaluate(planner, e, state, planning_ctx)?);
            if i == 0 {
                args.push(ScalarValue::Null); // where `ts` goes
            }
        }
        let Some(bucketer) = bucketer_from_scalars(who, &args)? else {
            return plan_err!("{who}: width, origin and time zone must not be NULL");
        };
        let lower = bound_ns(who, &node.lower, true, planner, state, planning_ctx)?;
        let upper = bound_ns(who, &node.upper, false, planner, state, planning_ctx)?;
        let schema = input.schema();
        let index = |c: &datafusion::common::Column| -> Result<usize> {
            let df_schema = node.input.schema();
            df_schema.index_of_column(c)
        };
        let time = index(&node.time_column)?;
        let per_unit: i128 = match schema.field(time).data_type() {
            DataType::Timestamp(TimeUnit::Second, _) => 1_000_000_000,
            DataType::Timestamp(TimeUnit::Millisecond, _) => 1_000_000,
            DataType::Timestamp(TimeUnit::Microsecond, _) => 1_000,
            DataType::Timestamp(TimeUnit::Nanosecond, _) => 1,
            other => return plan_err!("{who}: the bucket must be a timestamp, got {other}"),
        };
        let mut buckets = Vec::new();
        if lower <= upper {
            let mut b = bucketer.bucket(lower);
            while let Some(start) = b.filter(|s| *s <= upper) {
                if buckets.len() == MAX_BUCKETS {
                    return plan_err!(
                        "{who}: the bounds hold more than {MAX_BUCKETS} buckets; narrow the WHERE range or widen the buckets"
                    );
                }
                match i64::try_from(start.div_euclid(per_unit)) {
                    Ok(v) => buckets.push(v),
                    Err(_) => return exec_err!("{who}: bucket {start} ns is out of range"),
                }
                b = bucketer.next(start);
            }
        }
        let groups = node
            .group_columns
            .iter()
            .map(index)
            .collect::<Result<_>>()?;
        let fills = node
            .fills
            .iter()
            .map(|(c, f, name)| Ok((index(c)?, *f, name.clone())))
            .collect::<Result<_>>()?;
        let exec = GapFillExec::new(Arc::clone(input), time, groups, fills, Arc::new(buckets));
        Ok(Some(Arc::new(exec)))
    }
}
