//! The physical ASOF join ([`AsofJoinExec`]) and the extension planner that makes it from the
//! logical [`AsofJoin`] node.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Result, internal_err};
use datafusion::execution::memory_pool::MemoryConsumer;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::{LogicalPlan, UserDefinedLogicalNode};
use datafusion::physical_expr::projection::ProjectionMapping;
use datafusion::physical_expr::{
    EquivalenceProperties, LexOrdering, OrderingRequirements, PhysicalSortExpr,
};
use datafusion::physical_plan::common::spawn_buffered;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::projection::{
    EmbeddedProjection, ProjectionExec, try_embed_projection,
};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, Distribution, ExecutionPlan, ExecutionPlanProperties,
    InputDistributionRequirements, PhysicalExpr, PlanProperties,
};
use datafusion::physical_planner::{ExtensionPlanner, PhysicalPlanner};
use futures::StreamExt;

use super::encode::{Encoded, Encoder, match_order};
use super::logical::{AsofJoin, AsofOp};
use super::merge::{Merger, Output, Step, TieBreak};

type Key = (Arc<dyn PhysicalExpr>, Arc<dyn PhysicalExpr>);

/// Merges `left` and `right`, both in match order (ts ascending for `>=`/`>`, descending for
/// `<=`/`<`) in one partition: every left row once, with the best right row's columns or
/// NULLs.
#[derive(Debug)]
pub struct AsofJoinExec {
    left: Arc<dyn ExecutionPlan>,
    right: Arc<dyn ExecutionPlan>,
    on: Vec<Key>,
    left_ts: Arc<dyn PhysicalExpr>,
    right_ts: Arc<dyn PhysicalExpr>,
    op: AsofOp,
    /// The join's whole schema: all left columns, then all right columns.
    schema: SchemaRef,
    /// The columns of `schema` the join outputs (a projection above it, embedded so that the
    /// right columns nobody reads are not gathered); `None`: all.
    projection: Option<Vec<usize>>,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl AsofJoinExec {
    pub fn try_new(
        left: Arc<dyn ExecutionPlan>,
        right: Arc<dyn ExecutionPlan>,
        on: Vec<Key>,
        left_ts: Arc<dyn PhysicalExpr>,
        right_ts: Arc<dyn PhysicalExpr>,
        op: AsofOp,
        schema: SchemaRef,
    ) -> Result<Self> {
        let properties = Self::properties_of(&left, &schema, None)?;
        Ok(Self {
            left,
            right,
            on,
            left_ts,
            right_ts,
            op,
            schema,
            projection: None,
            properties: Arc::new(properties),
            metrics: ExecutionPlanMetricsSet::new(),
        })
    }

    fn properties_of(
        left: &Arc<dyn ExecutionPlan>,
        schema: &SchemaRef,
        projection: Option<&[usize]>,
    ) -> Result<PlanProperties> {
        // Left columns come first and keep their positions, so the left's ordering and
        // partitioning describe the output too.
        let mut eq = EquivalenceProperties::new_with_orderings(
            Arc::clone(schema),
            left.output_ordering().cloned(),
        );
        let mut partitioning = left.output_partitioning().clone();
        if let Some(p) = projection {
            let mapping = ProjectionMapping::from_indices(p, schema)?;
            partitioning = partitioning.project(&mapping, &eq);
            eq = eq.project(&mapping, Arc::new(schema.project(p)?));
        }
        Ok(PlanProperties::new(
            eq,
            partitioning,
            EmissionType::Incremental,
            Boundedness::Bounded,
        ))
    }

    /// The order both inputs must arrive in: their ts in match order, nothing on the keys.
    fn ts_ordering(&self, ts: &Arc<dyn PhysicalExpr>) -> Option<OrderingRequirements> {
        LexOrdering::new([PhysicalSortExpr::new(Arc::clone(ts), match_order(self.op))])
            .map(OrderingRequirements::from)
    }

    /// The right's columns that break ties between rows of one key and ts: those of plain
    /// types, in schema order, so the pick does not depend on the input order.
    fn tie_breakers(&self) -> Vec<(usize, DataType)> {
        self.right
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| tie_breaker_type(f.data_type()))
            .map(|(i, f)| (i, f.data_type().clone()))
            .collect()
    }
}

/// Types whose order is cheap and total enough to break ties with.
fn tie_breaker_type(t: &DataType) -> bool {
    match t {
        DataType::Dictionary(_, v) => tie_breaker_type(v),
        t => {
            t.is_primitive()
                || matches!(
                    t,
                    DataType::Boolean
                        | DataType::Utf8
                        | DataType::LargeUtf8
                        | DataType::Utf8View
                        | DataType::Binary
                        | DataType::LargeBinary
                        | DataType::BinaryView
                        | DataType::FixedSizeBinary(_)
                )
        }
    }
}

