//! Timestamps as sources write them: RFC 3339 text, `YYYY-MM-DD HH:MM:SS[.f]` (taken as UTC),
//! and epoch numbers in seconds, milliseconds, microseconds or nanoseconds, told apart by
//! magnitude (any real date after 1973 and before 5138 is unambiguous).

use chrono::{DateTime, NaiveDateTime};

fn scale_int(v: i64) -> Option<i64> {
    let a = v.unsigned_abs();
    if a < 100_000_000_000 {
        v.checked_mul(1_000_000_000)
    } else if a < 100_000_000_000_000 {
        v.checked_mul(1_000_000)
    } else if a < 100_000_000_000_000_000 {
        v.checked_mul(1_000)
    } else {
        Some(v)
    }
}

/// Nanoseconds from an integer epoch value of unknown unit.
pub fn ts_from_int(v: i64) -> Result<i64, String> {
    scale_int(v).ok_or_else(|| format!("timestamp out of range: {v}"))
}

/// Nanoseconds from a fractional epoch value of unknown unit.
pub fn ts_from_float(v: f64) -> Result<i64, String> {
    if !v.is_finite() {
        return Err(format!("timestamp is not a finite number: {v}"));
    }
    let a = v.abs();
    // A double carries about 16 significant digits: fractional seconds and milliseconds are
    // rounded to whole microseconds rather than showing binary noise in the nanoseconds.
    let (us, ns) = if a < 1e11 {
        (Some(v * 1e6), 0.0)
    } else if a < 1e14 {
        (Some(v * 1e3), 0.0)
    } else if a < 1e17 {
        (None, v * 1e3)
    } else {
        (None, v)
    };
    let ns = us.map_or(ns, |us| us.round() * 1e3);
    if ns.abs() >= 9.2e18 {
        return Err(format!("timestamp out of range: {v}"));
    }
    Ok(ns.round() as i64)
}

/// Nanoseconds from text: RFC 3339, a naive date-time (UTC), or an epoch number.
pub fn ts_from_str(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty timestamp".into());
    }
    if let Ok(v) = t.parse::<i64>() {
        return ts_from_int(v);
    }
    if t.bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'e' || b == b'E')
        && let Ok(v) = t.parse::<f64>()
    {
        return ts_from_float(v);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return dt
            .timestamp_nanos_opt()
            .ok_or_else(|| format!("timestamp out of range: {t}"));
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f UTC",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, fmt) {
            return dt
                .and_utc()
                .timestamp_nanos_opt()
                .ok_or_else(|| format!("timestamp out of range: {t}"));
        }
    }
    // "2022-08-22 03:51:00+08:00" and friends.
    for fmt in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(dt) = DateTime::parse_from_str(t, fmt) {
            return dt
                .timestamp_nanos_opt()
                .ok_or_else(|| format!("timestamp out of range: {t}"));
        }
    }
    Err(format!("not a timestamp: {t:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: i64 = 1_700_000_000_123_000_000;

    #[test]
    fn every_epoch_unit_is_recognised_by_magnitude() {
        assert_eq!(
            ts_from_int(1_700_000_000).unwrap(),
            1_700_000_000_000_000_000
        );
        assert_eq!(ts_from_int(1_700_000_000_123).unwrap(), NS);
        assert_eq!(ts_from_int(1_700_000_000_123_000).unwrap(), NS);
        assert_eq!(ts_from_int(NS).unwrap(), NS);
        assert_eq!(
            ts_from_float(1_700_000_000.123).unwrap() / 1_000_000,
            NS / 1_000_000
        );
        assert_eq!(ts_from_str("1700000000123").unwrap(), NS);
    }

    #[test]
    fn text_forms() {
        assert_eq!(ts_from_str("2023-11-14T22:13:20.123Z").unwrap(), NS);
        assert_eq!(ts_from_str("2023-11-15T00:13:20.123+02:00").unwrap(), NS);
        assert_eq!(ts_from_str("2023-11-14 22:13:20.123").unwrap(), NS);
        assert!(ts_from_str("yesterday").unwrap_err().contains("yesterday"));
        assert!(ts_from_str("").is_err());
        assert!(ts_from_float(f64::NAN).is_err());
    }
}
