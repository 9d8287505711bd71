//! `time_bucket(width, ts [, origin | offset | timezone [, origin]])`, TimescaleDB semantics.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray};
use datafusion::arrow::datatypes::{
    ArrowPrimitiveType, ArrowTimestampType, DataType, Date32Type, Int16Type, Int32Type, Int64Type,
    IntervalUnit, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use datafusion::arrow::error::ArrowError;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::sort_properties::{ExprProperties, SortProperties};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use super::bucket::{
    Bucketer, NANOS_PER_DAY, Width, date_from_ns, from_ns, parse_tz, timestamp_ns, unit_nanos,
};

const NAME: &str = "time_bucket";

#[user_doc(
    doc_section(label = "Time-window functions"),
    description = "The start of the bucket of width `width` that holds `ts`, as TimescaleDB's \
`time_bucket`: buckets are aligned to an origin (default Monday 2000-01-03 for widths in days, \
hours, minutes…, 2000-01-01 for widths in months and years; 0 for integers). A third argument is \
an origin (`TIMESTAMP '…'`), an offset (an interval, shifting the grid) or a time zone name, \
whose wall clock the grid then follows (`1 day` buckets start at local midnight, across DST \
changes). Timestamps with a time zone and no time-zone argument are bucketed in UTC. The result \
has the type of `ts`; it keeps the sort order of `ts`, so plans ordered on `ts` are not re-sorted. \
Checked against DuckDB's `time_bucket` on random data (tests/compare/time_windows.py); two \
documented differences: month buckets start at the origin's day and time (DuckDB keeps only its \
month), and with a time zone, sub-day widths follow the local wall clock (DuckDB uses a fixed grid \
from the origin's instant; both agree for widths dividing one hour).",
    syntax_example = "time_bucket(width, ts [, origin | offset | timezone [, origin]])",
    sql_example = r#"```sql
> SELECT time_bucket(INTERVAL '15 minutes', TIMESTAMP '2024-03-10 12:52:10') AS b;
+---------------------+
| b                   |
+---------------------+
| 2024-03-10T12:45:00 |
+---------------------+
> SELECT time_bucket(INTERVAL '1 day', ts, 'America/New_York') AS day, count(*)
  FROM logs GROUP BY 1 ORDER BY 1;
> SELECT time_bucket(10, 27) AS b;
+----+
| b  |
+----+
| 20 |
+----+
```"#,
    argument(
        name = "width",
        description = "Bucket width: a positive interval (months, or days/hours/… — not both), \
or a positive integer for integer `ts`. Must be a constant."
    ),
    argument(
        name = "ts",
        description = "A timestamp (any unit, with or without time zone), a date, or an integer."
    ),
    argument(
        name = "origin",
        description = "A timestamp that starts a bucket. With a time zone argument, it is a wall-clock time in that zone."
    ),
    argument(
        name = "offset",
        description = "An interval (or an integer for integer `ts`) that shifts every bucket."
    ),
    argument(
        name = "timezone",
        description = "An IANA zone name (`Europe/Berlin`) or offset (`+02:00`) whose local time the buckets follow."
    ),
    related_udf(name = "time_bucket_gapfill")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TimeBucket {
    signature: Signature,
}

impl Default for TimeBucket {
    fn default() -> Self {
        Self::new()
    }
}

impl TimeBucket {
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// What the argument after `ts` means, decided from its type.
enum Third {
    Origin,
    Offset,
    TimeZone,
}

fn third_kind(t: &DataType) -> Option<Third> {
    match t {
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => Some(Third::Origin),
        DataType::Interval(_) => Some(Third::Offset),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(Third::TimeZone),
        _ => None,
    }
}

const INTERVAL: DataType = DataType::Interval(IntervalUnit::MonthDayNano);

/// The integer type an integer `ts` is bucketed in.
fn integer_type(t: &DataType) -> Option<DataType> {
    Some(match t {
        DataType::Int8 | DataType::UInt8 | DataType::Int16 => DataType::Int16,
        DataType::UInt16 | DataType::Int32 => DataType::Int32,
        DataType::UInt32 | DataType::Int64 | DataType::UInt64 => DataType::Int64,
        _ => return None,
    })
}

/// Coerces `time_bucket`-shaped arguments; shared with `time_bucket_gapfill`.
pub(crate) fn coerce_bucket_args(who: &str, types: &[DataType]) -> Result<Vec<DataType>> {
    if !(2..=4).contains(&types.len()) {
        return plan_err!(
            "{who}: expected (width, ts [, origin | offset | timezone [, origin]]), got {} arguments",
            types.len()
        );
    }
    let ts = match &types[1] {
        DataType::Timestamp(unit, tz) => DataType::Timestamp(*unit, tz.clone()),
        DataType::Date32 | DataType::Date64 => DataType::Date32,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
            DataType::Timestamp(TimeUnit::Nanosecond, None)
        }
        other => match integer_type(other) {
            Some(int) => {
                if types.len() > 3 {
                    return plan_err!(
                        "{who}: integer buckets take (width, ts [, offset]), got {} arguments",
                        types.len()
                    );
                }
                for t in [&types[0]].into_iter().chain(types.get(2)) {
                    if integer_type(t).is_none() && *t != DataType::Null {
                        return plan_err!(
                            "{who}: integer ts needs an integer width and offset, got {t}"
                        );
                    }
                }
                return Ok(types.iter().map(|_| int.clone()).collect());
            }
            None => {
                return plan_err!("{who}: ts must be a timestamp, date or integer, got {other}");
            }
        },
    };
    match &types[0] {
        DataType::Interval(_)
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Null => {}
        other => return plan_err!("{who}: width must be an interval for a {ts} ts, got {other}"),
    }
    let mut out = vec![INTERVAL, ts.clone()];
    let ts_tz = match &ts {
        DataType::Timestamp(_, tz) => tz.clone(),
        _ => None,
    };
    if let Some(t) = types.get(2) {
        match third_kind(t) {
            Some(Third::Origin) => out.push(DataType::Timestamp(TimeUnit::Nanosecond, ts_tz)),
            Some(Third::Offset) => out.push(INTERVAL),
            Some(Third::TimeZone) => {
                if ts == DataType::Date32 {
                    return plan_err!("{who}: a time zone needs a timestamp ts, got a date");
                }
                out.push(DataType::Utf8)
            }
            None => {
                return plan_err!(
                    "{who}: third argument must be an origin timestamp, an offset interval or a time zone name, got {t}"
                );
            }
        }
    }
    if let Some(t) = types.get(3) {
        if !matches!(types.get(2).and_then(third_kind), Some(Third::TimeZone))
            || !matches!(third_kind(t), Some(Third::Origin))
        {
            return plan_err!(
                "{who}: a fourth argument is an origin after a time zone, got ({}, {t})",
                types[2]
            );
        }
        out.push(DataType::Timestamp(TimeUnit::Nanosecond, None));
    }
    Ok(out)
}

fn constant<'a>(who: &str, what: &str, v: &'a ColumnarValue) -> Result<&'a ScalarValue> {
    match v {
        ColumnarValue::Scalar(s) => Ok(s),
        ColumnarValue::Array(_) => exec_err!("{who}: {what} must be a constant, got a column"),
    }
}

/// The origin as nanoseconds since the epoch.
fn origin_ns(who: &str, v: &ScalarValue) -> Result<Option<i128>> {
    match timestamp_ns(v) {
        Some(ns) => Ok(Some(ns)),
        None if v.is_null() => Ok(None),
        None => exec_err!("{who}: origin must be a timestamp, got {v}"),
    }
}

/// Builds the bucketer from the constant arguments (`None` when one is NULL: the result is NULL).
pub(crate) fn bucketer(who: &str, args: &[ColumnarValue]) -> Result<Option<Bucketer>> {
    let Some(width) = Width::from_interval(who, constant(who, "width", &args[0])?)? else {
        return Ok(None);
    };
    let mut origin = width.default_origin();
    let mut shift = 0i128;
    let mut tz = None;
    if let Some(third) = args.get(2) {
        match constant(who, "the third argument", third)? {
            ScalarValue::Utf8(name) => match name {
                Some(name) => tz = Some(parse_tz(who, name)?),
                None => return Ok(None),
            },
            ScalarValue::IntervalMonthDayNano(v) => match v {
                Some(v) if v.months == 0 => {
                    shift = i128::from(v.days) * NANOS_PER_DAY + i128::from(v.nanoseconds)
                }
                Some(v) => {
                    return plan_err!(
                        "{who}: an offset cannot have months, got {} months",
                        v.months
                    );
                }
                None => return Ok(None),
            },
            other => match origin_ns(who, other)? {
                Some(o) => origin = o,
                None => return Ok(None),
            },
        }
    }
    if let Some(fourth) = args.get(3) {
        match origin_ns(who, constant(who, "origin", fourth)?)? {
            Some(o) => origin = o,
            None => return Ok(None),
        }
    }
    Ok(Some(Bucketer {
        width,
        origin: origin + shift,
        tz,
    }))
}

fn arrow_err(who: &str) -> ArrowError {
    ArrowError::ComputeError(format!("{who}: bucket start out of the timestamp range"))
}

fn bucket_timestamps<T: ArrowTimestampType>(
    b: &Bucketer,
    array: &ArrayRef,
    tz: Option<Arc<str>>,
) -> Result<ArrayRef> {
    let per = unit_nanos(T::UNIT);
    let input = array.as_primitive::<T>();
    // Fast path: a fixed width and origin that are whole units of `ts` — i64 arithmetic only.
    let out: PrimitiveArray<T> = match (b.width, &b.tz) {
        (Width::Nanos(w), None) if w % per == 0 && b.origin % per == 0 => {
            let (w, o) = (
                i64::try_from(w / per).map_err(|_| arrow_err(NAME)),
                i64::try_from(b.origin / per).map_err(|_| arrow_err(NAME)),
            );
            bucket_fixed(input, w?, o?)?
        }
        _ => input.try_unary(|v| {
            let start = b
                .bucket(i128::from(v) * per)
                .ok_or_else(|| arrow_err(NAME))?;
            from_ns(NAME, start, per).map_err(|_| arrow_err(NAME))
        })?,
    };
    Ok(Arc::new(out.with_timezone_opt(tz)))
}

/// Fixed-width buckets of `width` units from `origin`, in `i64` arithmetic. The lake's `ts` come
/// sorted, so most rows fall in the bucket of the row before: a row inside the last bucket
/// found takes its start without a division. `max(time_bucket(INTERVAL '1 minute', ts))` over
/// the 315 k log rows of the benchmark lake: partial aggregate 0.88–0.90 → 0.40–0.45 ms
/// (release, `EXPLAIN ANALYZE` medians of 15, two rounds). Arrays with NULLs keep the plain
/// division (their NULL slots may hold any value).
fn bucket_fixed<T: ArrowTimestampType>(
    input: &PrimitiveArray<T>,
    width: i64,
    origin: i64,
) -> Result<PrimitiveArray<T>> {
    let start_of = |v: i64| {
        v.checked_sub(origin)
            .and_then(|d| d.div_euclid(width).checked_mul(width))
            .and_then(|d| d.checked_add(origin))
            .ok_or_else(|| arrow_err(NAME))
    };
    if input.null_count() > 0 {
        // NULL slots may hold any value: only the valid ones are computed.
        return Ok(input.try_unary(start_of)?);
    }
    // The last bucket found, `[lo, hi)`; empty at first.
    let (mut lo, mut hi) = (1, 0);
    let mut failed = None;
    let out: Vec<i64> = input
        .values()
        .iter()
        .map(|&v| {
            if v < lo || v >= hi {
                match start_of(v) {
                    Ok(s) => {
                        lo = s;
                        // A bucket that ends past `i64::MAX` ends there: its last value is
                        // found anew.
                        hi = s.saturating_add(width);
                    }
                    Err(e) => failed = Some(e),
                }
            }
            lo
        })
        .collect();
    if let Some(e) = failed {
        return Err(e.into());
    }
    Ok(PrimitiveArray::new(out.into(), input.nulls().cloned()))
}

/// Buckets every value of `ts` (an array) with `b`.
pub(crate) fn bucket_array(b: &Bucketer, ts: &ArrayRef) -> Result<ArrayRef> {
    match ts.data_type() {
        DataType::Timestamp(unit, tz) => {
            let tz = tz.clone();
            match unit {
                TimeUnit::Second => bucket_timestamps::<TimestampSecondType>(b, ts, tz),
                TimeUnit::Millisecond => bucket_timestamps::<TimestampMillisecondType>(b, ts, tz),
                TimeUnit::Microsecond => bucket_timestamps::<TimestampMicrosecondType>(b, ts, tz),
                TimeUnit::Nanosecond => bucket_timestamps::<TimestampNanosecondType>(b, ts, tz),
            }
        }
        DataType::Date32 => {
            let out: PrimitiveArray<Date32Type> =
                ts.as_primitive::<Date32Type>().try_unary(|d| {
                    let start = b
                        .bucket(i128::from(d) * NANOS_PER_DAY)
                        .ok_or_else(|| arrow_err(NAME))?;
                    date_from_ns(NAME, start).map_err(|_| arrow_err(NAME))
                })?;
            Ok(Arc::new(out))
        }
        other => exec_err!("{NAME}: cannot bucket {other}"),
    }
}

fn bucket_integers<T: ArrowPrimitiveType>(
    array: &ArrayRef,
    width: i128,
    offset: i128,
) -> Result<ArrayRef>
where
    T::Native: Into<i128> + TryFrom<i128>,
{
    let out: PrimitiveArray<T> = array.as_primitive::<T>().try_unary(|v| {
        let v: i128 = v.into();
        let start = offset + (v - offset).div_euclid(width) * width;
        T::Native::try_from(start).map_err(|_| {
            ArrowError::ComputeError(format!("{NAME}: bucket start {start} is out of range"))
        })
    })?;
    Ok(Arc::new(out))
}

fn integer_constant(v: &ScalarValue) -> Option<i128> {
    match v {
        ScalarValue::Int16(Some(x)) => Some(i128::from(*x)),
        ScalarValue::Int32(Some(x)) => Some(i128::from(*x)),
        ScalarValue::Int64(Some(x)) => Some(i128::from(*x)),
        _ => None,
    }
}

impl ScalarUDFImpl for TimeBucket {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        coerce_bucket_args(NAME, arg_types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types[1].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let out_type = args.return_field.data_type().clone();
        let (ts, scalar_ts) = match &args.args[1] {
            ColumnarValue::Array(a) => (Arc::clone(a), false),
            ColumnarValue::Scalar(s) => (s.to_array()?, true),
        };
        let result = if integer_type(&out_type).is_some() {
            let width = integer_constant(constant(NAME, "width", &args.args[0])?);
            let offset = match args.args.get(2) {
                Some(v) => integer_constant(constant(NAME, "offset", v)?),
                None => Some(0),
            };
            match (width, offset) {
                (Some(w), _) if w <= 0 => {
                    return plan_err!("{NAME}: width must be a positive integer, got {w}");
                }
                (Some(w), Some(o)) => match out_type {
                    DataType::Int16 => bucket_integers::<Int16Type>(&ts, w, o)?,
                    DataType::Int32 => bucket_integers::<Int32Type>(&ts, w, o)?,
                    _ => bucket_integers::<Int64Type>(&ts, w, o)?,
                },
                _ => return Ok(ColumnarValue::Scalar(ScalarValue::try_from(&out_type)?)),
            }
        } else {
            match bucketer(NAME, &args.args)? {
                Some(b) => bucket_array(&b, &ts)?,
                None => return Ok(ColumnarValue::Scalar(ScalarValue::try_from(&out_type)?)),
            }
        };
        if scalar_ts {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                &result, 0,
            )?))
        } else {
            Ok(ColumnarValue::Array(result))
        }
    }

    fn output_ordering(&self, input: &[ExprProperties]) -> Result<SortProperties> {
        // Non-decreasing in `ts` when every other argument is a constant (see bucket.rs for the
        // DST cases: the repeated hour resolves to the offset in force at `ts`).
        let constants = input
            .iter()
            .enumerate()
            .all(|(i, p)| i == 1 || p.sort_properties == SortProperties::Singleton);
        Ok(if constants {
            input[1].sort_properties
        } else {
            SortProperties::Unordered
        })
    }

    fn preserves_lex_ordering(&self, _inputs: &[ExprProperties]) -> Result<bool> {
        Ok(false)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{
        Date32Array, Int32Array, Int64Array, TimestampMillisecondArray, TimestampNanosecondArray,
        TimestampSecondArray,
    };
    use datafusion::arrow::datatypes::{Field, IntervalMonthDayNano};
    use datafusion::common::config::ConfigOptions;

    fn mdn(months: i32, days: i32, nanos: i64) -> ColumnarValue {
        ColumnarValue::Scalar(ScalarValue::IntervalMonthDayNano(Some(
            IntervalMonthDayNano::new(months, days, nanos),
        )))
    }

    const MIN: i64 = 60_000_000_000;

    fn ns(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_nanos_opt()
            .unwrap()
    }

    fn call(args: Vec<ColumnarValue>) -> Result<ArrayRef> {
        let udf = TimeBucket::new();
        let types: Vec<DataType> = args.iter().map(|a| a.data_type()).collect();
        let coerced = udf.coerce_types(&types)?;
        let args: Vec<ColumnarValue> = args
            .into_iter()
            .zip(&coerced)
            .map(|(a, t)| a.cast_to(t, None))
            .collect::<Result<_>>()?;
        let rows = args.iter().find_map(|a| match a {
            ColumnarValue::Array(a) => Some(a.len()),
            _ => None,
        });
        let out = udf.invoke_with_args(ScalarFunctionArgs {
            number_rows: rows.unwrap_or(1),
            arg_fields: coerced
                .iter()
                .map(|t| Arc::new(Field::new("a", t.clone(), true)))
                .collect(),
            return_field: Arc::new(Field::new("r", udf.return_type(&coerced)?, true)),
            args,
            config_options: Arc::new(ConfigOptions::default()),
        })?;
        out.to_array(rows.unwrap_or(1))
    }

    fn utc(values: Vec<Option<i64>>) -> ColumnarValue {
        ColumnarValue::Array(Arc::new(
            TimestampNanosecondArray::from(values).with_timezone("UTC"),
        ))
    }

    fn nanos(a: &ArrayRef) -> Vec<Option<i64>> {
        a.as_primitive::<TimestampNanosecondType>().iter().collect()
    }

    #[test]
    fn fixed_widths_align_to_the_monday_origin() -> Result<()> {
        let ts = utc(vec![
            Some(ns("2024-03-10T12:52:10Z")),
            None,
            Some(ns("1969-12-31T23:59:59Z")),
        ]);
        let out = call(vec![mdn(0, 0, 15 * MIN), ts.clone()])?;
        assert_eq!(
            nanos(&out),
            vec![
                Some(ns("2024-03-10T12:45:00Z")),
                None,
                Some(ns("1969-12-31T23:45:00Z"))
            ]
        );
        assert_eq!(
            out.data_type(),
            &DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
        );
        // A week starts on Monday (2024-03-04), as in TimescaleDB.
        let week = call(vec![mdn(0, 7, 0), ts])?;
        assert_eq!(nanos(&week)[0], Some(ns("2024-03-04T00:00:00Z")));
        Ok(())
    }

    /// The remembered bucket of the fixed-width path: every row against the division, in
    /// sorted and unsorted order, at bucket edges, behind NULL slots that hold extreme values,
    /// and at the ends of `i64` (where the start overflows: an error, as before).
    #[test]
    fn fixed_widths_agree_with_the_division_in_any_order() -> Result<()> {
        let w = 15 * MIN;
        let start = |v: i64| v.div_euclid(w) * w;
        let base = ns("2024-03-10T12:00:00Z");
        let mut rows: Vec<i64> = (0..400).map(|i| base + i * 7 * MIN / 3 - 2 * MIN).collect();
        rows.extend([
            base,
            base - 1,
            base + w - 1,
            base + w,
            -1,
            0,
            w - 1,
            -w,
            -w - 1,
        ]);
        rows.extend(rows.clone().into_iter().rev());
        let values: Vec<Option<i64>> = rows.iter().map(|&v| Some(v)).collect();
        let out = call(vec![mdn(0, 0, w), utc(values)])?;
        let expected: Vec<Option<i64>> = rows.iter().map(|&v| Some(start(v))).collect();
        assert_eq!(nanos(&out), expected);
        // A NULL slot's value is not bucketed, whatever it holds.
        let values = TimestampNanosecondArray::new(
            vec![base, i64::MIN, base + 1].into(),
            Some(vec![true, false, true].into()),
        )
        .with_timezone("UTC");
        let out = call(vec![mdn(0, 0, w), ColumnarValue::Array(Arc::new(values))])?;
        assert_eq!(
            nanos(&out),
            vec![Some(start(base)), None, Some(start(base))]
        );
        // The last bucket of i64 ends past it; its start is found again, not overflowed.
        let top = i64::MAX - 5;
        let out = call(vec![mdn(0, 0, w), utc(vec![Some(top), Some(i64::MAX)])])?;
        assert_eq!(nanos(&out), vec![Some(start(top)), Some(start(i64::MAX))]);
        // The first bucket of i64 starts before it: an error.
        assert!(call(vec![mdn(0, 0, w), utc(vec![Some(i64::MIN)])]).is_err());
        Ok(())
    }

    #[test]
    fn origin_and_offset_shift_the_grid() -> Result<()> {
        let ts = utc(vec![Some(ns("2024-03-10T12:52:10Z"))]);
        let origin = ColumnarValue::Scalar(ScalarValue::TimestampNanosecond(
            Some(ns("2000-01-01T00:07:00Z")),
            None,
        ));
        let out = call(vec![mdn(0, 0, 15 * MIN), ts.clone(), origin])?;
        assert_eq!(nanos(&out), vec![Some(ns("2024-03-10T12:52:00Z"))]);
        let out = call(vec![mdn(0, 0, 15 * MIN), ts, mdn(0, 0, 10 * MIN)])?;
        assert_eq!(nanos(&out), vec![Some(ns("2024-03-10T12:40:00Z"))]);
        Ok(())
    }

    #[test]
    fn months_follow_the_calendar() -> Result<()> {
        let ts = utc(vec![
            Some(ns("2024-03-31T23:00:00Z")),
            Some(ns("2024-01-01T00:00:00Z")),
            Some(ns("1999-12-31T00:00:00Z")),
        ]);
        let out = call(vec![mdn(3, 0, 0), ts.clone()])?;
        assert_eq!(
            nanos(&out),
            vec![
                Some(ns("2024-01-01T00:00:00Z")),
                Some(ns("2024-01-01T00:00:00Z")),
                Some(ns("1999-10-01T00:00:00Z"))
            ]
        );
        let out = call(vec![mdn(12, 0, 0), ts])?;
        assert_eq!(nanos(&out)[2], Some(ns("1999-01-01T00:00:00Z")));
        Ok(())
    }

    #[test]
    fn time_zone_grid_follows_local_midnight_across_dst() -> Result<()> {
        let tz = || ColumnarValue::Scalar(ScalarValue::Utf8(Some("America/New_York".into())));
        // DST started 2024-03-10 02:00 local (EST −5 → EDT −4).
        let ts = utc(vec![
            Some(ns("2024-03-10T04:59:00Z")), // 23:59 EST on the 9th
            Some(ns("2024-03-10T05:00:00Z")), // 00:00 EST on the 10th
            Some(ns("2024-03-11T03:59:00Z")), // 23:59 EDT on the 10th
            Some(ns("2024-03-10T07:30:00Z")), // 03:30 EDT
        ]);
        let days = call(vec![mdn(0, 1, 0), ts.clone(), tz()])?;
        assert_eq!(
            nanos(&days),
            vec![
                Some(ns("2024-03-09T05:00:00Z")),
                Some(ns("2024-03-10T05:00:00Z")),
                Some(ns("2024-03-10T05:00:00Z")),
                Some(ns("2024-03-10T05:00:00Z")),
            ]
        );
        // DST ended 2024-11-03 02:00 local: 01:00–02:00 happens twice; hourly buckets follow
        // the offset in force, so they stay in order and never start after their rows.
        let ts = utc(vec![
            Some(ns("2024-11-03T05:30:00Z")), // 01:30 EDT
            Some(ns("2024-11-03T06:30:00Z")), // 01:30 EST
            Some(ns("2024-11-03T07:30:00Z")), // 02:30 EST
        ]);
        let hours = call(vec![mdn(0, 0, 60 * MIN), ts, tz()])?;
        assert_eq!(
            nanos(&hours),
            vec![
                Some(ns("2024-11-03T05:00:00Z")),
                Some(ns("2024-11-03T06:00:00Z")),
                Some(ns("2024-11-03T07:00:00Z")),
            ]
        );
        Ok(())
    }

    #[test]
    fn every_unit_dates_and_integers() -> Result<()> {
        let secs = ColumnarValue::Array(Arc::new(TimestampSecondArray::from(vec![Some(125)])));
        let out = call(vec![mdn(0, 0, MIN), secs])?;
        assert_eq!(out.as_primitive::<TimestampSecondType>().value(0), 120);
        let millis =
            ColumnarValue::Array(Arc::new(TimestampMillisecondArray::from(vec![Some(1_999)])));
        let out = call(vec![mdn(0, 0, 500_000_000), millis])?;
        assert_eq!(
            out.as_primitive::<TimestampMillisecondType>().value(0),
            1_500
        );
        let dates = ColumnarValue::Array(Arc::new(Date32Array::from(vec![Some(19_797)])));
        let out = call(vec![mdn(0, 7, 0), dates])?; // 2024-03-15 (Friday) → Monday 2024-03-11
        assert_eq!(out.as_primitive::<Date32Type>().value(0), 19_793);
        let ints = ColumnarValue::Array(Arc::new(Int32Array::from(vec![Some(27), Some(-3), None])));
        let out = call(vec![
            ColumnarValue::Scalar(ScalarValue::Int64(Some(10))),
            ints.clone(),
        ])?;
        assert_eq!(
            out.as_primitive::<Int32Type>().iter().collect::<Vec<_>>(),
            vec![Some(20), Some(-10), None]
        );
        let out = call(vec![
            ColumnarValue::Scalar(ScalarValue::Int64(Some(10))),
            ColumnarValue::Array(Arc::new(Int64Array::from(vec![27]))),
            ColumnarValue::Scalar(ScalarValue::Int64(Some(5))),
        ])?;
        assert_eq!(out.as_primitive::<Int64Type>().value(0), 25);
        Ok(())
    }

    #[test]
    fn mistakes_are_clear_errors() {
        let ts = || utc(vec![Some(0)]);
        let err = |args| call(args).unwrap_err().to_string();
        assert!(err(vec![mdn(0, 0, 0), ts()]).contains("width must be a positive interval"));
        assert!(err(vec![mdn(1, 1, 0), ts()]).contains("cannot also have days"));
        let zone = ColumnarValue::Scalar(ScalarValue::Utf8(Some("Mars/Olympus".into())));
        assert!(err(vec![mdn(0, 1, 0), ts(), zone]).contains("unknown time zone 'Mars/Olympus'"));
        let column = ColumnarValue::Array(Arc::new(
            datafusion::arrow::array::IntervalMonthDayNanoArray::from(vec![
                IntervalMonthDayNano::new(0, 1, 0),
            ]),
        ));
        assert!(err(vec![column, ts()]).contains("width must be a constant"));
        let ints = ColumnarValue::Array(Arc::new(Int32Array::from(vec![1])));
        assert!(
            err(vec![
                ColumnarValue::Scalar(ScalarValue::Int64(Some(0))),
                ints
            ])
            .contains("positive integer")
        );
        let bad = ColumnarValue::Scalar(ScalarValue::Boolean(Some(true)));
        assert!(err(vec![mdn(0, 1, 0), bad]).contains("ts must be a timestamp, date or integer"));
    }

    #[test]
    fn null_width_gives_nulls() -> Result<()> {
        let out = call(vec![
            ColumnarValue::Scalar(ScalarValue::IntervalMonthDayNano(None)),
            utc(vec![Some(1)]),
        ])?;
        assert!(out.is_null(0));
        Ok(())
    }
}
