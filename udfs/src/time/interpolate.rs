//! `interpolate(aggregate)`: linear interpolation into gap-filled buckets.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use super::fill_marker;

pub const NAME: &str = "interpolate";

#[user_doc(
    doc_section(label = "Time-window functions"),
    description = "In a query grouped by `time_bucket_gapfill`, fills the aggregate's value in \
buckets that had no rows by linear interpolation in time between the nearest buckets before and \
after them in the same group that have a non-NULL value (integers are rounded to the nearest); \
NULL where either neighbour is missing. Buckets that had rows keep their own value.",
    syntax_example = "interpolate(aggregate)",
    argument(
        name = "aggregate",
        description = "A numeric aggregate of the gap-filled query."
    ),
    related_udf(name = "time_bucket_gapfill"),
    related_udf(name = "locf")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Interpolate {
    signature: Signature,
}

impl Default for Interpolate {
    fn default() -> Self {
        Self::new()
    }
}

impl Interpolate {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Interpolate {
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
