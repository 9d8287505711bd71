//! Time-window functions: put rows of every modality on one time grid.
//!
//! | function | NULLs | edge cases | cost |
//! |---|---|---|---|
//! | [`time_bucket`] | NULL `ts` → NULL; a NULL width/origin/zone → all NULL | width must be constant and positive; months and days cannot mix; DST: local grid, repeated hour resolved to the offset at `ts`, skipped hour to its end | O(n), one pass, no allocation per row |
//!
//! `bucket` is the kernel the functions share.

use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;

pub(crate) mod bucket;
pub mod time_bucket;

/// The scalar functions of this family.
pub fn functions() -> Vec<Arc<ScalarUDF>> {
    vec![Arc::new(ScalarUDF::from(time_bucket::TimeBucket::new()))]
}
