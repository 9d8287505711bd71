//! Hash aggregation where no one needs the aggregate's order.
//!
//! Lake files are sorted by `ts` and `time_bucket` keeps that order, so DataFusion plans every
//! `GROUP BY time_bucket(…), …` as an ordered aggregation (`ordering_mode=PartiallySorted`)
//! with order-preserving repartitions between its partial and final halves, whether or not
//! anything above uses the order. When nothing does (no `ORDER BY` it satisfies, no window,
//! merge or ASOF join above: a result in several partitions, or feeding a hash join), that
//! costs about twice the plain hash aggregation: 16.7–19.2 ms against 8.6 ms for
//! benches/peers.py q1 (release, 12 warm runs, median).
//!
//! [`UnorderedAggregates`] is a physical optimizer rule, run after DataFusion's: it walks the
//! plan from the top, tracking whether the order of each node's output is needed (an ancestor
//! requires an ordering of its input, through nodes that keep their input's order; the plan's
//! single output partition counts as needed, as `ORDER BY` may rely on it). An ordered
//! aggregate whose order is not needed gets a [`ForgetOrderExec`] below its partial half (or
//! below it, when it runs in one step): the same batches, with no ordering declared, so the
//! aggregate and the repartition above are rebuilt as their unordered forms.

use std::fmt;
use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNodeRecursion};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::execution_plan::ChildrenPropertiesMode;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, InputOrderMode,
    PlanProperties, ReplaceChildrenOptions,
};

/// The rule (see the module documentation).
#[derive(Debug, Default)]
pub struct UnorderedAggregates;

impl PhysicalOptimizerRule for UnorderedAggregates {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let needed =
            plan.output_partitioning().partition_count() == 1 && plan.output_ordering().is_some();
        Ok(rewrite(plan, needed)?.data)
    }

    fn name(&self) -> &str {
        "unordered_aggregates"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `plan` with its unneeded ordered aggregates made plain; `needed`: whether its parent needs
/// the order of its output.
fn rewrite(
    plan: Arc<dyn ExecutionPlan>,
    needed: bool,
) -> Result<Transformed<Arc<dyn ExecutionPlan>>> {
    if !needed
        && let Some(agg) = plan.downcast_ref::<AggregateExec>()
        && *agg.input_order_mode() != InputOrderMode::Linear
        && !matches!(agg.mode(), AggregateMode::Partial)
        && let Some(new) = forget_below(&plan)?
    {
        return Ok(Transformed::yes(new));
    }
    let required = plan.required_input_ordering();
    let keeps = plan.maintains_input_order();
    let in_order = plan
        .downcast_ref::<AggregateExec>()
        .is_some_and(reads_in_order);
    let mut changed = false;
    let mut children = Vec::with_capacity(plan.children().len());
    for (i, child) in plan.children().into_iter().enumerate() {
        let child_needed = required.get(i).is_some_and(Option::is_some)
            || in_order
            || (needed && keeps.get(i).copied().unwrap_or(false));
        let child = rewrite(Arc::clone(child), child_needed)?;
        changed |= child.transformed;
        children.push(child.data);
    }
    if !changed {
        return Ok(Transformed::no(plan));
    }
    Ok(Transformed::yes(rebuild(plan, children)?))
}

/// The aggregate `plan` (a final or one-step half) with [`ForgetOrderExec`] below the half that
/// reads its input; `None` when something other than repartitions separates the two halves.
fn forget_below(plan: &Arc<dyn ExecutionPlan>) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    let Some(agg) = plan.downcast_ref::<AggregateExec>() else {
        return Ok(None);
    };
    let reads_input = matches!(
        agg.mode(),
        AggregateMode::Partial | AggregateMode::Single | AggregateMode::SinglePartitioned
    );
    if reads_input {
        // The aggregates below are rewritten in the same walk (or only a second run of the
        // rule would reach them), unless this one's functions read its input in order.
        let input = rewrite(Arc::clone(agg.input()), reads_in_order(agg))?.data;
        let forget: Arc<dyn ExecutionPlan> = Arc::new(ForgetOrderExec::new(input));
        return Ok(Some(rebuild(Arc::clone(plan), vec![forget])?));
    }
    // A final half: down through repartitions to its partial half.
    let mut chain = vec![Arc::clone(plan)];
    let mut node = Arc::clone(agg.input());
    while node.downcast_ref::<RepartitionExec>().is_some() {
        chain.push(Arc::clone(&node));
        node = Arc::clone(node.children()[0]);
    }
    let partial = match node.downcast_ref::<AggregateExec>() {
        Some(p) if matches!(p.mode(), AggregateMode::Partial) => forget_below(&node)?,
        _ => None,
    };
    let Some(mut rebuilt) = partial else {
        return Ok(None);
    };
    for parent in chain.into_iter().rev() {
        rebuilt = rebuild(parent, vec![rebuilt])?;
    }
    Ok(Some(rebuilt))
}

