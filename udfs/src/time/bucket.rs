//! The bucketing kernel shared by `time_bucket`, `time_bucket_gapfill` and `signal_windows`.
//!
//! Everything is computed on nanoseconds since the Unix epoch as `i128`, so no width, origin or
//! time unit can overflow halfway; results that do not fit the output type are errors, never
//! wrapped values.

use chrono::{DateTime, Datelike, Months, NaiveDateTime, Offset, TimeZone, Timelike};
use datafusion::arrow::array::timezone::Tz;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};

pub(crate) const NANOS_PER_DAY: i128 = 86_400_000_000_000;

/// TimescaleDB's default origin for widths in days, hours, … : Monday 2000-01-03, so weekly
/// buckets start on Mondays.
pub(crate) const DEFAULT_ORIGIN_NS: i128 = 946_857_600_000_000_000;
/// TimescaleDB's default origin for widths in months and years: 2000-01-01.
pub(crate) const DEFAULT_MONTH_ORIGIN_NS: i128 = 946_684_800_000_000_000;

/// A bucket width: fixed (nanoseconds) or calendar months. Mixing both is refused, as
/// TimescaleDB does, because "1 month 2 days" has no fixed grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Width {
    Nanos(i128),
    Months(i32),
}

impl Width {
    /// Reads an interval literal; `who` names the function in errors.
    pub(crate) fn from_interval(who: &str, value: &ScalarValue) -> Result<Option<Self>> {
        let (months, days, nanos) = match value {
            ScalarValue::IntervalMonthDayNano(Some(v)) => {
                (v.months, v.days, i128::from(v.nanoseconds))
            }
            ScalarValue::IntervalDayTime(Some(v)) => {
                (0, v.days, i128::from(v.milliseconds) * 1_000_000)
            }
            ScalarValue::IntervalYearMonth(Some(m)) => (*m, 0, 0),
            v if v.is_null() => return Ok(None),
            other => {
                return plan_err!(
                    "{who}: width must be an interval, got {}",
                    other.data_type()
                );
            }
        };
        let width = if months != 0 {
            if days != 0 || nanos != 0 {
                return plan_err!(
                    "{who}: a width in months cannot also have days or a time part, got {value}"
                );
            }
            Width::Months(months)
        } else {
            Width::Nanos(i128::from(days) * NANOS_PER_DAY + nanos)
        };
        let positive = match width {
            Width::Months(m) => m > 0,
            Width::Nanos(n) => n > 0,
        };
        if !positive {
            return plan_err!("{who}: width must be a positive interval, got {value}");
        }
        Ok(Some(width))
    }

    pub(crate) fn default_origin(self) -> i128 {
        match self {
            Width::Nanos(_) => DEFAULT_ORIGIN_NS,
            Width::Months(_) => DEFAULT_MONTH_ORIGIN_NS,
        }
    }
}

/// How instants are mapped to buckets: a width, an origin (a wall-clock time when `tz` is set,
/// otherwise an instant or a naive time) and an optional time zone whose wall clock the grid
/// follows (so that `1 day` buckets start at local midnight, across DST changes too).
#[derive(Debug, Clone)]
pub struct Bucketer {
    pub(crate) width: Width,
    pub(crate) origin: i128,
    pub(crate) tz: Option<Tz>,
}

impl Bucketer {
    /// The start of the bucket holding `t` (nanoseconds), or `None` when out of range.
    #[inline]
    pub fn bucket(&self, t: i128) -> Option<i128> {
        match &self.tz {
            None => self.bucket_plain(t),
            Some(tz) => {
                let local = t + offset_ns_at(tz, t)?;
                let start = self.bucket_plain(local)?;
                local_to_instant(tz, start, t)
            }
        }
    }

    /// The start of the bucket after the one starting at `start` (for gap filling).
    pub fn next(&self, start: i128) -> Option<i128> {
        match &self.tz {
            None => self.step_plain(start, 1),
            Some(tz) => {
                let local = start + offset_ns_at(tz, start)?;
                let next = self.step_plain(local, 1)?;
                local_to_instant(tz, next, start)
            }
        }
    }

    #[inline]
    fn bucket_plain(&self, t: i128) -> Option<i128> {
        match self.width {
            Width::Nanos(w) => Some(self.origin + (t - self.origin).div_euclid(w) * w),
            Width::Months(w) => {
                let t_dt = to_naive(t)?;
                let o_dt = to_naive(self.origin)?;
                let mut months = (i64::from(t_dt.year()) - i64::from(o_dt.year())) * 12
                    + i64::from(t_dt.month0())
                    - i64::from(o_dt.month0());
                // Earlier in its month than the origin is in its own: still the month before.
                if (t_dt.day(), t_dt.time()) < (o_dt.day(), o_dt.time()) {
                    months -= 1;
                }
                let k = months.div_euclid(i64::from(w)) * i64::from(w);
                add_months(o_dt, k).map(from_naive)
            }
        }
    }

    fn step_plain(&self, start: i128, steps: i64) -> Option<i128> {
        match self.width {
            Width::Nanos(w) => Some(start + w * i128::from(steps)),
            Width::Months(w) => {
                // Step from the origin, not from `start`: month lengths would drift the day.
                let o_dt = to_naive(self.origin)?;
                let s_dt = to_naive(start)?;
                let months = (i64::from(s_dt.year()) - i64::from(o_dt.year())) * 12
                    + i64::from(s_dt.month0())
                    - i64::from(o_dt.month0());
                add_months(o_dt, months + i64::from(w) * steps).map(from_naive)
            }
        }
    }
}

