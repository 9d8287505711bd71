//! Time-window functions: put rows of every modality on one time grid.
//!
//! | function | NULLs | edge cases | cost |
//! |---|---|---|---|
//! | [`time_bucket`] | NULL `ts` → NULL; a NULL width/origin/zone → all NULL | width must be constant and positive; months and days cannot mix; DST: local grid, repeated hour resolved to the offset at `ts`, skipped hour to its end | O(n), one pass, no allocation per row |
//! | [`time_bucket_gapfill`] | as `time_bucket` | needs `WHERE` bounds on `ts`; ≤ 10 M buckets | planned by the engine's gap-fill rule into a `GapFill` operator; never runs itself |
//! | [`signal_windows`] | a modality without rows in a window → NULL columns | fixed widths only; slide ≤ width, width/slide ≤ 1000; NULL services are not joined | one hash aggregate per modality + 3 full joins on (service, window); a row is counted width/slide times |
//! | [`locf`], [`interpolate`] | only gap rows are filled; NULL before the first / outside neighbours | numeric for `interpolate` | markers replaced by the same rule |
//!
//! `bucket` is the kernel shared with the engine's gap-fill operator and `signal_windows`
//! ([`Bucketer`], built from constant arguments by [`bucketer_from_scalars`]).

use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, RecordBatchOptions};
use datafusion::arrow::datatypes::Schema;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF};
use datafusion::physical_expr::PhysicalExpr;

pub(crate) mod bucket;
mod fill_marker;
pub mod interpolate;
pub mod locf;
pub mod signal_windows;
pub mod time_bucket;
pub mod time_bucket_gapfill;

pub use bucket::{Bucketer, timestamp_ns};

/// The scalar functions of this family.
pub fn functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::from(time_bucket::TimeBucket::new())),
        Arc::new(ScalarUDF::from(
            time_bucket_gapfill::TimeBucketGapfill::new(),
        )),
        Arc::new(ScalarUDF::from(locf::Locf::new())),
        Arc::new(ScalarUDF::from(interpolate::Interpolate::new())),
    ]
}

/// The bucketing of `time_bucket(width, ts, …)` for constant arguments `args` (the `ts`
/// position is ignored); `None` when one of them is NULL.
pub fn bucketer_from_scalars(who: &str, args: &[ScalarValue]) -> Result<Option<Bucketer>> {
    let args: Vec<ColumnarValue> = args.iter().cloned().map(ColumnarValue::Scalar).collect();
    time_bucket::bucketer(who, &args)
}

/// The value of a constant physical expression (one without column references), evaluated on a
/// one-row batch with no columns: how arguments that must be constants (widths, bounds) are read
/// while planning.
pub fn evaluate_constant(expr: &Arc<dyn PhysicalExpr>) -> Result<ScalarValue> {
    let one_row = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )?;
    match expr.evaluate(&one_row)? {
        ColumnarValue::Scalar(s) => Ok(s),
        ColumnarValue::Array(a) => ScalarValue::try_from_array(&a, 0),
    }
}

/// Runs a future that must not wait (planning SQL over the in-memory catalog) to its end in one
/// poll, without an executor: table functions plan SQL while the caller's planner runs inside
/// one, and nesting executors panics. An error if it would wait.
pub fn ready<F: std::future::Future>(who: &str, f: F) -> Result<F::Output> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(f).poll(&mut cx) {
        std::task::Poll::Ready(out) => Ok(out),
        std::task::Poll::Pending => datafusion::common::plan_err!(
            "{who}: planning waited on I/O (a catalog that is not in memory?)"
        ),
    }
}
