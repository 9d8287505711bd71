//! [`MaterializedCteExec`]: the copies of one materialized CTE in a physical plan compute its
//! body once and stream the same rows; [`MaterializedCtePlanner`] plans the logical node, and
//! [`share_materialized`] links the copies of a finished plan.
//!
//! The first copy executed runs every partition of its input (each in a task of its own, so
//! no partition waits on a consumer that is not reading yet) and keeps the batches, counted
//! against the memory pool: a body larger than the memory limit is a `ResourcesExhausted`
//! error, not a spill. Every copy's partition `i` streams the input's partition `i`. Once
//! every partition of every copy has been streamed the rows are dropped, and a plan executed
//! again computes them again.

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::catalog::Session;
use datafusion::common::runtime::SpawnedTask;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DataFusionError, HashMap, Result, Statistics, internal_err};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::{LogicalPlan, UserDefinedLogicalNode};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::execution_plan::EmissionType;
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, PlanProperties,
    StatisticsArgs,
};
use datafusion::physical_planner::{ExtensionPlanner, PhysicalPlanner};
use futures::future::{BoxFuture, Shared};
use futures::{FutureExt, StreamExt, TryStreamExt};

use super::MaterializedCte;

/// The body's rows, one list of batches per input partition, and the memory they hold.
#[derive(Debug)]
struct Rows {
    partitions: Vec<Vec<RecordBatch>>,
    _reservations: Vec<MemoryReservation>,
}

type Fill = Shared<BoxFuture<'static, std::result::Result<Arc<Rows>, Arc<DataFusionError>>>>;

/// What the copies of one CTE share.
#[derive(Debug, Default)]
struct Buffer {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Streams a computation serves: the partitions of every copy in the plan
    /// ([`share_materialized`]); 0 when unknown, and the rows then live as long as the plan.
    consumers: usize,
    /// The computation under way or done.
    fill: Option<Fill>,
    /// Streams of it not yet finished or dropped.
    remaining: usize,
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("State")
            .field("consumers", &self.consumers)
            .field("filled", &self.fill.is_some())
            .field("remaining", &self.remaining)
            .finish()
    }
}

impl Buffer {
    /// The computation of the body's rows: the running one, or a new one over `input`.
    fn fill(&self, name: &str, input: &Arc<dyn ExecutionPlan>, ctx: &Arc<TaskContext>) -> Fill {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(fill) = &state.fill {
            return fill.clone();
        }
        state.remaining = state.consumers;
        let fill = compute(name.to_string(), Arc::clone(input), Arc::clone(ctx))
            .map(|r| r.map_err(Arc::new))
            .boxed()
            .shared();
        state.fill = Some(fill.clone());
        fill
    }

    /// One stream of the rows is done: the last one drops them.
    fn release(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.remaining > 0 {
            state.remaining -= 1;
            if state.remaining == 0 {
                state.fill = None;
            }
        }
    }
}

/// Runs every partition of `input` at once and keeps its batches.
async fn compute(
    name: String,
    input: Arc<dyn ExecutionPlan>,
    ctx: Arc<TaskContext>,
) -> Result<Arc<Rows>> {
    let consumer = MemoryConsumer::new(format!("MaterializedCte[{name}]"));
    let reservation = consumer.register(ctx.memory_pool());
    let tasks: Vec<_> = (0..input.output_partitioning().partition_count())
        .map(|i| {
            let reservation = reservation.new_empty();
            let stream = input.execute(i, Arc::clone(&ctx));
            SpawnedTask::spawn(async move {
                let mut stream = stream?;
                let mut batches = Vec::new();
                while let Some(batch) = stream.next().await {
                    let batch = batch?;
                    reservation.try_grow(batch.get_array_memory_size())?;
                    batches.push(batch);
                }
                Ok::<_, DataFusionError>((batches, reservation))
            })
        })
        .collect();
    let mut partitions = Vec::with_capacity(tasks.len());
    let mut reservations = Vec::with_capacity(tasks.len());
    for task in tasks {
        let (batches, reservation) = task
            .join_unwind()
            .await
            .map_err(|e| DataFusionError::ExecutionJoin(Box::new(e)))??;
        partitions.push(batches);
        reservations.push(reservation);
    }
    Ok(Arc::new(Rows {
        partitions,
        _reservations: reservations,
    }))
}

/// One reference to a materialized CTE: the body's rows, computed once per plan (see the
/// module documentation). Its child is the body's plan; only one copy's child runs.
#[derive(Debug)]
pub struct MaterializedCteExec {
    name: String,
    id: u64,
    input: Arc<dyn ExecutionPlan>,
    buffer: Arc<Buffer>,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl MaterializedCteExec {
    fn new(name: String, id: u64, input: Arc<dyn ExecutionPlan>, buffer: Arc<Buffer>) -> Self {
        // The input's partitions, orderings and equivalences, all of it at once.
        let properties = PlanProperties::new(
            input.equivalence_properties().clone(),
            input.output_partitioning().clone(),
            EmissionType::Final,
            input.boundedness(),
        );
        Self {
            name,
            id,
            input,
            buffer,
            properties: Arc::new(properties),
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }
}

impl DisplayAs for MaterializedCteExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "MaterializedCteExec: {}", self.name)
    }
}

