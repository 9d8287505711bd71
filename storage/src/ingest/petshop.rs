//! The PetShop dataset layout (Hardt et al., CLeaR 2024): metric-only root-cause cases of an AWS
//! deployment. A dataset folder holds scenarios (`low_traffic/`, `high_traffic/`, …); a
//! scenario folder (given alone, or found under the dataset folder) holds
//!
//! | file | goes to |
//! |---|---|
//! | `noissue/metrics.csv` | metrics, attributes `{"scenario": …, "period": "noissue"}` |
//! | `{train,test}/issue_N/metrics.csv` | metrics, attributes `{"scenario": …, "period": "train/issue_N"}` |
//! | `{train,test}/issue_N/target.json` | `_labels/petshop-issues.json` (with the issue's first and last sample time) |
//! | `graph.csv` | nothing: a call graph is a model input (`CREATE MODEL … OPTIONS (call_graph = …)`), listed as skipped |
//!
//! Metric files are wide with a 3-row header: node, metric, statistic; then one row per
//! 5-minute step, the first cell `unix_timestamp` in seconds. Each non-empty cell becomes one
//! row: `service` = the node, `name` = `<metric>.<statistic>` lower-cased (`latency.p99`,
//! `requests.sum`, `availability.average`), `unit` `s` for latency, `%` for availability.
//! An empty cell is no sample (the source leaves a node's cells empty when it had no traffic)
//! and makes no row; a cell that is not a number is rejected.

use std::collections::BTreeMap;
use std::io::Read;

use datafusion::common::{DataFusionError, Result};
use serde::Serialize;
use tokio::runtime::Handle;

use super::out::RowOut;
use super::source::SourceFile;
use super::time::ts_from_float;
use crate::rows::{Cell, Row};
use crate::schema::SignalKind;

/// The labels file this adapter writes under `_labels/`.
pub const LABELS: &str = "petshop-issues.json";

/// Where a file sits in the layout.
#[derive(Debug, Clone, PartialEq)]
enum Role {
    Normal { scenario: String },
    IssueMetrics { scenario: String, period: String },
    Target { scenario: String, period: String },
    Skip(&'static str),
}

/// The role of `name` (path components, the scenario folder given last when `root_scenario`).
fn classify(name: &str, root_scenario: &str) -> Role {
    let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty()).collect();
    let n = parts.len();
    let at = |back: usize| if back < n { parts[n - 1 - back] } else { "" };
    let scenario = |back: usize| {
        let s = at(back);
        if s.is_empty() { root_scenario } else { s }.to_string()
    };
    match at(0) {
        "metrics.csv" if at(1) == "noissue" => Role::Normal {
            scenario: scenario(2),
        },
        "metrics.csv" if matches!(at(2), "train" | "test") => Role::IssueMetrics {
            scenario: scenario(3),
            period: format!("{}/{}", at(2), at(1)),
        },
        "target.json" if matches!(at(2), "train" | "test") => Role::Target {
            scenario: scenario(3),
            period: format!("{}/{}", at(2), at(1)),
        },
        "graph.csv" => Role::Skip(
            "a call graph, not a signal: give it to CREATE MODEL … KIND baseline OPTIONS (call_graph = …)",
        ),
        _ => Role::Skip("not a PetShop metrics or target file, skipped"),
    }
}

fn file_error(file: &SourceFile, e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("petshop: cannot read '{}': {e}", file.name))
}

/// The unit of a PetShop metric.
fn unit(metric: &str) -> Option<&'static str> {
    match metric {
        "latency" => Some("s"),
        "availability" => Some("%"),
        _ => None,
    }
}

/// One labeled issue, as written to `_labels/petshop-issues.json`.
#[derive(Debug, Clone, Serialize)]
struct Issue {
    scenario: String,
    /// `train/issue_0`.
    period: String,
    /// First and last sample time of the issue's metrics (RFC 3339).
    first: Option<String>,
    last: Option<String>,
    /// The SLO violation that raised the issue: `{node, metric, agg, timestamp}`.
    target: serde_json::Value,
    /// `{node, metric}`.
    root_cause: serde_json::Value,
}

