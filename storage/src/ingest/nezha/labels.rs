//! Ground truth and the call graph of a Nezha folder, written beside the tables under
//! `_labels/` (never into them): `nezha-faults.json` merges every `<day>-fault_list.json` with
//! the finer labels of `root_cause_<system>.json`; `nezha-dependency.json` holds each
//! `dependency.csv`.

use std::collections::BTreeMap;
use std::io::Read;

use chrono::{DateTime, SecondsFormat};
use datafusion::common::{DataFusionError, Result};
use serde_json::{Value, json};
use tokio::runtime::Handle;

use super::values::{service_of_pod, system_of_service};
use super::{file_error, file_name, open_csv, raw};
use crate::ingest::out::RowOut;
use crate::ingest::source::SourceFile;
use crate::ingest::time::ts_from_str;

const FAULTS: &str = "nezha-faults.json";
const DEPENDENCY: &str = "nezha-dependency.json";

/// The side files of one ingest, collected while reading and written at the end.
#[derive(Default)]
pub(super) struct Labels {
    /// The folder ingested, a prefix of every file name: side files name files relative to it.
    pub(super) root: String,
    faults: Vec<Value>,
    /// System → service → fault type → finer label (a metric or a code region).
    finer: BTreeMap<String, Value>,
    dependency: Vec<Value>,
}

fn read_json(file: &SourceFile, rt: &Handle) -> Result<Value> {
    let mut text = String::new();
    file.reader(rt)?
        .read_to_string(&mut text)
        .map_err(|e| file_error(file, e))?;
    serde_json::from_str(&text).map_err(|e| file_error(file, format!("invalid JSON: {e}")))
}

impl Labels {
    fn relative<'a>(&self, name: &'a str) -> &'a str {
        name.strip_prefix(self.root.as_str()).unwrap_or(name)
    }

    /// `{hour: [{inject_time, inject_pod, inject_type, inject_timestamp}]}`; the
    /// `inject_timestamp` disagrees with `inject_time` and the data, so it is ignored.
    pub(super) fn read_faults(
        &mut self,
        file: &SourceFile,
        rt: &Handle,
        out: &mut RowOut,
    ) -> Result<()> {
        let Value::Object(hours) = read_json(file, rt)? else {
            return Err(file_error(file, "expected an object of hours"));
        };
        let mut n = 0;
        for fault in hours.values().filter_map(Value::as_array).flatten() {
            n += 1;
            let text = |k: &str| fault.get(k).and_then(Value::as_str).map(str::trim);
            let (Some(time), Some(pod), Some(kind)) =
                (text("inject_time"), text("inject_pod"), text("inject_type"))
            else {
                let reason = "fault without inject_time, inject_pod or inject_type";
                out.reject(n, reason, &fault.to_string())?;
                continue;
            };
            let Ok(at) = ts_from_str(time).map(DateTime::from_timestamp_nanos) else {
                out.reject(n, "inject_time is not a timestamp", &fault.to_string())?;
                continue;
            };
            let service = service_of_pod(pod);
            self.faults.push(json!({
                "day": at.format("%Y-%m-%d").to_string(),
                "system": system_of_service(service),
                "inject_time": at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                "service": service,
                "pod": pod,
                "fault_type": kind,
                "source": self.relative(&file.name),
            }));
        }
        Ok(())
    }

    /// `root_cause_<system>.json`: service → fault type → finer label.
    pub(super) fn read_finer(&mut self, file: &SourceFile, rt: &Handle) -> Result<()> {
        let labels = read_json(file, rt)?;
        if !labels.is_object() {
            return Err(file_error(file, "expected an object of services"));
        }
        let stem = file_name(&file.name)
            .trim_start_matches("root_cause_")
            .trim_end_matches(".json");
        let system = match stem {
            "hipster" | "ob" | "onlineboutique" => "OnlineBoutique",
            "ts" | "trainticket" => "TrainTicket",
            other => other,
        };
        self.finer.insert(system.to_string(), labels);
        Ok(())
    }

    /// `Source,Target,Weight` edges of the service call graph.
    pub(super) fn read_dependency(
        &mut self,
        file: &SourceFile,
        system: Option<&str>,
        rt: &Handle,
        out: &mut RowOut,
    ) -> Result<()> {
        let mut csv = open_csv(file, rt)?;
        let [source, target, weight] = csv.columns("Source Target Weight");
        let (source, target) = (
            csv.require("Source", source)?,
            csv.require("Target", target)?,
        );
        let mut edges = Vec::new();
        csv.for_each(out, |out, line, rec| {
            let (s, t) = (
                rec.get(source).unwrap_or("").trim(),
                rec.get(target).unwrap_or("").trim(),
            );
            if s.is_empty() || t.is_empty() {
                return out.reject(line, "dependency edge without source or target", &raw(rec));
            }
            let w = weight.and_then(|i| rec.get(i)?.trim().parse::<f64>().ok());
            edges.push(json!({"source": s, "target": t, "weight": w}));
            Ok(())
        })?;
        let file = self.relative(&file.name);
        self.dependency
            .push(json!({"file": file, "system": system, "edges": edges}));
        Ok(())
    }

    /// Writes the side files that have content.
    pub(super) fn write(mut self, out: &mut RowOut) -> Result<()> {
        let bytes = |v: &Value| {
            serde_json::to_vec_pretty(v).map_err(|e| DataFusionError::External(Box::new(e)))
        };
        if !self.faults.is_empty() || !self.finer.is_empty() {
            for f in &mut self.faults {
                let key = [&f["system"], &f["service"], &f["fault_type"]].map(|v| v.as_str());
                let label = match key {
                    [Some(s), Some(svc), Some(t)] => self.finer.get(s).map(|m| m[svc][t].clone()),
                    _ => None,
                };
                f["finer_label"] = label.unwrap_or(Value::Null);
            }
            self.faults
                .sort_by_cached_key(|f| f["inject_time"].as_str().map(str::to_string));
            let doc = json!({
                "dataset": "nezha",
                "clock": "the files' wall clock, read as UTC like the signal tables",
                "faults": self.faults,
                "finer_labels": self.finer,
            });
            out.labels(FAULTS, bytes(&doc)?)?;
        }
        if !self.dependency.is_empty() {
            let doc = json!({"dataset": "nezha", "graphs": self.dependency});
            out.labels(DEPENDENCY, bytes(&doc)?)?;
        }
        Ok(())
    }
}
