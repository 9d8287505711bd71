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

/// `SSSSSSSSSS.ffffff` (plain digits, one to six decimals, under 4e9 seconds) without the float
/// parse, with exactly the result of the float path (`ts_from_float(t.parse::<f64>())`): that
/// path rounds `v * 1e6` to whole microseconds, and below 2^32 seconds the parsed `v` is within
/// 2^-22 of the text's value, so `v * 1e6` is within 0.24 + 0.25 (its own rounding, the product
/// being under 2^52) of the exact microsecond count `us`, and rounds to it. The last step, `us`
/// as a double times 1e3, is then done the same way here.
fn epoch_seconds_with_decimals(t: &str) -> Option<i64> {
    let (secs, frac) = t.split_once('.')?;
    let digits = |d: &str| {
        (!d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()))
            .then(|| d.bytes().fold(0u64, |n, c| n * 10 + u64::from(c - b'0')))
    };
    if secs.len() > 10 || frac.len() > 6 {
        return None;
    }
    let (s, f) = (digits(secs)?, digits(frac)?);
    if s >= 4_000_000_000 {
        return None;
    }
    let us = s * 1_000_000 + f * 10u64.pow(6 - frac.len() as u32);
    Some((us as f64 * 1e3).round() as i64)
}

/// Nanoseconds from text: RFC 3339, a naive date-time (UTC), or an epoch number.
pub fn ts_from_str(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty timestamp".into());
    }
    if let Some(ns) = epoch_seconds_with_decimals(t) {
        return Ok(ns);
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

    #[test]
    fn decimal_epoch_seconds_read_exactly_as_the_float_path_does() {
        let float_path = |t: &str| ts_from_float(t.parse::<f64>().unwrap()).unwrap();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let secs = match i % 4 {
                0 => seed % 4_000_000_000,
                1 => 3_999_999_000 + seed % 1000,
                2 => 1_700_000_000 + seed % 100_000_000,
                _ => seed % 1000,
            };
            let places = 1 + (seed >> 40) as usize % 6;
            let frac = (seed >> 20) % 10u64.pow(places as u32);
            let t = format!("{secs}.{frac:0places$}");
            assert_eq!(epoch_seconds_with_decimals(&t), Some(float_path(&t)), "{t}");
        }
        for t in [
            "4000000000.5",
            "1.1234567",
            "1.",
            ".5",
            "-1.5",
            "1e9.5",
            "+1.5",
            "1.5e3",
        ] {
            assert_eq!(epoch_seconds_with_decimals(t), None, "{t}");
        }
        assert_eq!(
            ts_from_str("1717372800.007").unwrap(),
            float_path("1717372800.007")
        );
    }
}
