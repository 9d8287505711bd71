//! How the cells and lines of the Nezha layout read: pod names, level words, application log
//! lines, `name(unit)` headers, Go timestamps and metric cells.

use chrono::DateTime;
use serde_json::{Map, Value};

use crate::ingest::time::ts_from_str;

/// `cartservice-579f59597d-wc2lz` → `cartservice`: drops the ReplicaSet hash and pod suffix.
pub(super) fn service_of_pod(pod: &str) -> &str {
    let mut it = pod.rsplitn(3, '-');
    let hashy = |s: Option<&str>| s.is_some_and(|s| s.bytes().all(|c| c.is_ascii_alphanumeric()));
    match (it.next(), it.next(), it.next()) {
        (a, b, Some(rest)) if hashy(a) && hashy(b) && !rest.is_empty() => rest,
        _ => pod,
    }
}

pub(super) fn system_of_service(service: &str) -> &'static str {
    if service.starts_with("ts-") {
        "TrainTicket"
    } else {
        "OnlineBoutique"
    }
}

/// Canonical severity (TRACE…FATAL) of a level word, if it is one.
fn severity(word: &str) -> Option<&'static str> {
    Some(match word.trim().to_ascii_uppercase().as_str() {
        "TRACE" | "FINEST" | "FINER" => "TRACE",
        "DEBUG" | "FINE" => "DEBUG",
        "INFO" | "INFORMATION" | "NOTICE" => "INFO",
        "WARN" | "WARNING" => "WARN",
        "ERROR" | "ERR" | "SEVERE" => "ERROR",
        "FATAL" | "CRITICAL" | "CRIT" | "PANIC" | "EMERG" | "ALERT" => "FATAL",
        _ => return None,
    })
}

/// The level of a text line: an upper-case level word (or `level=…`) among its first four
/// words, so that "error" inside a message is not taken for one.
fn text_severity(line: &str) -> Option<&'static str> {
    line.split_whitespace().take(4).find_map(|w| {
        if let Some(v) = w.strip_prefix("level=") {
            return severity(v.trim_matches('"'));
        }
        let w = w.trim_matches(|c: char| matches!(c, '[' | ']' | '(' | ')' | ':' | ','));
        let upper = w.len() >= 3 && w.bytes().all(|b| b.is_ascii_uppercase());
        upper.then(|| severity(w)).flatten()
    })
}

/// Splits an application line into `(body, severity)`; the other fields of a JSON line (but
/// its timestamp) go to `attributes`.
pub(super) fn app_line(
    line: &str,
    attributes: &mut Map<String, Value>,
) -> (String, Option<&'static str>) {
    let is = |k: &str, set: &[&str]| set.iter().any(|s| s.eq_ignore_ascii_case(k));
    let json = line
        .starts_with('{')
        .then(|| serde_json::from_str::<Value>(line).ok());
    let Some(Some(Value::Object(obj))) = json else {
        return (line.to_string(), text_severity(line));
    };
    let (mut body, mut level) = (None, None);
    for (k, v) in obj {
        let sev = v.as_str().and_then(severity);
        if body.is_none() && is(&k, &["message", "msg", "text"]) {
            body = Some(v.as_str().map_or_else(|| v.to_string(), str::to_string));
        } else if level.is_none() && sev.is_some() && is(&k, &["severity", "level", "lvl"]) {
            level = sev;
        } else if !is(&k, &["timestamp", "time", "ts", "@timestamp"]) {
            let key = if attributes.contains_key(&k) {
                format!("app.{k}")
            } else {
                k
            };
            attributes.insert(key, v);
        }
    }
    (body.unwrap_or_else(|| line.to_string()), level)
}

/// `CpuUsageRate(%)` → (`CpuUsageRate`, Some(`%`)).
pub(super) fn name_and_unit(column: &str) -> (String, Option<String>) {
    let c = column.trim();
    match c.strip_suffix(')').and_then(|c| c.split_once('(')) {
        Some((name, unit)) if !name.is_empty() && !unit.is_empty() => {
            (name.trim().to_string(), Some(unit.trim().to_string()))
        }
        _ => (c.to_string(), None),
    }
}

/// A Go `time.Time` string (`2022-08-22 03:51:19.6 +0000 UTC m=+0.11`), or any form
/// [`ts_from_str`] reads.
pub(super) fn go_time(s: &str) -> std::result::Result<i64, String> {
    let t = s.split(" m=").next().unwrap_or(s).trim();
    let t = t.strip_suffix(" UTC").unwrap_or(t);
    match DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f %z") {
        Ok(dt) => dt
            .timestamp_nanos_opt()
            .ok_or_else(|| format!("out of range: {s}")),
        Err(_) => ts_from_str(t),
    }
}

/// A metric cell as a finite number, or why not.
pub(super) fn metric_value(v: &str) -> std::result::Result<f64, &'static str> {
    match v.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(f),
        Ok(f) if f.is_nan() => Err("metric value is NaN"),
        Ok(_) => Err("metric value is infinite"),
        Err(_) if v.is_empty() => Err("metric value is empty"),
        Err(_) => Err("metric value is not a number"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pods_headers_and_times() {
        assert_eq!(
            service_of_pod("cartservice-579f59597d-wc2lz"),
            "cartservice"
        );
        assert_eq!(
            service_of_pod("ts-ui-dashboard-5477b965f-2chkr"),
            "ts-ui-dashboard"
        );
        assert_eq!(service_of_pod("redis"), "redis");
        assert_eq!(system_of_service("ts-ui-dashboard"), "TrainTicket");
        let cpu = name_and_unit("CpuUsageRate(%)");
        assert_eq!(cpu, ("CpuUsageRate".into(), Some("%".into())));
        assert_eq!(name_and_unit("SyscallRead"), ("SyscallRead".into(), None));
        let go = go_time("2022-08-22 03:51:19.607158889 +0000 UTC m=+0.113112869");
        assert_eq!(go, Ok(1_661_140_279_607_158_889));
        assert_eq!(go_time("1661140279"), Ok(1_661_140_279_000_000_000));
        assert_eq!(metric_value(" 1.5".trim()), Ok(1.5));
        assert_eq!(metric_value("NaN"), Err("metric value is NaN"));
        assert_eq!(metric_value(""), Err("metric value is empty"));
        assert_eq!(metric_value("inf"), Err("metric value is infinite"));
        assert_eq!(metric_value("n/a"), Err("metric value is not a number"));
    }

    #[test]
    fn levels_come_from_json_fields_or_leading_words() {
        assert_eq!(
            text_severity("16:48:42.424 WARN  t.s.Impl#1 x"),
            Some("WARN")
        );
        let late = text_severity("TraceID: a SpanID: b an ERROR occurred later");
        assert_eq!(late, None);
        assert_eq!(text_severity("level=error msg=x"), Some("ERROR"));
        assert_eq!(text_severity("GetCartAsync called with userId=1"), None);

        let mut attributes = Map::new();
        attributes.insert("node".into(), "n1".into());
        let line = r#"{"severity":"info","node":"x","message":"done","timestamp":"t","pid":1}"#;
        let (body, level) = app_line(line, &mut attributes);
        assert_eq!((body.as_str(), level), ("done", Some("INFO")));
        let expected = json!({"node": "n1", "app.node": "x", "pid": 1});
        assert_eq!(Value::Object(attributes), expected);
        // A JSON line without a message field is kept whole.
        let (body, level) = app_line(r#"{"level":"bogus"}"#, &mut Map::new());
        assert_eq!((body.as_str(), level), (r#"{"level":"bogus"}"#, None));
    }
}