/// Whether an aggregate's functions take their input in order (`last_value(… ORDER BY …)`,
/// `array_agg(… ORDER BY …)`): DataFusion's `OptimizeAggregateOrder` lets them trust the
/// order the rows arrive in when the input declares theirs, and a `ForgetOrderExec` keeps
/// the rows as they come, so the order below it must stay.
fn reads_in_order(agg: &AggregateExec) -> bool {
    agg.aggr_expr().iter().any(|e| !e.order_bys().is_empty())
}

/// `plan` over new children, its properties (ordering, aggregation mode) computed again.
fn rebuild(
    plan: Arc<dyn ExecutionPlan>,
    children: Vec<Arc<dyn ExecutionPlan>>,
) -> Result<Arc<dyn ExecutionPlan>> {
    plan.replace_children(
        children,
        ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
    )
}

/// Its input's batches, unchanged, with no output ordering declared.
#[derive(Debug)]
pub struct ForgetOrderExec {
    input: Arc<dyn ExecutionPlan>,
    properties: Arc<PlanProperties>,
}

impl ForgetOrderExec {
    pub fn new(input: Arc<dyn ExecutionPlan>) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(input.schema()),
            input.output_partitioning().clone(),
            input.pipeline_behavior(),
            input.boundedness(),
        );
        Self {
            input,
            properties: Arc::new(properties),
        }
    }
}

impl DisplayAs for ForgetOrderExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "ForgetOrderExec")
    }
}

