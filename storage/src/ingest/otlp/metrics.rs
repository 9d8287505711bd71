//! Metrics: one row per gauge or sum data point; histograms, exponential histograms and
//! summaries as the Prometheus series `_count`, `_sum`, `_bucket{le}` and `{quantile}`.

use datafusion::common::Result;

use super::json::{Attrs, json_str, label_f64, rendered};
use super::records::{Line, Loc, Origin, ts_cell};
use super::{
    Decode, Enum, ExpHistogramPoint, F64, HistogramPoint, Metric, NO_RECORDED_VALUE, Nanos,
    NumberPoint, StdResult, SummaryPoint, TEMPORALITIES, U64,
};
use crate::rows::{Cell, Row};

/// The rows one metric becomes.
struct MetricRows<'l, 'a> {
    line: &'l mut Line<'a>,
    origin: &'l Origin,
    loc: Loc,
    row: &'l mut Row,
    name: String,
    unit: Option<String>,
}

/// One row of a data point: name suffix, an extra label (`le`, `quantile`), value.
type PointRow = (&'static str, Option<(&'static str, String)>, f64);

/// Emits the rows of one metric's data points.
pub(super) fn metric_rows<N, H, E, Q>(
    line: &mut Line,
    origin: &Origin,
    loc: Loc,
    row: &mut Row,
    m: Metric<N, H, E, Q>,
) -> Result<()>
where
    N: Decode<NumberPoint>,
    H: Decode<HistogramPoint>,
    E: Decode<ExpHistogramPoint>,
    Q: Decode<SummaryPoint>,
{
    if m.name.is_empty() {
        return line.reject(loc, "metric has no name", None);
    }
    let mut out = MetricRows {
        line,
        origin,
        loc,
        row,
        name: m.name,
        unit: (!m.unit.is_empty()).then_some(m.unit),
    };
    let mut any = false;
    if let Some(g) = m.gauge {
        any = true;
        out.points("gauge", g.data_points, Attrs::new(), number_rows)?;
    }
    if let Some(s) = m.sum {
        any = true;
        let mut common = temporality(&s.aggregation_temporality);
        common.push(("otel.monotonic".into(), s.is_monotonic.to_string()));
        out.points("sum", s.data_points, common, number_rows)?;
    }
    if let Some(h) = m.histogram {
        any = true;
        let common = temporality(&h.aggregation_temporality);
        out.points("histogram", h.data_points, common, histogram_rows)?;
    }
    if let Some(h) = m.exponential_histogram {
        any = true;
        let common = temporality(&h.aggregation_temporality);
        out.points("exponentialHistogram", h.data_points, common, exp_rows)?;
    }
    if let Some(s) = m.summary {
        any = true;
        out.points("summary", s.data_points, Attrs::new(), summary_rows)?;
    }
    if !any {
        let reason = "metric has no gauge, sum, histogram, exponentialHistogram or summary";
        return out.line.reject(loc, reason, None);
    }
    Ok(())
}

impl MetricRows<'_, '_> {
    /// Emits the rows of every data point; `rows` gives a point's timestamp, flags, attributes
    /// and rows, or why the point is refused.
    fn points<P: Decode<T>, T>(
        &mut self,
        kind: &'static str,
        points: Vec<P>,
        common: Attrs,
        rows: fn(T) -> StdResult<Point, String>,
    ) -> Result<()> {
        let mut loc = self.loc;
        loc.point = Some((kind, 0));
        let line = &mut *self.line;
        line.records(loc, points, |line, loc, p| {
            let point = match rows(p) {
                Ok(point) if point.flags & NO_RECORDED_VALUE != 0 => return Ok(()),
                Ok(point) => point,
                Err(reason) => return line.reject(loc, reason, None),
            };
            let ts = match ts_cell(point.ts, "timeUnixNano") {
                Ok(ts) => ts,
                Err(reason) => return line.reject(loc, reason, None),
            };
            for (suffix, label, value) in point.rows {
                let row = &mut *self.row;
                row.clear();
                row.set("ts", ts.clone())
                    .set("name", format!("{}{suffix}", self.name))
                    .set("value", Cell::Float(value))
                    .set("unit", self.unit.clone());
                let mut extra = common.clone();
                if let Some((k, v)) = label {
                    extra.insert(0, (k.to_string(), json_str(&v)));
                }
                self.origin.fill(row, &extra, &point.attributes);
                line.emit(loc, row)?;
            }
            Ok(())
        })
    }
}

/// A data point ready to become rows.
struct Point {
    ts: Nanos,
    flags: u64,
    attributes: Attrs,
    rows: Vec<PointRow>,
}

