//! The logical node of a materialized CTE.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use datafusion::common::{DFSchemaRef, Result, internal_datafusion_err, internal_err};
use datafusion::logical_expr::{Expr, LogicalPlan, UserDefinedLogicalNodeCore};

/// The body of `WITH name AS MATERIALIZED (body)`. DataFusion inlines a CTE at each reference,
/// so a body read three times appears three times in the plan, each copy with the same `id`:
/// the physical plan computes one copy and the others read its rows.
///
/// It passes its input's rows through unchanged. Optimizer rules treat it as a barrier: no
/// filter, limit or projection of one reference moves into the body (every copy keeps every
/// column of the body), so all copies stay the same plan.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MaterializedCte {
    /// The CTE's name (for EXPLAIN).
    pub name: String,
    /// Shared by the copies of one CTE; unique in the process otherwise.
    pub id: u64,
    pub input: Arc<LogicalPlan>,
}

impl MaterializedCte {
    pub fn new(name: String, id: u64, input: LogicalPlan) -> Self {
        Self {
            name,
            id,
            input: Arc::new(input),
        }
    }
}

// Plans are compared only to order equal-looking nodes.
impl PartialOrd for MaterializedCte {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (self.id, &self.name, &self.input).partial_cmp(&(other.id, &other.name, &other.input))
    }
}

impl UserDefinedLogicalNodeCore for MaterializedCte {
    fn name(&self) -> &str {
        "MaterializedCte"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.input]
    }

    fn schema(&self) -> &DFSchemaRef {
        self.input.schema()
    }

    fn expressions(&self) -> Vec<Expr> {
        vec![]
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "MaterializedCte: {}", self.name)
    }

    fn with_exprs_and_inputs(&self, exprs: Vec<Expr>, inputs: Vec<LogicalPlan>) -> Result<Self> {
        if !exprs.is_empty() {
            return internal_err!("MaterializedCte: expected no expressions");
        }
        let [input]: [LogicalPlan; 1] = inputs.try_into().map_err(|v: Vec<_>| {
            internal_datafusion_err!("MaterializedCte: expected 1 input, got {}", v.len())
        })?;
        Ok(Self::new(self.name.clone(), self.id, input))
    }
}