impl DisplayAs for AsofJoinExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "AsofJoinExec: mode={}, on=[", self.op)?;
        for (i, (l, r)) in self.on.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}({l}, {r})")?;
        }
        write!(
            f,
            "], match=[{} {} {}]",
            self.left_ts, self.op, self.right_ts
        )?;
        if let Some(p) = &self.projection {
            let names: Vec<String> = p
                .iter()
                .map(|&i| format!("{}@{i}", self.schema.field(i).name()))
                .collect();
            write!(f, ", projection=[{}]", names.join(", "))?;
        }
        Ok(())
    }
}

impl EmbeddedProjection for AsofJoinExec {
    fn with_projection(&self, projection: Option<Vec<usize>>) -> Result<Self> {
        // Indices are into the current output, which may already be a projection.
        let projection = match (&self.projection, projection) {
            (Some(old), Some(new)) => Some(new.iter().map(|&i| old[i]).collect()),
            (None, p) => p,
            (old, None) => old.clone(),
        };
        let properties = Self::properties_of(&self.left, &self.schema, projection.as_deref())?;
        Ok(Self {
            left: Arc::clone(&self.left),
            right: Arc::clone(&self.right),
            on: self.on.clone(),
            left_ts: Arc::clone(&self.left_ts),
            right_ts: Arc::clone(&self.right_ts),
            op: self.op,
            schema: Arc::clone(&self.schema),
            projection,
            properties: Arc::new(properties),
            metrics: ExecutionPlanMetricsSet::new(),
        })
    }
}