fn add_months(dt: NaiveDateTime, months: i64) -> Option<NaiveDateTime> {
    if months >= 0 {
        dt.checked_add_months(Months::new(u32::try_from(months).ok()?))
    } else {
        dt.checked_sub_months(Months::new(u32::try_from(-months).ok()?))
    }
}

pub(crate) fn to_naive(ns: i128) -> Option<NaiveDateTime> {
    let secs = i64::try_from(ns.div_euclid(1_000_000_000)).ok()?;
    let sub = u32::try_from(ns.rem_euclid(1_000_000_000)).ok()?;
    DateTime::from_timestamp(secs, sub).map(|d| d.naive_utc())
}

pub(crate) fn from_naive(dt: NaiveDateTime) -> i128 {
    let utc = dt.and_utc();
    i128::from(utc.timestamp()) * 1_000_000_000 + i128::from(utc.timestamp_subsec_nanos())
}

/// The zone's UTC offset at instant `t`, in nanoseconds.
fn offset_ns_at(tz: &Tz, t: i128) -> Option<i128> {
    let naive = to_naive(t)?;
    let offset = tz.offset_from_utc_datetime(&naive).fix();
    Some(i128::from(offset.local_minus_utc()) * 1_000_000_000)
}

/// The instant at which the wall clock of `tz` shows `local`. When the wall clock shows it twice
/// (the hour repeated when DST ends), the one with the offset in force at `near` wins, so a
/// bucket never starts after the instants in it; when it never shows it (the hour skipped when
/// DST starts), the instant the skipped span ends.
fn local_to_instant(tz: &Tz, local: i128, near: i128) -> Option<i128> {
    let naive = to_naive(local)?;
    match tz.offset_from_local_datetime(&naive) {
        chrono::LocalResult::Single(o) => {
            Some(local - i128::from(o.fix().local_minus_utc()) * 1_000_000_000)
        }
        chrono::LocalResult::Ambiguous(a, b) => {
            let near_offset = offset_ns_at(tz, near)?;
            let (a, b) = (
                i128::from(a.fix().local_minus_utc()) * 1_000_000_000,
                i128::from(b.fix().local_minus_utc()) * 1_000_000_000,
            );
            let chosen = if b == near_offset { b } else { a };
            let instant = local - chosen;
            // Never later than the instant being bucketed.
            Some(if instant > near {
                local - a.max(b)
            } else {
                instant
            })
        }
        chrono::LocalResult::None => {
            // Walk forward to the first wall-clock minute that exists; gaps are < 1 day.
            let mut probe = naive;
            for _ in 0..(24 * 60) {
                probe += chrono::Duration::minutes(1);
                if let chrono::LocalResult::Single(o) | chrono::LocalResult::Ambiguous(o, _) =
                    tz.offset_from_local_datetime(&probe)
                {
                    let start_of_gap_end = NaiveDateTime::new(
                        probe.date(),
                        probe.time().with_second(0)?.with_nanosecond(0)?,
                    );
                    return Some(
                        from_naive(start_of_gap_end)
                            - i128::from(o.fix().local_minus_utc()) * 1_000_000_000,
                    );
                }
            }
            None
        }
    }
}

/// Parses a time-zone name (`Europe/Berlin`) or offset (`+02:00`).
pub(crate) fn parse_tz(who: &str, name: &str) -> Result<Tz> {
    match name.parse::<Tz>() {
        Ok(tz) => Ok(tz),
        Err(_) => plan_err!(
            "{who}: unknown time zone '{name}' (expected an IANA name such as 'Europe/Berlin' or \
             an offset such as '+02:00'; to pass an origin, cast it: TIMESTAMP '…')"
        ),
    }
}

/// Nanoseconds per unit of an Arrow time unit.
pub(crate) fn unit_nanos(unit: datafusion::arrow::datatypes::TimeUnit) -> i128 {
    use datafusion::arrow::datatypes::TimeUnit;
    match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    }
}

/// Converts back from nanoseconds to `unit`, rounding down (a bucket start is never after the
/// instants in it), failing when the result does not fit.
pub(crate) fn from_ns(who: &str, ns: i128, per_unit: i128) -> Result<i64> {
    match i64::try_from(ns.div_euclid(per_unit)) {
        Ok(v) => Ok(v),
        Err(_) => exec_err!("{who}: bucket start {ns} ns is out of the timestamp range"),
    }
}

/// Days since the epoch for a `Date32`, from nanoseconds.
pub(crate) fn date_from_ns(who: &str, ns: i128) -> Result<i32> {
    match i32::try_from(ns.div_euclid(NANOS_PER_DAY)) {
        Ok(v) => Ok(v),
        Err(_) => exec_err!("{who}: bucket start {ns} ns is out of the date range"),
    }
}

/// A timestamp scalar as nanoseconds since the epoch (`None` for NULL or another type).
pub fn timestamp_ns(v: &ScalarValue) -> Option<i128> {
    match v {
        ScalarValue::TimestampNanosecond(Some(n), _) => Some(i128::from(*n)),
        ScalarValue::TimestampMicrosecond(Some(n), _) => Some(i128::from(*n) * 1_000),
        ScalarValue::TimestampMillisecond(Some(n), _) => Some(i128::from(*n) * 1_000_000),
        ScalarValue::TimestampSecond(Some(n), _) => Some(i128::from(*n) * 1_000_000_000),
        ScalarValue::Date32(Some(d)) => Some(i128::from(*d) * NANOS_PER_DAY),
        _ => None,
    }
}