fn rfc3339(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Reads one wide metric file; returns the first and last sample times.
fn read_metrics(
    file: &SourceFile,
    rt: &Handle,
    scenario: &str,
    period: &str,
    out: &mut RowOut,
) -> Result<Option<(i64, i64)>> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(file.reader(rt)?);
    let mut header: Vec<Vec<String>> = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut line = 0u64;
    while header.len() < 3 {
        line += 1;
        if !csv
            .read_record(&mut record)
            .map_err(|e| file_error(file, e))?
        {
            return Err(file_error(
                file,
                "expected a 3-row header (node, metric, statistic)",
            ));
        }
        header.push(record.iter().map(|c| c.trim().to_string()).collect());
    }
    // (column, node, name, unit) per series.
    let series: Vec<(usize, &str, String, Option<&str>)> = (1..header[0].len())
        .filter(|&c| !header[0][c].is_empty())
        .map(|c| {
            let metric = header[1].get(c).map_or("", String::as_str);
            let stat = header[2].get(c).map_or("", String::as_str);
            (
                c,
                header[0][c].as_str(),
                format!("{metric}.{stat}").to_ascii_lowercase(),
                unit(metric),
            )
        })
        .collect();
    let attributes = serde_json::json!({"scenario": scenario, "period": period}).to_string();
    let mut row = Row::new(SignalKind::Metrics);
    let mut range: Option<(i64, i64)> = None;
    while csv
        .read_record(&mut record)
        .map_err(|e| file_error(file, e))?
    {
        line += 1;
        let first = record.get(0).unwrap_or("").trim();
        // The row naming the index column (`unix_timestamp,,,…`) is no sample.
        if first.is_empty() || first == "unix_timestamp" {
            continue;
        }
        let raw = || record.iter().collect::<Vec<_>>().join(",");
        let ts = match first.parse::<f64>().map_err(|e| e.to_string()) {
            Ok(v) => ts_from_float(v),
            Err(e) => Err(e),
        };
        let ts = match ts {
            Ok(ts) => ts,
            Err(e) => {
                out.reject(line, format!("unix_timestamp is not a time: {e}"), &raw())?;
                continue;
            }
        };
        range = Some(range.map_or((ts, ts), |(a, b)| (a.min(ts), b.max(ts))));
        for (c, node, name, unit) in &series {
            let v = record.get(*c).unwrap_or("").trim();
            if v.is_empty() {
                continue;
            }
            let cell = || format!("{node} {name}={v}");
            let value = match v.parse::<f64>() {
                Ok(x) if x.is_finite() => x,
                _ => {
                    out.reject(line, "metric value is not a number", &cell())?;
                    continue;
                }
            };
            row.clear();
            row.set("ts", Cell::Ts(ts))
                .set("service", *node)
                .set("name", name.as_str())
                .set("value", Cell::Float(value))
                .set("unit", unit.map(str::to_string))
                .set("attributes", attributes.as_str());
            out.emit(line, &row, cell)?;
        }
    }
    Ok(range)
}

fn read_json(file: &SourceFile, rt: &Handle) -> Result<serde_json::Value> {
    let mut text = String::new();
    file.reader(rt)?
        .read_to_string(&mut text)
        .map_err(|e| file_error(file, e))?;
    serde_json::from_str(&text).map_err(|e| file_error(file, e))
}

