//! `time_bucket_gapfill(width, ts [, origin | offset | timezone [, origin]])`: `time_bucket` that
//! also makes the grouped query emit the buckets with no rows.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use super::time_bucket::coerce_bucket_args;

pub const NAME: &str = "time_bucket_gapfill";

#[user_doc(
    doc_section(label = "Time-window functions"),
    description = "`time_bucket` for dashboards: used as a `GROUP BY` expression, the query \
also returns the buckets that have no rows, from the bucket of the lower bound to the bucket of \
the upper bound that the `WHERE` clause puts on `ts` (`ts >= a AND ts < b`, `>`/`<=`, or \
`BETWEEN`; constant expressions such as `now() - INTERVAL '1 hour'` are fine). The bounds are \
required: without them the query is refused while planning. When the query also groups by \
other columns, every group gets every bucket. In the missing buckets, aggregates are NULL \
(`count` too) unless wrapped in `locf(…)` (last value carried forward) or `interpolate(…)` \
(linear). It is planned as its own operator (`GapFill` in `EXPLAIN`) over the aggregate, never \
as a join. Bounds more than 10 million buckets apart are refused.",
    syntax_example = "time_bucket_gapfill(width, ts [, origin | offset | timezone [, origin]])",
    sql_example = r#"```sql
> SELECT time_bucket_gapfill(INTERVAL '1 minute', ts) AS minute, service,
         count(value) AS samples, locf(avg(value)) AS cpu, interpolate(max(value)) AS peak
  FROM metrics
  WHERE name = 'cpu' AND ts >= TIMESTAMP '2024-06-03 00:00:00' AND ts < TIMESTAMP '2024-06-03 00:05:00'
  GROUP BY minute, service ORDER BY service, minute;
```"#,
    argument(name = "width", description = "Bucket width, as for `time_bucket`."),
    argument(
        name = "ts",
        description = "The timestamp column that the `WHERE` clause bounds."
    ),
    related_udf(name = "time_bucket"),
    related_udf(name = "locf"),
    related_udf(name = "interpolate")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TimeBucketGapfill {
    signature: Signature,
}

impl Default for TimeBucketGapfill {
    fn default() -> Self {
        Self::new()
    }
}

impl TimeBucketGapfill {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for TimeBucketGapfill {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let types = coerce_bucket_args(NAME, arg_types)?;
        if !matches!(types[1], DataType::Timestamp(..)) {
            return plan_err!("{NAME}: ts must be a timestamp, got {}", arg_types[1]);
        }
        Ok(types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types[1].clone())
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        // The engine's gap-fill rule replaces every call; one left here was not a GROUP BY key.
        plan_err!("{NAME}: only valid as a GROUP BY expression of an aggregate query")
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}