impl ExecutionPlan for ForgetOrderExec {
    fn name(&self) -> &str {
        "ForgetOrderExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![false]
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
        let input = crate::only_child(children, "ForgetOrderExec")?;
        Ok(Arc::new(Self::new(input)))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        self.input.execute(partition, context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::execution::session_state::SessionStateBuilder;
    use datafusion::prelude::{SessionConfig, SessionContext, col};

    /// A table of two partitions, each sorted by `b` (declared): k / 10 and k % 3 as text.
    fn sorted_table() -> Result<MemTable> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("b", DataType::Int64, false),
            Field::new("g", DataType::Utf8, false),
        ]));
        let part = |ks: std::ops::RangeInclusive<i64>| {
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(Int64Array::from_iter_values(ks.clone().map(|k| k / 10))),
                    Arc::new(StringArray::from_iter_values(
                        ks.map(|k| (k % 3).to_string()),
                    )),
                ],
            )
        };
        let parts = vec![vec![part(1..=500)?], vec![part(501..=1000)?]];
        Ok(MemTable::try_new(Arc::clone(&schema), parts)?
            .with_sort_order(vec![vec![col("b").sort(true, false)]]))
    }

    async fn context(partitions: usize) -> Result<SessionContext> {
        let state = SessionStateBuilder::new()
            .with_config(SessionConfig::new().with_target_partitions(partitions))
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(UnorderedAggregates))
            .build();
        let ctx = SessionContext::new_with_state(state);
        ctx.register_table("s", Arc::new(sorted_table()?))?;
        Ok(ctx)
    }

    /// The rows the query returns, run as planned.
    async fn row_count(ctx: &SessionContext, q: &str) -> Result<usize> {
        let batches = ctx.sql(q).await?.collect().await?;
        Ok(batches.iter().map(RecordBatch::num_rows).sum())
    }

    async fn plan_text(ctx: &SessionContext, q: &str) -> Result<String> {
        let plan = ctx.sql(q).await?.create_physical_plan().await?;
        Ok(datafusion::physical_plan::displayable(plan.as_ref())
            .indent(false)
            .to_string())
    }

    /// In several partitions, the unneeded order is forgotten and the answer stays; an ORDER BY
    /// that the aggregate's order satisfies keeps its ordered plan and its order; in one
    /// partition (where ORDER BY may rely on the aggregate alone) nothing changes.
    #[tokio::test]
    async fn only_unneeded_orders_are_forgotten() -> Result<()> {
        let grouped = "SELECT b, g, count(*) AS n FROM s GROUP BY b, g";
        let ordered = format!("{grouped} ORDER BY b");
        for partitions in [1, 2] {
            let ctx = context(partitions).await?;
            let plain = plan_text(&ctx, grouped).await?;
            assert_eq!(
                plain.contains("ForgetOrderExec"),
                partitions > 1,
                "{partitions}:\n{plain}"
            );
            if partitions > 1 {
                assert!(
                    !plain.contains("Sorted"),
                    "an ordered aggregate was left:\n{plain}"
                );
            }
            let kept = plan_text(&ctx, &ordered).await?;
            assert!(!kept.contains("ForgetOrderExec"), "{partitions}:\n{kept}");
            let rows = ctx.sql(&ordered).await?.collect().await?;
            let b: Vec<i64> = rows
                .iter()
                .flat_map(|r| {
                    r.column(0)
                        .as_any()
                        .downcast_ref::<Int64Array>()
                        .unwrap()
                        .values()
                        .to_vec()
                })
                .collect();
            assert!(b.is_sorted(), "{partitions}: ORDER BY lost");
            assert_eq!(b.len(), 301);
            assert_eq!(row_count(&ctx, grouped).await?, 301);
            let total = ctx
                .sql(&format!("SELECT sum(n) FROM ({grouped})"))
                .await?
                .collect()
                .await?;
            let total = total[0]
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .value(0);
            assert_eq!(total, 1000);
        }
        Ok(())
    }

    /// Aggregates with ORDER BY functions over an aggregate give the same answers with and
    /// without the rule. (The wrong order `reads_in_order` guards against depends on how the
    /// partitions interleave: with the guard removed this test still passed here.)
    #[tokio::test]
    async fn ordered_functions_keep_the_order_below() -> Result<()> {
        let with_rule = context(2).await?;
        let without = SessionContext::new_with_state(
            SessionStateBuilder::new()
                .with_config(SessionConfig::new().with_target_partitions(2))
                .with_default_features()
                .build(),
        );
        without.register_table("s", Arc::new(sorted_table()?))?;
        for q in [
            "SELECT g, last_value(n ORDER BY b) AS last, first_value(n ORDER BY b) AS first \
             FROM (SELECT b, g, count(*) * b AS n FROM s GROUP BY b, g) GROUP BY g ORDER BY g",
            "SELECT h, last_value(n ORDER BY b) AS last, array_agg(n ORDER BY b) AS all_n \
             FROM (SELECT b / 7 AS h, b, count(*) + b AS n FROM s GROUP BY b) GROUP BY h ORDER BY h",
        ] {
            let text = |batches: Vec<RecordBatch>| {
                datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                    .unwrap()
                    .to_string()
            };
            let expected = text(without.sql(q).await?.collect().await?);
            let got = text(with_rule.sql(q).await?.collect().await?);
            assert_eq!(got, expected, "{q}\n{}", plan_text(&with_rule, q).await?);
        }
        Ok(())
    }

    /// An aggregate over an aggregate: both lose their unneeded order in one run of the rule.
    #[tokio::test]
    async fn nested_aggregates_are_rewritten_in_one_run() -> Result<()> {
        let ctx = context(2).await?;
        let q = "SELECT b, count(*) AS groups FROM (SELECT b, g, count(*) AS n FROM s GROUP BY b, g) GROUP BY b";
        let plan = plan_text(&ctx, q).await?;
        assert_eq!(plan.matches("ForgetOrderExec").count(), 2, "{plan}");
        assert!(
            !plan.contains("Sorted"),
            "an ordered aggregate was left:\n{plan}"
        );
        let distinct = ctx.sql("SELECT DISTINCT b FROM s").await?.count().await?;
        assert_eq!(row_count(&ctx, q).await?, distinct);
        Ok(())
    }
}
