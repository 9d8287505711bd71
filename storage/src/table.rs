//! `SignalTable`: one signal table of a lake as a DataFusion `TableProvider`.
//!
//! A scan turns the `ts` bounds found in the pushed-down filters into the hour (or day) folders
//! that can hold matching rows and lists only those, then delegates to a `ListingTable` over them
//! (sharing the session's file statistics cache) for everything else: row-group and page
//! pruning on the `ts` statistics, projection, file statistics, and the `ts` sort order of each
//! file. A query over one hour of a 24-hour lake therefore lists, opens and reads one hour's
//! files.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{Result, ScalarValue};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::logical_expr::{
    Between, BinaryExpr, Expr, Operator, TableProviderFilterPushDown, col,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;

use crate::lake::Lake;
use crate::layout::prefixes_for_range;
use crate::schema::SignalKind;

/// A signal table over a lake.
#[derive(Debug)]
pub struct SignalTable {
    lake: Lake,
    kind: SignalKind,
}

impl SignalTable {
    pub fn new(lake: &Lake, kind: SignalKind) -> Self {
        Self {
            lake: lake.clone(),
            kind,
        }
    }

    fn listing(&self, state: &dyn Session, prefixes: Vec<String>) -> Result<ListingTable> {
        let urls = prefixes
            .iter()
            .map(|p| ListingTableUrl::parse(self.lake.url_of(p).as_str()))
            .collect::<Result<Vec<_>>>()?;
        let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
            .with_file_extension(".parquet")
            .with_file_sort_order(vec![vec![col("ts").sort(true, false)]]);
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .with_schema(self.kind.read_schema());
        // The runtime's file statistics cache (as `register_parquet` uses): without it each
        // scan's fresh ListingTable converted every file's footer into statistics and its sort
        // order again. Entries are checked against the object's size and time.
        Ok(ListingTable::try_new(config)?
            .with_cache(state.runtime_env().cache_manager.get_file_statistic_cache()))
    }
}

#[async_trait]
impl TableProvider for SignalTable {
    fn schema(&self) -> SchemaRef {
        self.kind.read_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // Filters prune folders, files and row groups but are re-applied above the scan.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let (lo, hi) = ts_bounds(filters);
        let prefixes = prefixes_for_range(self.kind, lo, hi)
            .unwrap_or_else(|| vec![format!("{}/", self.kind)]);
        if prefixes.is_empty() {
            let schema = datafusion::physical_plan::project_schema(&self.schema(), projection)?;
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        self.listing(state, prefixes)?
            .scan(state, projection, filters, limit)
            .await
    }
}

/// Nanoseconds of a timestamp literal of any unit.
fn literal_ns(e: &Expr) -> Option<i64> {
    let Expr::Literal(v, _) = e else { return None };
    match v {
        ScalarValue::TimestampNanosecond(Some(v), _) => Some(*v),
        ScalarValue::TimestampMicrosecond(Some(v), _) => v.checked_mul(1_000),
        ScalarValue::TimestampMillisecond(Some(v), _) => v.checked_mul(1_000_000),
        ScalarValue::TimestampSecond(Some(v), _) => v.checked_mul(1_000_000_000),
        _ => None,
    }
}

fn is_ts(e: &Expr) -> bool {
    matches!(e, Expr::Column(c) if c.name == "ts")
}

fn raise(lo: &mut Option<i64>, v: i64) {
    *lo = Some(lo.map_or(v, |l| l.max(v)));
}

fn cap(hi: &mut Option<i64>, v: i64) {
    *hi = Some(hi.map_or(v, |h| h.min(v)));
}

/// Narrows `[lo, hi)` with one conjunct.
fn narrow(e: &Expr, lo: &mut Option<i64>, hi: &mut Option<i64>) {
    match e {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::And,
            right,
        }) => {
            narrow(left, lo, hi);
            narrow(right, lo, hi);
        }
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            // Put the column on the left: `v < ts` is `ts > v`.
            let (op, v) = if is_ts(left) {
                (*op, literal_ns(right))
            } else if is_ts(right) {
                match op.swap() {
                    Some(op) => (op, literal_ns(left)),
                    None => return,
                }
            } else {
                return;
            };
            let Some(v) = v else { return };
            match op {
                Operator::Eq => {
                    raise(lo, v);
                    cap(hi, v.saturating_add(1));
                }
                Operator::Gt => raise(lo, v.saturating_add(1)),
                Operator::GtEq => raise(lo, v),
                Operator::Lt => cap(hi, v),
                Operator::LtEq => cap(hi, v.saturating_add(1)),
                _ => {}
            }
        }
        Expr::Between(Between {
            expr,
            negated: false,
            low,
            high,
        }) if is_ts(expr) => {
            if let Some(v) = literal_ns(low) {
                raise(lo, v);
            }
            if let Some(v) = literal_ns(high) {
                cap(hi, v.saturating_add(1));
            }
        }
        _ => {}
    }
}

/// The `[lo, hi)` range of `ts` implied by a conjunction of filters; `None` where open.
pub fn ts_bounds(filters: &[Expr]) -> (Option<i64>, Option<i64>) {
    let (mut lo, mut hi) = (None, None);
    for f in filters {
        narrow(f, &mut lo, &mut hi);
    }
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::logical_expr::lit;

    fn ts_lit(v: i64) -> Expr {
        lit(ScalarValue::TimestampNanosecond(
            Some(v),
            Some("UTC".into()),
        ))
    }

    #[test]
    fn bounds_from_comparisons_in_either_order_and_between() {
        let f = vec![col("ts").gt_eq(ts_lit(10)).and(ts_lit(20).gt(col("ts")))];
        assert_eq!(ts_bounds(&f), (Some(10), Some(20)));
        let f = vec![col("ts").between(ts_lit(10), ts_lit(20))];
        assert_eq!(ts_bounds(&f), (Some(10), Some(21)));
        let f = vec![col("ts").eq(ts_lit(7)), col("service").eq(lit("a"))];
        assert_eq!(ts_bounds(&f), (Some(7), Some(8)));
        let ms = lit(ScalarValue::TimestampMillisecond(Some(3), None));
        assert_eq!(ts_bounds(&[col("ts").gt(ms)]), (Some(3_000_001), None));
    }

    #[test]
    fn disjunctions_and_other_columns_do_not_narrow() {
        let f = vec![col("ts").gt(ts_lit(10)).or(col("ts").lt(ts_lit(5)))];
        assert_eq!(ts_bounds(&f), (None, None));
        let f = vec![col("duration_ns").gt(lit(5i64))];
        assert_eq!(ts_bounds(&f), (None, None));
    }
}