fn temporality(t: &Enum) -> Attrs {
    match t.index("AGGREGATION_TEMPORALITY_", &TEMPORALITIES) {
        Some(i @ 1..) => vec![("otel.temporality".into(), json_str(TEMPORALITIES[i]))],
        _ => Attrs::new(),
    }
}

fn number_rows(p: NumberPoint) -> StdResult<Point, String> {
    let value = match (p.as_double, p.as_int) {
        (Some(d), _) => d.0,
        (None, Some(i)) => i.0 as f64,
        (None, None) if p.flags.0 & NO_RECORDED_VALUE != 0 => f64::NAN,
        (None, None) => return Err("data point has no asDouble or asInt".into()),
    };
    Ok(Point {
        ts: p.time_unix_nano,
        flags: p.flags.0,
        attributes: rendered(p.attributes),
        rows: vec![("", None, value)],
    })
}

/// `_count`, `_sum`, `_min`, `_max` rows where the point has them.
fn stats_rows(count: U64, sum: Option<F64>, min: Option<F64>, max: Option<F64>) -> Vec<PointRow> {
    let mut rows = vec![("_count", None, count.0 as f64)];
    for (suffix, v) in [("_sum", sum), ("_min", min), ("_max", max)] {
        if let Some(v) = v {
            rows.push((suffix, None, v.0));
        }
    }
    rows
}

fn histogram_rows(p: HistogramPoint) -> StdResult<Point, String> {
    let mut rows = stats_rows(p.count, p.sum, p.min, p.max);
    let (counts, bounds) = (&p.bucket_counts, &p.explicit_bounds);
    if !counts.is_empty() {
        if counts.len() != bounds.len() + 1 {
            return Err(format!(
                "histogram has {} bucketCounts for {} explicitBounds, expected {}",
                counts.len(),
                bounds.len(),
                bounds.len() + 1
            ));
        }
        let mut cumulative = 0u64;
        for (i, c) in counts.iter().enumerate() {
            cumulative = cumulative.saturating_add(c.0);
            let le = bounds
                .get(i)
                .map_or_else(|| "+Inf".into(), |b| label_f64(b.0));
            rows.push(("_bucket", Some(("le", le)), cumulative as f64));
        }
    }
    Ok(Point {
        ts: p.time_unix_nano,
        flags: p.flags.0,
        attributes: rendered(p.attributes),
        rows,
    })
}

/// Buckets in value order with their upper bounds: negative buckets (highest index first,
/// `le = -base^index`), the zero bucket (`le = zeroThreshold`), positive buckets
/// (`le = base^(index+1)`), then `+Inf` with the total count; `base = 2^(2^-scale)`.
fn exp_rows(p: ExpHistogramPoint) -> StdResult<Point, String> {
    let mut rows = stats_rows(p.count, p.sum, p.min, p.max);
    let step = (-(p.scale.0 as f64)).exp2();
    let bound = |index: i64| (index as f64 * step).exp2();
    let (neg, pos) = (&p.negative, &p.positive);
    if !neg.bucket_counts.is_empty() || !pos.bucket_counts.is_empty() || p.zero_count.0 > 0 {
        let mut cumulative = 0u64;
        let mut bucket = |count: u64, le: f64| {
            cumulative = cumulative.saturating_add(count);
            ("_bucket", Some(("le", label_f64(le))), cumulative as f64)
        };
        for (k, c) in neg.bucket_counts.iter().enumerate().rev() {
            rows.push(bucket(c.0, -bound(neg.offset.0.saturating_add(k as i64))));
        }
        rows.push(bucket(p.zero_count.0, p.zero_threshold.0));
        for (k, c) in pos.bucket_counts.iter().enumerate() {
            rows.push(bucket(
                c.0,
                bound(pos.offset.0.saturating_add(k as i64 + 1)),
            ));
        }
        rows.push(("_bucket", Some(("le", "+Inf".into())), p.count.0 as f64));
    }
    Ok(Point {
        ts: p.time_unix_nano,
        flags: p.flags.0,
        attributes: rendered(p.attributes),
        rows,
    })
}

fn summary_rows(p: SummaryPoint) -> StdResult<Point, String> {
    let mut rows = vec![("_count", None, p.count.0 as f64), ("_sum", None, p.sum.0)];
    for q in &p.quantile_values {
        rows.push(("", Some(("quantile", label_f64(q.quantile.0))), q.value.0));
    }
    Ok(Point {
        ts: p.time_unix_nano,
        flags: p.flags.0,
        attributes: rendered(p.attributes),
        rows,
    })
}
