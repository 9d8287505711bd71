//! `locf(aggregate)`: last observation carried forward into gap-filled buckets.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use super::fill_marker;

pub const NAME: &str = "locf";

#[user_doc(
    doc_section(label = "Time-window functions"),
    description = "In a query grouped by `time_bucket_gapfill`, fills the aggregate's value in \
buckets that had no rows with the last non-NULL value before them in the same group (NULL \
before the first one). Buckets that had rows keep their own value, NULL included.",
    syntax_example = "locf(aggregate)",
    argument(
        name = "aggregate",
        description = "An aggregate of the gap-filled query, of any type."
    ),
    related_udf(name = "time_bucket_gapfill"),
    related_udf(name = "interpolate")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Locf {
    signature: Signature,
}

impl Default for Locf {
    fn default() -> Self {
        Self::new()
    }
}

impl Locf {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Locf {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        fill_marker::coerce(NAME, arg_types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types[0].clone())
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        fill_marker::not_planned(NAME)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