impl ExecutionPlan for MaterializedCteExec {
    fn name(&self) -> &str {
        "MaterializedCteExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
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
        let input = crate::only_child(children, "MaterializedCteExec")?;
        Ok(Arc::new(Self::new(
            self.name.clone(),
            self.id,
            input,
            Arc::clone(&self.buffer),
        )))
    }

    fn execute(
        &self,
        partition: usize,
        ctx: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let count = self.input.output_partitioning().partition_count();
        if partition >= count {
            return internal_err!(
                "MaterializedCteExec: partition {partition} of {count} requested"
            );
        }
        let fill = self.buffer.fill(&self.name, &self.input, &ctx);
        let input = Arc::clone(&self.input);
        let done = Release(Arc::clone(&self.buffer));
        let baseline = BaselineMetrics::new(&self.metrics, partition);
        let rows = futures::stream::once(async move {
            let rows = fill.await.map_err(DataFusionError::Shared)?;
            let stream: SendableRecordBatchStream = if rows.partitions.len() == count {
                let batches = rows.partitions[partition].clone();
                let schema = input.schema();
                Box::pin(RecordBatchStreamAdapter::new(
                    schema,
                    futures::stream::iter(batches.into_iter().map(Ok)),
                ))
            } else {
                // Another copy, planned with other partitions, computed the rows: this one's
                // partitions cannot be told apart in them, so it runs its own input.
                input.execute(partition, ctx)?
            };
            Ok::<_, DataFusionError>(stream)
        })
        .try_flatten()
        .map(move |batch| {
            let _ = &done;
            if let Ok(b) = &batch {
                baseline.record_output(b.num_rows());
            }
            batch
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.schema(), rows)))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    // Still what EXPLAIN and the join selection ask (DataFusion 55 without a statistics
    // registry).
    #[allow(deprecated)]
    fn partition_statistics(&self, partition: Option<usize>) -> Result<Arc<Statistics>> {
        self.input.partition_statistics(partition)
    }

    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        _args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        match input_stats {
            [input] => Ok(Arc::clone(input)),
            _ => internal_err!("MaterializedCteExec: expected 1 input's statistics"),
        }
    }
}

/// Releases the rows for one stream when the stream is dropped (finished or not).
struct Release(Arc<Buffer>);

impl Drop for Release {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// Links the copies of each materialized CTE in `plan` to one buffer and counts the streams
/// it serves. Idempotent; run on every finished physical plan (the query planner does).
pub fn share_materialized(plan: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    let mut buffers: HashMap<u64, (Arc<Buffer>, usize)> = HashMap::new();
    plan.apply(|node| {
        if let Some(m) = node.downcast_ref::<MaterializedCteExec>() {
            let entry = buffers
                .entry(m.id)
                .or_insert_with(|| (Arc::clone(&m.buffer), 0));
            entry.1 += m.input.output_partitioning().partition_count();
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    if buffers.is_empty() {
        return Ok(plan);
    }
    for (buffer, consumers) in buffers.values() {
        buffer
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .consumers = *consumers;
    }
    plan.transform_up(|node| {
        let Some(m) = node.downcast_ref::<MaterializedCteExec>() else {
            return Ok(Transformed::no(node));
        };
        match buffers.get(&m.id) {
            Some((buffer, _)) if !Arc::ptr_eq(buffer, &m.buffer) => {
                Ok(Transformed::yes(Arc::new(MaterializedCteExec::new(
                    m.name.clone(),
                    m.id,
                    Arc::clone(&m.input),
                    Arc::clone(buffer),
                ))
                    as Arc<dyn ExecutionPlan>))
            }
            _ => Ok(Transformed::no(node)),
        }
    })
    .map(|t| t.data)
}

/// Plans [`MaterializedCte`] into a [`MaterializedCteExec`] with a buffer of its own, until
/// [`share_materialized`] links the copies.
#[derive(Debug, Default)]
pub struct MaterializedCtePlanner;

#[async_trait]
impl ExtensionPlanner for MaterializedCtePlanner {
    async fn plan_extension(
        &self,
        _planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        _logical_inputs: &[&LogicalPlan],
        physical_inputs: &[Arc<dyn ExecutionPlan>],
        _session: &dyn Session,
        _planning_ctx: &PhysicalPlanningContext,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let Some(cte) = node.as_any().downcast_ref::<MaterializedCte>() else {
            return Ok(None);
        };
        let [input] = physical_inputs else {
            return internal_err!("MaterializedCte: expected 1 input");
        };
        Ok(Some(Arc::new(MaterializedCteExec::new(
            cte.name.clone(),
            cte.id,
            Arc::clone(input),
            Arc::default(),
        ))))
    }
}
