//! The on-storage layout: `<root>/<table>/date=YYYY-MM-DD/hour=HH/<file>.parquet`, plus the
//! folders beside the tables (`_rejects/`, `_labels/`, `_ingest/`, `_models/`).
//!
//! Hours are UTC hours. A time range maps to the hour (or day) folders it overlaps, which is how
//! a scan lists only the files a predicate can match.

use chrono::{DateTime, Datelike, Timelike, Utc};

use crate::schema::SignalKind;

pub const NANOS_PER_HOUR: i64 = 3_600_000_000_000;
pub const NANOS_PER_DAY: i64 = 24 * NANOS_PER_HOUR;

/// Above this many hours a range is listed per day folder instead of per hour folder.
const MAX_HOUR_PREFIXES: i64 = 72;
/// Above this many days a range is listed from the table root.
const MAX_DAY_PREFIXES: i64 = 400;

/// The start of the UTC hour containing `ts` (nanoseconds since the epoch).
pub fn hour_of(ts: i64) -> i64 {
    ts.div_euclid(NANOS_PER_HOUR) * NANOS_PER_HOUR
}

fn datetime(ts: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(ts)
}

fn day_folder(ts: i64) -> String {
    let t = datetime(ts);
    format!("date={:04}-{:02}-{:02}", t.year(), t.month(), t.day())
}

/// `<table>/date=YYYY-MM-DD/hour=HH/` for the hour containing `ts`.
pub fn hour_prefix(kind: SignalKind, ts: i64) -> String {
    format!("{kind}/{}/hour={:02}/", day_folder(ts), datetime(ts).hour())
}

/// `<table>/date=YYYY-MM-DD/` for the day containing `ts`.
pub fn day_prefix(kind: SignalKind, ts: i64) -> String {
    format!("{kind}/{}/", day_folder(ts))
}

/// The folders to list for rows with `lo <= ts < hi` (either bound open when `None`):
/// `None` means the whole table.
pub fn prefixes_for_range(
    kind: SignalKind,
    lo: Option<i64>,
    hi: Option<i64>,
) -> Option<Vec<String>> {
    let (lo, hi) = (lo?, hi?);
    if hi <= lo {
        return Some(Vec::new());
    }
    let first_hour = hour_of(lo);
    let last_hour = hour_of(hi - 1);
    let hours = (last_hour - first_hour) / NANOS_PER_HOUR + 1;
    if hours <= MAX_HOUR_PREFIXES {
        return Some(
            (0..hours)
                .map(|i| hour_prefix(kind, first_hour + i * NANOS_PER_HOUR))
                .collect(),
        );
    }
    let first_day = lo.div_euclid(NANOS_PER_DAY) * NANOS_PER_DAY;
    let days = ((hi - 1).div_euclid(NANOS_PER_DAY) * NANOS_PER_DAY - first_day) / NANOS_PER_DAY + 1;
    if days <= MAX_DAY_PREFIXES {
        return Some(
            (0..days)
                .map(|i| day_prefix(kind, first_day + i * NANOS_PER_DAY))
                .collect(),
        );
    }
    None
}

/// Folders beside the tables.
pub const REJECTS_DIR: &str = "_rejects";
pub const LABELS_DIR: &str = "_labels";
pub const INGEST_LOG_DIR: &str = "_ingest";
pub const MODELS_DIR: &str = "_models";

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000_000_000; // 2023-11-14T22:13:20Z

    #[test]
    fn hour_prefix_is_utc_and_zero_padded() {
        assert_eq!(
            hour_prefix(SignalKind::Logs, T0),
            "logs/date=2023-11-14/hour=22/"
        );
        assert_eq!(
            hour_prefix(SignalKind::Spans, 0),
            "spans/date=1970-01-01/hour=00/"
        );
        // Before the epoch the hour still floors downwards.
        assert_eq!(hour_of(-1), -NANOS_PER_HOUR);
    }

    #[test]
    fn ranges_map_to_overlapping_hours_only() {
        let lo = hour_of(T0);
        let p = prefixes_for_range(SignalKind::Logs, Some(lo), Some(lo + NANOS_PER_HOUR)).unwrap();
        assert_eq!(p, vec!["logs/date=2023-11-14/hour=22/"]);
        let p = prefixes_for_range(
            SignalKind::Logs,
            Some(lo + 1),
            Some(lo + NANOS_PER_HOUR + 1),
        )
        .unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1], "logs/date=2023-11-14/hour=23/");
        assert!(
            prefixes_for_range(SignalKind::Logs, Some(lo), Some(lo))
                .unwrap()
                .is_empty()
        );
        assert!(prefixes_for_range(SignalKind::Logs, None, Some(lo)).is_none());
        let week =
            prefixes_for_range(SignalKind::Logs, Some(lo), Some(lo + 7 * NANOS_PER_DAY)).unwrap();
        assert_eq!(week.len(), 8);
        assert_eq!(week[0], "logs/date=2023-11-14/");
    }
}
