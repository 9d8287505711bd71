//! What `locf` and `interpolate` share: both mark an aggregate of a gap-filled query and are
//! replaced by the engine's gap-fill rule; they never run.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, plan_err};

pub(crate) fn coerce(who: &str, arg_types: &[DataType]) -> Result<Vec<DataType>> {
    match arg_types {
        [t] if t.is_numeric() || *t == DataType::Null => Ok(vec![t.clone()]),
        [t] if who == "locf" => Ok(vec![t.clone()]),
        [t] => plan_err!("{who}: expects a numeric aggregate, got {t}"),
        _ => plan_err!(
            "{who}: expects one argument (an aggregate), got {}",
            arg_types.len()
        ),
    }
}

pub(crate) fn not_planned<T>(who: &str) -> Result<T> {
    plan_err!("{who}: only valid around an aggregate of a query grouped by time_bucket_gapfill")
}
