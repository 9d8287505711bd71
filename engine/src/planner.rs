//! The session's query planner: DataFusion's, plus our extension planners (gap filling, ASOF
//! join, materialized CTEs), and the linking of a materialized CTE's copies.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::common::Result;
use datafusion::execution::context::QueryPlanner;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_planner::{DefaultPhysicalPlanner, ExtensionPlanner, PhysicalPlanner};

use crate::asof::AsofExtensionPlanner;
use crate::gapfill::exec::GapFillPlanner;
use crate::materialized::{MaterializedCtePlanner, share_materialized};

/// DataFusion's physical planner with sigfuse's extension nodes.
#[derive(Debug, Default)]
pub struct SigfuseQueryPlanner;

#[async_trait]
impl QueryPlanner for SigfuseQueryPlanner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session: &dyn datafusion::catalog::Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let planners: Vec<Arc<dyn ExtensionPlanner + Send + Sync>> = vec![
            Arc::new(GapFillPlanner),
            Arc::new(AsofExtensionPlanner),
            Arc::new(MaterializedCtePlanner),
        ];
        let plan = DefaultPhysicalPlanner::with_extension_planners(planners)
            .create_physical_plan(logical_plan, session)
            .await?;
        share_materialized(plan)
    }
}