impl ExecutionPlan for AsofJoinExec {
    fn name(&self) -> &'static str {
        "AsofJoinExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn input_distribution_requirements(&self) -> InputDistributionRequirements {
        // One partition: the scans' partitions are each in ts order, so a merge puts them in
        // the order the kernel needs; hash-partitioning by the keys would lose it and need a
        // sort of each partition (measured slower on q4 of benches/peers.sh, and it holds a
        // whole input where the merge streams).
        InputDistributionRequirements::new(vec![
            Distribution::SinglePartition,
            Distribution::SinglePartition,
        ])
    }

    fn required_input_ordering(&self) -> Vec<Option<OrderingRequirements>> {
        vec![
            self.ts_ordering(&self.left_ts),
            self.ts_ordering(&self.right_ts),
        ]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true, false]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.left, &self.right]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        let exprs = self
            .on
            .iter()
            .flat_map(|(l, r)| [l, r])
            .chain([&self.left_ts, &self.right_ts]);
        for e in exprs {
            if f(e)? == TreeNodeRecursion::Stop {
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let [left, right]: [Arc<dyn ExecutionPlan>; 2] = match children.try_into() {
            Ok(c) => c,
            Err(c) => return internal_err!("AsofJoinExec: expected 2 children, got {}", c.len()),
        };
        let exec = Self::try_new(
            left,
            right,
            self.on.clone(),
            Arc::clone(&self.left_ts),
            Arc::clone(&self.right_ts),
            self.op,
            Arc::clone(&self.schema),
        )?;
        Ok(Arc::new(exec.with_projection(self.projection.clone())?))
    }

    fn try_swapping_with_projection(
        &self,
        projection: &ProjectionExec,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        try_embed_projection(projection, self)
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let (lp, rp) = (
            self.left.output_partitioning().partition_count(),
            self.right.output_partitioning().partition_count(),
        );
        if lp != rp {
            return internal_err!("AsofJoinExec: {lp} left partitions but {rp} right partitions");
        }
        let ls = self.left.schema();
        let rs = self.right.schema();
        let (lt, rt) = (self.left_ts.data_type(&ls)?, self.right_ts.data_type(&rs)?);
        if lt != rt {
            return internal_err!("AsofJoinExec: ts types differ after planning: {lt} and {rt}");
        }
        for (l, r) in &self.on {
            let (lk, rk) = (l.data_type(&ls)?, r.data_type(&rs)?);
            if lk != rk {
                return internal_err!(
                    "AsofJoinExec: key types differ after planning: {lk} and {rk}"
                );
            }
        }
        let key_types = self
            .on
            .iter()
            .map(|(l, _)| l.data_type(&ls))
            .collect::<Result<Vec<_>>>()?;
        let left_enc = Encoder::new(
            self.on.iter().map(|(l, _)| Arc::clone(l)).collect(),
            Arc::clone(&self.left_ts),
            lt,
        )?;
        let right_enc = Encoder::new(
            self.on.iter().map(|(_, r)| Arc::clone(r)).collect(),
            Arc::clone(&self.right_ts),
            rt,
        )?;
        let reservation = MemoryConsumer::new(format!("AsofJoinExec[{partition}]"))
            .register(context.memory_pool());
        let ties = TieBreak::new(self.tie_breakers())?;
        // Each input runs in its own task, a batch or two ahead: the merges of the scans'
        // partitions under the join then work while the join does (q4 of benches/peers.sh:
        // 47 → 37 ms, medians of 42 runs).
        let left = spawn_buffered(self.left.execute(partition, Arc::clone(&context))?, 2);
        let right = spawn_buffered(self.right.execute(partition, context)?, 2);
        let output = Output {
            schema: self.schema(),
            columns: match &self.projection {
                Some(p) => p.clone(),
                None => (0..self.schema.fields().len()).collect(),
            },
            left_width: ls.fields().len(),
        };
        let state = State {
            output,
            left,
            right,
            merger: Merger::new(self.op, (left_enc, right_enc), key_types, ties, reservation)?,
            current: None,
            metrics: BaselineMetrics::new(&self.metrics, partition),
        };
        let stream = futures::stream::try_unfold(state, |mut s| async move {
            let out = s.next_batch().await?;
            Ok(out.map(|b| (b, s)))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema(),
            stream,
        )))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

/// The left batch being answered.
struct Current {
    left: Encoded,
    /// First row not yet emitted, and the next row to pick for.
    start: usize,
    next: usize,
    picks: Vec<Option<(usize, usize)>>,
}

struct State {
    output: Output,
    left: SendableRecordBatchStream,
    right: SendableRecordBatchStream,
    merger: Merger,
    current: Option<Current>,
    metrics: BaselineMetrics,
}

impl State {
    async fn next_batch(&mut self) -> Result<Option<datafusion::arrow::array::RecordBatch>> {
        loop {
            let Some(cur) = self.current.as_mut() else {
                let Some(batch) = self.left.next().await.transpose()? else {
                    return Ok(None);
                };
                if batch.num_rows() > 0 {
                    let left = self.merger.encode_left(batch)?;
                    let picks = Vec::with_capacity(left.batch.num_rows());
                    self.current = Some(Current {
                        left,
                        start: 0,
                        next: 0,
                        picks,
                    });
                }
                continue;
            };
            let timer = self.metrics.elapsed_compute().timer();
            let step = self
                .merger
                .advance(&cur.left, &mut cur.next, &mut cur.picks)?;
            match step {
                Step::NeedRight => {
                    timer.done();
                    match self.right.next().await.transpose()? {
                        Some(b) => self.merger.push_right(b)?,
                        None => self.merger.finish_right(),
                    }
                }
                Step::Flush | Step::Done => {
                    let out =
                        self.merger
                            .build(&self.output, &cur.left.batch, cur.start, &cur.picks)?;
                    cur.start = cur.next;
                    cur.picks.clear();
                    if step == Step::Done {
                        self.current = None;
                    }
                    self.merger.release()?;
                    timer.done();
                    self.metrics.record_output(out.num_rows());
                    return Ok(Some(out));
                }
            }
        }
    }
}

/// Plans [`AsofJoin`] nodes into [`AsofJoinExec`].
#[derive(Debug, Default)]
pub struct AsofExtensionPlanner;

#[async_trait]
impl ExtensionPlanner for AsofExtensionPlanner {
    async fn plan_extension(
        &self,
        planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        logical_inputs: &[&LogicalPlan],
        physical_inputs: &[Arc<dyn ExecutionPlan>],
        session: &dyn Session,
        planning_ctx: &PhysicalPlanningContext,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let Some(join) = node.as_any().downcast_ref::<AsofJoin>() else {
            return Ok(None);
        };
        let ([ll, lr], [pl, pr]) = (logical_inputs, physical_inputs) else {
            return internal_err!("AsofJoin: expected 2 inputs");
        };
        let (ls, rs) = (ll.schema(), lr.schema());
        let phys = |e, s| planner.create_physical_expr(e, s, session, planning_ctx);
        let on = join
            .on
            .iter()
            .map(|(l, r)| Ok((phys(l, ls)?, phys(r, rs)?)))
            .collect::<Result<Vec<_>>>()?;
        let exec = AsofJoinExec::try_new(
            Arc::clone(pl),
            Arc::clone(pr),
            on,
            phys(&join.left_ts, ls)?,
            phys(&join.right_ts, rs)?,
            join.op,
            Arc::new(join.schema().as_arrow().clone()),
        )?;
        Ok(Some(Arc::new(exec)))
    }
}