/// Reads a PetShop dataset or scenario folder (its files sorted by path, `location` the folder
/// given) into the metrics table and `_labels/petshop-issues.json`.
pub(crate) fn read(
    location: &str,
    files: &[SourceFile],
    rt: &Handle,
    out: &mut RowOut,
) -> Result<()> {
    let root_scenario = location
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("petshop")
        .to_string();
    // (scenario, period) → sample range of its metrics, and its target.
    let mut ranges: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    let mut targets: Vec<(String, String, serde_json::Value)> = Vec::new();
    for file in files {
        out.set_source(&file.name);
        let rel = file.name.strip_prefix(location).unwrap_or(&file.name);
        match classify(rel, &root_scenario) {
            Role::Normal { scenario } => {
                read_metrics(file, rt, &scenario, "noissue", out)?;
            }
            Role::IssueMetrics { scenario, period } => {
                if let Some(r) = read_metrics(file, rt, &scenario, &period, out)? {
                    ranges.insert((scenario, period), r);
                }
            }
            Role::Target { scenario, period } => {
                targets.push((scenario, period, read_json(file, rt)?));
            }
            Role::Skip(reason) => out.reject(0, reason, &file.name)?,
        }
        out.progress(file.size)?;
    }
    if targets.is_empty() {
        return Ok(());
    }
    let issues: Vec<Issue> = targets
        .into_iter()
        .map(|(scenario, period, t)| {
            let range = ranges.get(&(scenario.clone(), period.clone()));
            Issue {
                first: range.map(|r| rfc3339(r.0)),
                last: range.map(|r| rfc3339(r.1)),
                target: t["target"].clone(),
                root_cause: t["root_cause"].clone(),
                scenario,
                period,
            }
        })
        .collect();
    let json = serde_json::to_vec_pretty(&serde_json::json!({ "issues": issues }))
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    out.labels(LABELS, json)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::Float64Type;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use object_store::ObjectStoreExt;

    use super::*;
    use crate::ingest::{Format, IngestOptions, ingest};
    use crate::lake::Lake;

    const NORMAL: &str = "microservice,PetSite,PetSite,search_AWS::ECS\n\
metric,latency,availability,latency\n\
statistic,Average,Average,p99\n\
unix_timestamp,,,\n\
1692608400.0,0.25,100.0,\n\
1692608700.0,0.26,,0.5\n\
1692609000.0,abc,99.5,0.4\n";
    const ISSUE: &str = "microservice,PetSite,search_AWS::ECS\n\
metric,latency,latency\n\
statistic,Average,p99\n\
unix_timestamp,,\n\
1681855320.0,0.25,0.5\n\
1681855620.0,2.5,9.0\n";
    const TARGET: &str = r#"{"target": {"node": "PetSite", "metric": "latency", "agg": "Average", "timestamp": 1681855500}, "root_cause": {"node": "search_AWS::ECS", "metric": null}}"#;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn classifies_dataset_and_scenario_folders() {
        assert_eq!(
            classify("low/noissue/metrics.csv", "petshop"),
            Role::Normal {
                scenario: "low".into()
            }
        );
        assert_eq!(
            classify("train/issue_3/target.json", "high"),
            Role::Target {
                scenario: "high".into(),
                period: "train/issue_3".into()
            }
        );
        assert!(matches!(classify("low/graph.csv", "x"), Role::Skip(_)));
        assert!(matches!(classify("LICENSE", "x"), Role::Skip(_)));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn ingests_metrics_and_labels() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("petshop");
        write(&data, "low/noissue/metrics.csv", NORMAL);
        write(&data, "low/train/issue_0/metrics.csv", ISSUE);
        write(&data, "low/train/issue_0/target.json", TARGET);
        write(&data, "low/graph.csv", ",PetSite\nPetSite,0.0\n");
        let lake = Lake::open(dir.path().join("lake").to_str().unwrap()).unwrap();
        let report = ingest(
            &lake,
            &IngestOptions::new(Format::Petshop, None),
            data.to_str().unwrap(),
            Arc::new(|_| {}),
        )
        .await
        .unwrap();
        // Normal: 2 + 2 + 2 valid cells of 8 (one empty, one not a number); issue: 4.
        assert_eq!(report.rows["metrics"], 10, "{report:?}");
        assert_eq!(report.reject_reasons["metric value is not a number"], 1);
        assert!(
            report
                .reject_reasons
                .keys()
                .any(|r| r.contains("call graph"))
        );
        let labels = lake
            .store()
            .get(&lake.path("_labels/petshop-issues.json"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&labels).unwrap();
        let issue = &v["issues"][0];
        assert_eq!(issue["scenario"], "low");
        assert_eq!(issue["period"], "train/issue_0");
        assert_eq!(issue["first"], "2023-04-18T22:02:00Z");
        assert_eq!(issue["last"], "2023-04-18T22:07:00Z");
        assert_eq!(issue["root_cause"]["node"], "search_AWS::ECS");
        // Names, units and attributes of the rows.
        let mut rows = Vec::new();
        for file in report.files.iter().filter(|f| f.starts_with("metrics/")) {
            let bytes = lake
                .store()
                .get(&lake.path(file))
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            for b in ParquetRecordBatchReaderBuilder::try_new(bytes)
                .unwrap()
                .build()
                .unwrap()
            {
                let b = b.unwrap();
                let col = |n: &str| Arc::clone(b.column_by_name(n).unwrap());
                let (svc, name, value, unit, attrs) = (
                    col("service"),
                    col("name"),
                    col("value"),
                    col("unit"),
                    col("attributes"),
                );
                for i in 0..b.num_rows() {
                    rows.push((
                        svc.as_string::<i32>().value(i).to_string(),
                        name.as_string::<i32>().value(i).to_string(),
                        value.as_primitive::<Float64Type>().value(i),
                        unit.is_valid(i)
                            .then(|| unit.as_string::<i32>().value(i).to_string()),
                        attrs.as_string::<i32>().value(i).to_string(),
                    ));
                }
            }
        }
        assert_eq!(rows.len(), 10);
        assert!(rows.contains(&(
            "search_AWS::ECS".into(),
            "latency.p99".into(),
            9.0,
            Some("s".into()),
            r#"{"period":"train/issue_0","scenario":"low"}"#.into()
        )));
        assert!(rows.iter().any(|r| r.1 == "availability.average"
            && r.3.as_deref() == Some("%")
            && r.4.contains("noissue")));
    }
}
