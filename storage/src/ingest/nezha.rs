//! The Nezha dataset layout (ESEC/FSE 2023): a folder of `rca_data/<day>/…` and
//! `construct_data/<day>/…` with logs, traces and metrics of OnlineBoutique and TrainTicket, plus
//! fault lists. Any sub-folder of that layout works too (one day, one `metric/` folder).
//!
//! # Mapping
//!
//! `service` is the pod name without its two trailing hash segments
//! (`cartservice-579f59597d-wc2lz` → `cartservice`); `host` is the pod. Every row's attributes
//! carry `system` (`TrainTicket` for `ts-*` services, else `OnlineBoutique`) and, where the logs
//! of the dataset name it, the pod's `node`. Timestamps carry `Z` but are the lab's wall clock;
//! they are kept as written (read as UTC), as are the fault lists, so data and labels agree.
//!
//! | file | table | columns |
//! |---|---|---|
//! | `log/HH_MM_log.csv` | logs | `ts` ← `TimeUnixNano` (else `Timestamp`); `body` ← the `log` field of the runtime's JSON line in `Log` (its `message` when the app logs JSON); `severity` ← the app's level field, or an `INFO`/`WARN`/`ERROR`… token among the first words of a text line, else NULL; `trace_id`, `span_id`; attributes `node`, `container`, `stream` and the app's other JSON fields |
//! | `trace/HH_MM_trace.csv` | spans | `ts` ← `StartTimeUnixNano`; `duration_ns` ← end − start (else `Duration` µs × 1000); `parent_span_id` ← `ParentID`, NULL for `root`; `operation` ← `OperationName`; `kind`, `status` NULL (not recorded) |
//! | `metric/<pod>_metric.csv` | metrics | one row per numeric cell: `name(unit)` columns → `name`, `unit` (`CpuUsageRate(%)` → `CpuUsageRate`, `%`); `ts` ← `Time` (else `TimeStamp`) |
//! | `metric/front_service.csv` | metrics | as above; `service` = the entry service (the service of most root spans of that system, else the file's `ServiceName` lower-cased); attributes `scope: entry` |
//! | `metric/{source,destination}_NN.csv` | metrics | per call edge `caller_callee`: `name` `EdgeLatencyPNN`, `unit` `s` (the values match `front_service`'s `LatencyP50(s)`), `service` = caller; attributes `caller`, `callee`, `reporter` (`source`/`destination`) |
//! | `metric/dependency.csv` | `_labels/nezha-dependency.json` | the call graph per folder: `{source, target, weight}` edges |
//! | `<day>-fault_list.json`, `root_cause_*.json` | `_labels/nezha-faults.json` | every fault: `day`, `system`, `inject_time` (RFC 3339), `service`, `pod`, `fault_type`, `finer_label`; and the finer labels per system |
//!
//! # Defects survived
//!
//! - A wrong epoch column (`2022-08-22/metric/adservice-*` has every `TimeStamp` 200,000,000 s
//!   ahead): a row's time is the first of `Time`, `TimeStamp` that parses and lies within a day
//!   of the folder's date; a row with neither is rejected. The same check guards logs and spans.
//! - NaN or empty metric cells are rejected one by one (reason `metric value is NaN` / `… empty`).
//! - Byte-identical copies (`construct_data/<day>/metric/` repeats `rca_data/<day>/metric/`) are
//!   read once; each skipped copy is one reject naming the file it repeats.
//! - Files with no signal (`traceid/*.csv` lists, `LICENSE`, anything unrecognised) are skipped
//!   with one reject each; a recognised file with missing columns is an error naming it.
//! - `inject_timestamp` in the fault lists is inconsistent and ignored.

mod labels;
mod values;

use std::collections::HashMap;
use std::io::Read;

use chrono::NaiveDate;
use datafusion::common::{DataFusionError, Result};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokio::runtime::Handle;

use super::out::RowOut;
use super::source::SourceFile;
use super::time::{ts_from_int, ts_from_str};
use crate::layout::NANOS_PER_DAY;
use crate::rows::{Cell, Row};
use crate::schema::SignalKind;
use labels::Labels;
use values::{app_line, go_time, metric_value, name_and_unit, service_of_pod, system_of_service};

/// What a file of the layout holds, in the order files are read: logs first (they name each
/// pod's node), then traces (they name each system's entry service), then metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Log,
    Trace,
    PodMetric,
    FrontService,
    /// `source_50.csv` / `destination_50.csv`: a latency percentile per call edge.
    Edge,
    Dependency,
    FaultList,
    FinerLabels,
    Skip(&'static str),
}

fn file_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

fn classify(name: &str) -> Role {
    let mut parts = name.rsplit('/');
    let (file, dir) = (parts.next().unwrap_or(name), parts.next().unwrap_or(""));
    let edge = file.strip_suffix(".csv").and_then(|s| s.split_once('_'));
    let edge = edge.is_some_and(|(who, pct)| {
        matches!(who, "source" | "destination") && pct.bytes().all(|b| b.is_ascii_digit())
    });
    match (dir, file) {
        (_, f) if f.ends_with("fault_list.json") => Role::FaultList,
        (_, f) if f.starts_with("root_cause_") && f.ends_with(".json") => Role::FinerLabels,
        ("log", f) if f.ends_with(".csv") => Role::Log,
        ("trace", f) if f.ends_with(".csv") => Role::Trace,
        ("traceid", _) => Role::Skip("trace-id list (traceid/): no signal, file skipped"),
        ("metric", "dependency.csv") => Role::Dependency,
        ("metric", "front_service.csv") => Role::FrontService,
        ("metric", f) if f.ends_with("_metric.csv") => Role::PodMetric,
        ("metric", _) if edge => Role::Edge,
        _ => Role::Skip("not a Nezha data file, skipped"),
    }
}

/// Midnight (UTC nanoseconds) of the nearest `YYYY-MM-DD` folder above a file.
fn folder_day(name: &str) -> Option<i64> {
    let folders = name.rsplit('/').skip(1);
    folders.into_iter().find_map(|p| {
        let day = NaiveDate::parse_from_str(p, "%Y-%m-%d").ok()?;
        day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_nanos_opt()
    })
}

/// The folder whose files share a system: the path up to the nearest date folder above the
/// file, else the parent of the file's folder.
fn folder_of(name: &str) -> &str {
    let parent = name.rfind('/').map_or("", |i| &name[..i]);
    let mut folder = parent;
    while !folder.is_empty() {
        let last = folder.rsplit('/').next().unwrap_or(folder);
        if NaiveDate::parse_from_str(last, "%Y-%m-%d").is_ok() {
            return folder;
        }
        folder = folder.rfind('/').map_or("", |i| &folder[..i]);
    }
    parent.rfind('/').map_or("", |i| &parent[..i])
}

/// Is `ts` within a day of the folder's date (or is there no date to check against)?
fn plausible(ts: i64, day: Option<i64>) -> bool {
    day.is_none_or(|d| ts >= d - NANOS_PER_DAY && ts < d + 2 * NANOS_PER_DAY)
}

const IMPLAUSIBLE: &str = "timestamp more than a day away from the folder's date";

fn file_error(file: &SourceFile, e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("'{}': {e}", file.name))
}

fn raw(record: &csv::StringRecord) -> String {
    record.iter().collect::<Vec<_>>().join(",")
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// A CSV source and its header.
struct Csv<'a> {
    file: &'a SourceFile,
    rdr: csv::Reader<Box<dyn Read + Send>>,
    headers: Vec<String>,
}

fn open_csv<'a>(file: &'a SourceFile, rt: &Handle) -> Result<Csv<'a>> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(file.reader(rt)?);
    let headers = rdr
        .headers()
        .map_err(|e| file_error(file, format!("no readable CSV header: {e}")))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    Ok(Csv { file, rdr, headers })
}

impl Csv<'_> {
    /// The indices of the space-separated column `names` (case-insensitive).
    fn columns<const N: usize>(&self, names: &str) -> [Option<usize>; N] {
        let names: Vec<&str> = names.split_whitespace().collect();
        std::array::from_fn(|i| {
            let name = names.get(i)?;
            self.headers
                .iter()
                .position(|h| h.eq_ignore_ascii_case(name))
        })
    }

    /// A column the file cannot be read without: missing, it is an error naming the file.
    fn require(&self, name: &str, idx: Option<usize>) -> Result<usize> {
        let found = self.headers.join(",");
        idx.ok_or_else(|| {
            file_error(
                self.file,
                format!("expected a column {name}, found {found}"),
            )
        })
    }

    /// Calls `f(out, line, record)` for every well-formed record; malformed ones are rejected.
    fn for_each(
        &mut self,
        out: &mut RowOut,
        mut f: impl FnMut(&mut RowOut, u64, &csv::StringRecord) -> Result<()>,
    ) -> Result<()> {
        let mut record = csv::StringRecord::new();
        loop {
            let line = self.rdr.position().line() + 1;
            match self.rdr.read_record(&mut record) {
                Ok(false) => return Ok(()),
                Ok(true) if record.len() != self.headers.len() => {
                    let reason = format!(
                        "expected {} fields, got {}",
                        self.headers.len(),
                        record.len()
                    );
                    out.reject(line, reason, &raw(&record))?;
                }
                Ok(true) => f(out, record.position().map_or(line, |p| p.line()), &record)?,
                Err(e) => out.reject(line, format!("invalid CSV: {e}"), "")?,
            }
        }
    }
}

/// One series of a wide metric file; `service` and `attributes` come from the pod when `None`.
struct Series {
    col: usize,
    name: String,
    unit: Option<String>,
    service: Option<String>,
    attributes: Option<String>,
}

/// State carried across the files of one ingest.
#[derive(Default)]
struct Nezha {
    /// Pod → node, from the logs.
    nodes: HashMap<String, String>,
    /// System → service → number of root spans.
    roots: HashMap<&'static str, HashMap<String, u64>>,
    /// Folder → system, from the pod metric files in it.
    systems: HashMap<String, &'static str>,
    /// Pod → attributes JSON of its spans and metrics.
    pod_attributes: HashMap<String, String>,
    labels: Labels,
}

impl Nezha {
    fn attributes_of_pod(&mut self, pod: &str) -> &str {
        if !self.pod_attributes.contains_key(pod) {
            let mut a = json!({"system": system_of_service(service_of_pod(pod))});
            if let Some(node) = self.nodes.get(pod) {
                a["node"] = node.as_str().into();
            }
            self.pod_attributes.insert(pod.to_string(), a.to_string());
        }
        self.pod_attributes.get(pod).map_or("{}", String::as_str)
    }

    fn system_of_folder(&self, name: &str) -> Option<&'static str> {
        self.systems.get(folder_of(name)).copied()
    }

    /// The entry service of a system: the service of most of its root spans.
    fn entry_service(&self, system: Option<&'static str>) -> Option<String> {
        let counts = self.roots.get(system?)?;
        let most = counts
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)));
        most.map(|(s, _)| s.clone())
    }

    fn read_logs(&mut self, file: &SourceFile, rt: &Handle, out: &mut RowOut) -> Result<()> {
        let mut csv = open_csv(file, rt)?;
        let [stamp, nanos, node, pod, container, trace, span, log] =
            csv.columns("Timestamp TimeUnixNano Node PodName Container TraceID SpanID Log");
        let (pod, log) = (csv.require("PodName", pod)?, csv.require("Log", log)?);
        csv.require("TimeUnixNano", nanos.or(stamp))?;
        let day = folder_day(&file.name);
        let mut row = Row::new(SignalKind::Logs);
        csv.for_each(out, |out, line, rec| {
            let get = |i: Option<usize>| i.and_then(|i| rec.get(i)).unwrap_or("").trim();
            let ts = match get(nanos).parse::<i64>() {
                Ok(n) => ts_from_int(n),
                Err(_) => ts_from_str(get(stamp)),
            };
            let ts = match ts {
                Ok(ts) if plausible(ts, day) => ts,
                Ok(_) => return out.reject(line, IMPLAUSIBLE, &raw(rec)),
                Err(_) => {
                    let reason = "TimeUnixNano/Timestamp is not a timestamp";
                    return out.reject(line, reason, &raw(rec));
                }
            };
            let pod_name = get(Some(pod));
            let service = service_of_pod(pod_name);
            let mut attributes = Map::new();
            attributes.insert("system".into(), system_of_service(service).into());
            if let Some(n) = opt(get(node)) {
                self.nodes
                    .entry(pod_name.to_string())
                    .or_insert_with(|| n.clone());
                attributes.insert("node".into(), n.into());
            }
            if let Some(c) = opt(get(container)) {
                attributes.insert("container".into(), c.into());
            }
            // The runtime's line: {"log": "<app line>\n", "stream": …, "time": …}.
            let text = get(Some(log));
            let app = match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(mut o)) => {
                    if let Some(Value::String(s)) = o.remove("stream") {
                        attributes.insert("stream".into(), s.into());
                    }
                    match o.remove("log") {
                        Some(Value::String(s)) => s,
                        _ => text.to_string(),
                    }
                }
                _ => text.to_string(),
            };
            let (body, level) = app_line(app.trim_end_matches(['\n', '\r']), &mut attributes);
            row.clear();
            row.set("ts", Cell::Ts(ts))
                .set("service", opt(service))
                .set("host", opt(pod_name))
                .set("severity", level)
                .set("body", body)
                .set("trace_id", opt(get(trace)))
                .set("span_id", opt(get(span)))
                .set("attributes", Value::Object(attributes).to_string());
            out.emit(line, &row, || raw(rec))
        })
    }

    fn read_traces(&mut self, file: &SourceFile, rt: &Handle, out: &mut RowOut) -> Result<()> {
        let mut csv = open_csv(file, rt)?;
        let [trace, span, parent, pod, op, start, end, duration] = csv.columns(
            "TraceID SpanID ParentID PodName OperationName StartTimeUnixNano EndTimeUnixNano Duration",
        );
        csv.require("TraceID", trace)?;
        csv.require("SpanID", span)?;
        csv.require("StartTimeUnixNano", start)?;
        let day = folder_day(&file.name);
        let mut row = Row::new(SignalKind::Spans);
        csv.for_each(out, |out, line, rec| {
            let get = |i: Option<usize>| i.and_then(|i| rec.get(i)).unwrap_or("").trim();
            let int = |i: Option<usize>| get(i).parse::<i64>().ok();
            let ts = match int(start).map(ts_from_int) {
                Some(Ok(ts)) if plausible(ts, day) => ts,
                Some(Ok(_)) => return out.reject(line, IMPLAUSIBLE, &raw(rec)),
                _ => return out.reject(line, "StartTimeUnixNano is not an integer", &raw(rec)),
            };
            let duration_ns = match int(end).map(|e| e - ts) {
                Some(d) if d >= 0 => Some(d),
                _ => int(duration).and_then(|us| us.checked_mul(1000)),
            };
            let (pod_name, parent_id) = (get(pod), get(parent));
            let service = service_of_pod(pod_name);
            let root = parent_id.is_empty() || parent_id.eq_ignore_ascii_case("root");
            if root && !service.is_empty() {
                let system = self.roots.entry(system_of_service(service)).or_default();
                *system.entry(service.to_string()).or_default() += 1;
            }
            row.clear();
            row.set("ts", Cell::Ts(ts))
                .set("duration_ns", duration_ns.map_or(Cell::Null, Cell::Int))
                .set("trace_id", get(trace))
                .set("span_id", get(span))
                .set("parent_span_id", (!root).then_some(parent_id))
                .set("service", opt(service))
                .set("operation", opt(get(op)))
                .set("host", opt(pod_name))
                .set("attributes", self.attributes_of_pod(pod_name));
            out.emit(line, &row, || raw(rec))
        })
    }

    /// The series of a wide metric file, one per column that is not time or subject.
    fn series(
        &self,
        role: Role,
        file: &SourceFile,
        headers: &[String],
        skip: &[Option<usize>],
    ) -> Vec<Series> {
        let system = self.system_of_folder(&file.name);
        let entry = self.entry_service(system);
        let fname = file_name(&file.name).trim_end_matches(".csv");
        let (reporter, pct) = fname.split_once('_').unwrap_or_default();
        let columns = (0..headers.len()).filter(|i| !skip.contains(&Some(*i)));
        columns
            .map(|col| {
                let h = headers[col].as_str();
                let ((name, unit), service, attributes) = match role {
                    Role::Edge => {
                        let (caller, callee) = h.split_once('_').unwrap_or((h, ""));
                        let system = system.unwrap_or_else(|| system_of_service(caller));
                        let a = json!({"caller": caller, "callee": callee, "reporter": reporter,
                            "system": system});
                        let name = (format!("EdgeLatencyP{pct}"), Some("s".into()));
                        (name, opt(caller), Some(a.to_string()))
                    }
                    Role::FrontService => {
                        let mut a = json!({"scope": "entry"});
                        if let Some(system) = system {
                            a["system"] = system.into();
                        }
                        (name_and_unit(h), entry.clone(), Some(a.to_string()))
                    }
                    _ => (name_and_unit(h), None, None),
                };
                Series {
                    col,
                    name,
                    unit,
                    service,
                    attributes,
                }
            })
            .collect()
    }

    /// Wide metric files: `Time`, `TimeStamp`, a subject column (`PodName`, `ServiceName`) and
    /// one column per series.
    fn read_wide(
        &mut self,
        role: Role,
        file: &SourceFile,
        rt: &Handle,
        out: &mut RowOut,
    ) -> Result<()> {
        let mut csv = open_csv(file, rt)?;
        let [time, stamp, pod_col, service_col] = csv.columns("Time TimeStamp PodName ServiceName");
        csv.require("Time", time.or(stamp))?;
        let headers = csv.headers.clone();
        let series = self.series(role, file, &headers, &[time, stamp, pod_col, service_col]);
        let file_pod = file_name(&file.name).strip_suffix("_metric.csv");
        let file_pod = file_pod.filter(|_| role == Role::PodMetric);
        let day = folder_day(&file.name);
        let mut row = Row::new(SignalKind::Metrics);
        csv.for_each(out, |out, line, rec| {
            let get = |i: Option<usize>| i.and_then(|i| rec.get(i)).unwrap_or("").trim();
            // The first time column that parses and lies near the folder's date, so that a
            // broken epoch column next to a good `Time` costs nothing.
            let times = [
                time.map(|_| go_time(get(time))),
                stamp.map(|_| ts_from_str(get(stamp))),
            ];
            let mut parsed = times.iter().flatten().flatten().copied();
            let Some(ts) = parsed.clone().find(|&t| plausible(t, day)) else {
                let reason = match parsed.next() {
                    Some(_) => IMPLAUSIBLE,
                    None => "Time/TimeStamp is not a timestamp",
                };
                return out.reject(line, reason, &raw(rec));
            };
            let pod = opt(get(pod_col)).or_else(|| file_pod.map(str::to_string));
            let pod_service = pod
                .as_deref()
                .map(service_of_pod)
                .filter(|_| file_pod.is_some());
            let pod_attributes = pod.as_deref().map_or("{}", |p| self.attributes_of_pod(p));
            for s in &series {
                let v = get(Some(s.col));
                // The source and line name the row; the record says which cell.
                let record = || format!("{}={v}", headers[s.col]);
                let value = match metric_value(v) {
                    Ok(value) => value,
                    Err(reason) => {
                        out.reject(line, reason, &record())?;
                        continue;
                    }
                };
                let service = match (&s.service, pod_service) {
                    (Some(svc), _) => Some(svc.clone()),
                    (None, Some(svc)) => Some(svc.to_string()),
                    (None, None) => opt(&get(service_col).to_ascii_lowercase()),
                };
                row.clear();
                row.set("ts", Cell::Ts(ts))
                    .set("service", service)
                    .set("host", pod.clone())
                    .set("name", s.name.as_str())
                    .set("value", Cell::Float(value))
                    .set("unit", s.unit.clone())
                    .set(
                        "attributes",
                        s.attributes.as_deref().unwrap_or(pod_attributes),
                    );
                out.emit(line, &row, record)?;
            }
            Ok(())
        })
    }
}

/// For each file that repeats an earlier one byte for byte (same name, size and SHA-256),
/// the index of that earlier file.
fn duplicates(
    plan: &[(usize, Role)],
    files: &[SourceFile],
    rt: &Handle,
) -> Result<HashMap<usize, usize>> {
    let mut groups: HashMap<(&str, u64), Vec<usize>> = HashMap::new();
    for &(i, _) in plan.iter().filter(|(_, r)| !matches!(r, Role::Skip(_))) {
        let key = (file_name(&files[i].name), files[i].size);
        groups.entry(key).or_default().push(i);
    }
    let mut dup = HashMap::new();
    for group in groups.into_values().filter(|g| g.len() > 1) {
        let mut seen: HashMap<Vec<u8>, usize> = HashMap::new();
        for i in group {
            let mut h = Sha256::new();
            let mut reader = files[i].reader(rt)?;
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = reader
                    .read(&mut buf)
                    .map_err(|e| file_error(&files[i], e))?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
            let digest = h.finalize().to_vec();
            match seen.get(&digest) {
                Some(&first) => dup.insert(i, first),
                None => seen.insert(digest, i),
            };
        }
    }
    Ok(dup)
}

/// The folder all files are under, ending in `/`.
fn common_folder(files: &[SourceFile]) -> String {
    let mut root = files.first().map_or("", |f| f.name.as_str());
    for f in files {
        while !f.name.starts_with(root) {
            root = &root[..root.char_indices().last().map_or(0, |(i, _)| i)];
        }
    }
    root.rfind('/').map_or("", |i| &root[..=i]).to_string()
}

/// Reads a Nezha folder (its files sorted by path) into the signal tables and `_labels/`.
pub(crate) fn read(files: &[SourceFile], rt: &Handle, out: &mut RowOut) -> Result<()> {
    let mut plan: Vec<(usize, Role)> = files
        .iter()
        .map(|f| classify(&f.name))
        .enumerate()
        .collect();
    plan.sort_by_key(|&(i, role)| (role, i));
    let dup = duplicates(&plan, files, rt)?;
    let mut state = Nezha::default();
    state.labels.root = common_folder(files);
    for &(i, _) in plan.iter().filter(|(_, r)| *r == Role::PodMetric) {
        let pod = file_name(&files[i].name).trim_end_matches("_metric.csv");
        let system = system_of_service(service_of_pod(pod));
        let folder = state.systems.entry(folder_of(&files[i].name).to_string());
        // One TrainTicket pod makes the folder TrainTicket's.
        let known = folder.or_insert(system);
        if system == "TrainTicket" {
            *known = system;
        }
    }
    for &(i, role) in &plan {
        let file = &files[i];
        out.set_source(&file.name);
        if let Some(&first) = dup.get(&i) {
            let reason = "identical to an earlier file of the folder, skipped";
            out.reject(0, reason, &format!("same content as {}", files[first].name))?;
            out.progress(file.size)?;
            continue;
        }
        match role {
            Role::Log => state.read_logs(file, rt, out)?,
            Role::Trace => state.read_traces(file, rt, out)?,
            Role::PodMetric | Role::FrontService | Role::Edge => {
                state.read_wide(role, file, rt, out)?
            }
            Role::Dependency => {
                let system = state.system_of_folder(&file.name);
                state.labels.read_dependency(file, system, rt, out)?
            }
            Role::FaultList => state.labels.read_faults(file, rt, out)?,
            Role::FinerLabels => state.labels.read_finer(file, rt)?,
            Role::Skip(reason) => out.reject(0, reason, &file.name)?,
        }
        out.progress(file.size)?;
    }
    state.labels.write(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use datafusion::arrow::array::{Array, AsArray, Float64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{Int64Type, TimestampNanosecondType};
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use object_store::ObjectStoreExt;

    use super::*;
    use crate::ingest::{Format, IngestOptions, SourceReport, ingest};
    use crate::lake::Lake;

    const LOG: &str = r#"Timestamp,TimeUnixNano,Node,PodName,Container,TraceID,SpanID,Log
2022-08-22T05:18:42.908318Z,1661145522908318000,33.33.33.155,recommendationservice-6cfdd55578-gfj6q,server,t1,s2,"{""log"":""{\""timestamp\"": \""2022-08-22T05:18:42.908318Z\"", \""severity\"": \""WARNING\"", \""name\"": \""rec-server\"", \""message\"": \""List Recommendations\""}\n"",""stream"":""stdout"",""time"":""2022-08-22T05:18:42.90847299Z""}"
2022-08-22T05:18:43.1Z,1661145523100000000,33.33.33.76,adservice-5f6585d649-fnmft,server,t1,s3,"{""log"":""05:18:43.100 ERROR - TraceID: t1 SpanID: s3 Ad request failed\n"",""stream"":""stdout"",""time"":""2022-08-22T05:18:43.1Z""}"
2022-08-22T05:18:43.2Z,1661145523200000000,33.33.33.80,cartservice-579f59597d-wc2lz,server,t1,s4,"{""log"":""GetCartAsync called with userId=13\n"",""stream"":""stdout"",""time"":""2022-08-22T05:18:43.2Z""}"
"#;
    const TRACE: &str = "TraceID,SpanID,ParentID,PodName,OperationName,StartTimeUnixNano,EndTimeUnixNano,Duration
t1,s1,root,frontend-579b9bff58-t2dbm,hipstershop.Frontend/Recv.,1661145522900000000,1661145523300000000,400000
t1,s2,s1,recommendationservice-6cfdd55578-gfj6q,/hipstershop.RecommendationService/ListRecommendations,1661145522905000000,1661145522910000000,5000
t1,s3,s1,adservice-5f6585d649-fnmft,/hipstershop.AdService/GetAds,1661145523000000000,,150
";
    // The adservice defect: every TimeStamp 200,000,000 s ahead of Time.
    const ADSERVICE: &str = "Time,TimeStamp,PodName,CpuUsage(m),CpuUsageRate(%),PodClientLatencyP90(s)
2022-08-22 05:19:19.607158889 +0000 UTC m=+0.113112869,1861145559,adservice-5f6585d649-fnmft,1.76,5.87,NaN
2022-08-22 05:18:19.589328775 +0000 UTC m=+60.095282755,1861145499,adservice-5f6585d649-fnmft,1.10,3.69,0.085
";
    const CART: &str = "Time,TimeStamp,PodName,CpuUsage(m),CpuUsageRate(%),PodClientLatencyP90(s)\r
2022-08-22 05:19:19.6 +0000 UTC m=+0.1,1661145559,cartservice-579f59597d-wc2lz,2.3,7.7,\r
2022-08-22 05:18:19.6 +0000 UTC m=+60.1,1661145499,cartservice-579f59597d-wc2lz,1.7,5.9,0.0046\r
";
    const FRONT: &str = "Time,TimeStamp,ServiceName,SuccessRate(%),LatencyP50(s)
2022-08-22 05:19:19.5 +0000 UTC m=+0.07,1661145559,Frontend,100,0.24
";
    const EDGE: &str = "time,timestamp,frontend_cartservice,checkoutservice_cartservice
2022-08-22 05:19:20.0 +0000 UTC m=+0.5,1661145560,0.0049,0.0044
";
    const DEPENDENCY: &str =
        "Source,Target,Weight\nfrontend,cartservice,1\ncheckoutservice,cartservice,1\n";
    const FAULTS: &str = r#"{"05": [{"inject_time": "2022-08-22 05:18:30", "inject_timestamp": "1661116710",
        "inject_pod": "adservice-5f6585d649-fnmft", "inject_type": "cpu_contention"}]}"#;
    const FINER: &str = r#"{"adservice": {"cpu_contention": "CpuUsageRate(%)"}}"#;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn excerpt(root: &Path) {
        let day = "rca_data/2022-08-22";
        write(root, &format!("{day}/log/05_18_log.csv"), LOG);
        write(root, &format!("{day}/trace/05_18_trace.csv"), TRACE);
        write(root, &format!("{day}/traceid/05_18_traceid.csv"), "t1\n");
        let ad = "metric/adservice-5f6585d649-fnmft_metric.csv";
        write(root, &format!("{day}/{ad}"), ADSERVICE);
        let cart = "metric/cartservice-579f59597d-wc2lz_metric.csv";
        write(root, &format!("{day}/{cart}"), CART);
        // construct_data repeats the day's metrics byte for byte.
        write(root, &format!("construct_data/2022-08-22/{cart}"), CART);
        write(root, &format!("{day}/metric/front_service.csv"), FRONT);
        write(root, &format!("{day}/metric/source_50.csv"), EDGE);
        write(root, &format!("{day}/metric/dependency.csv"), DEPENDENCY);
        write(root, &format!("{day}/2022-08-22-fault_list.json"), FAULTS);
        write(root, "construct_data/root_cause_hipster.json", FINER);
    }

    async fn get(lake: &Lake, rel: &str) -> bytes::Bytes {
        let found = lake.store().get(&lake.path(rel)).await.unwrap();
        found.bytes().await.unwrap()
    }

    async fn table(lake: &Lake, report: &SourceReport, table: &str) -> RecordBatch {
        let mut batches = Vec::new();
        for f in report.files.iter().filter(|f| f.starts_with(table)) {
            let reader = ParquetRecordBatchReaderBuilder::try_new(get(lake, f).await)
                .unwrap()
                .build()
                .unwrap();
            batches.extend(reader.map(Result::unwrap));
        }
        let schema = batches[0].schema();
        datafusion::arrow::compute::concat_batches(&schema, &batches).unwrap()
    }

    fn strings(batch: &RecordBatch, col: &str) -> Vec<Option<String>> {
        let a = batch.column_by_name(col).unwrap();
        let a = a.as_any().downcast_ref::<StringArray>().unwrap();
        a.iter().map(|v| v.map(str::to_string)).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_excerpt_of_the_layout_fills_every_table_and_the_labels() {
        let dir = tempfile::tempdir().unwrap();
        excerpt(dir.path());
        let lake = Lake::open("memory://t").unwrap();
        let options = IngestOptions::new(Format::Nezha, None);
        let location = dir.path().to_str().unwrap();
        let report = ingest(&lake, &options, location, Arc::new(|_| {}))
            .await
            .unwrap();

        let rows: Vec<_> = report.rows.iter().map(|(t, n)| (t.as_str(), *n)).collect();
        // Metrics: 2 × 3 cells per pod file less one NaN and one empty, 2 front, 2 edges.
        assert_eq!(rows, [("logs", 3), ("metrics", 14), ("spans", 3)]);
        let reasons: Vec<_> = report.reject_reasons.iter().collect();
        assert_eq!(report.rejected, 4, "{reasons:?}");
        for r in [
            "metric value is NaN",
            "metric value is empty",
            "identical to an earlier file of the folder, skipped",
            "trace-id list (traceid/): no signal, file skipped",
        ] {
            assert_eq!(report.reject_reasons.get(r), Some(&1), "{r}: {reasons:?}");
        }
        // The defect file's rows land on the folder's day, not 2028.
        assert!(!report.files.is_empty());
        for f in &report.files {
            assert!(f.contains("/date=2022-08-22/hour=05/"), "{f}");
        }

        let metrics = table(&lake, &report, "metrics/").await;
        let ts = metrics.column(0).as_primitive::<TimestampNanosecondType>();
        let hosts = strings(&metrics, "host");
        let names = strings(&metrics, "name");
        let ad_times: Vec<i64> = (0..metrics.num_rows())
            .filter(|&i| hosts[i].as_deref() == Some("adservice-5f6585d649-fnmft"))
            .map(|i| ts.value(i))
            .collect();
        assert_eq!(ad_times.len(), 5);
        assert!(
            ad_times.contains(&1_661_145_559_607_158_889),
            "{ad_times:?}"
        );
        let i = names
            .iter()
            .position(|n| n.as_deref() == Some("CpuUsageRate"))
            .unwrap();
        assert_eq!(strings(&metrics, "unit")[i].as_deref(), Some("%"));
        let services = strings(&metrics, "service");
        let attrs = strings(&metrics, "attributes");
        let values = metrics.column_by_name("value").unwrap();
        let values = values.as_any().downcast_ref::<Float64Array>().unwrap();
        assert!((0..values.len()).all(|i| values.value(i).is_finite()));
        let front = names
            .iter()
            .position(|n| n.as_deref() == Some("LatencyP50"))
            .unwrap();
        // The entry service is the service of the root spans.
        assert_eq!(services[front].as_deref(), Some("frontend"));
        assert!(
            attrs[front]
                .as_deref()
                .unwrap()
                .contains(r#""scope":"entry""#)
        );
        let edge = names
            .iter()
            .position(|n| n.as_deref() == Some("EdgeLatencyP50"))
            .unwrap();
        assert!(
            attrs[edge]
                .as_deref()
                .unwrap()
                .contains(r#""callee":"cartservice""#)
        );
        // The adservice pod's node comes from the logs.
        let ad = hosts
            .iter()
            .position(|h| h.as_deref() == Some("adservice-5f6585d649-fnmft"))
            .unwrap();
        assert!(
            attrs[ad]
                .as_deref()
                .unwrap()
                .contains(r#""node":"33.33.33.76""#),
            "{:?}",
            attrs[ad]
        );

        let logs = table(&lake, &report, "logs/").await;
        let mut by_host: Vec<_> = strings(&logs, "host")
            .into_iter()
            .zip(strings(&logs, "severity"))
            .zip(strings(&logs, "body"))
            .collect();
        by_host.sort();
        assert_eq!(
            by_host[0],
            (
                (
                    Some("adservice-5f6585d649-fnmft".into()),
                    Some("ERROR".into())
                ),
                Some("05:18:43.100 ERROR - TraceID: t1 SpanID: s3 Ad request failed".into())
            )
        );
        assert_eq!(by_host[1].0.1, None, "cartservice logs carry no level");
        assert_eq!(by_host[2].0.1.as_deref(), Some("WARN"));
        assert_eq!(by_host[2].1.as_deref(), Some("List Recommendations"));
        assert!(strings(&logs, "service").contains(&Some("recommendationservice".into())));

        let spans = table(&lake, &report, "spans/").await;
        let parents = strings(&spans, "parent_span_id");
        let ids = strings(&spans, "span_id");
        let durations = spans
            .column_by_name("duration_ns")
            .unwrap()
            .as_primitive::<Int64Type>()
            .clone();
        for (i, id) in ids.iter().enumerate() {
            let (parent, duration) = match id.as_deref() {
                Some("s1") => (None, 400_000_000),
                Some("s2") => (Some("s1"), 5_000_000),
                _ => (Some("s1"), 150_000),
            };
            assert_eq!(parents[i].as_deref(), parent);
            assert_eq!(durations.value(i), duration);
        }

        // Labels go beside the tables, never into them.
        assert_eq!(report.labels.len(), 2, "{:?}", report.labels);
        let faults: Value =
            serde_json::from_slice(&get(&lake, "_labels/nezha-faults.json").await).unwrap();
        let f = &faults["faults"][0];
        assert_eq!(f["inject_time"], "2022-08-22T05:18:30Z");
        assert_eq!(f["service"], "adservice");
        assert_eq!(f["fault_type"], "cpu_contention");
        assert_eq!(f["finer_label"], "CpuUsageRate(%)");
        assert_eq!(
            f["source"],
            "rca_data/2022-08-22/2022-08-22-fault_list.json"
        );
        let deps: Value =
            serde_json::from_slice(&get(&lake, "_labels/nezha-dependency.json").await).unwrap();
        assert_eq!(deps["graphs"][0]["edges"].as_array().unwrap().len(), 2);
        assert!(report.files.iter().all(|f| !f.starts_with("events/")));

        let again = ingest(&lake, &options, location, Arc::new(|_| {}))
            .await
            .unwrap();
        assert!(again.skipped);
        assert_eq!(again.rows, report.rows);
    }

    #[test]
    fn folders_and_file_roles() {
        let log = classify("/d/rca_data/2022-08-22/log/05_19_log.csv");
        assert_eq!(log, Role::Log);
        assert_eq!(classify("/d/x/metric/destination_50.csv"), Role::Edge);
        assert_eq!(classify("/d/x/metric/a_metric.csv"), Role::PodMetric);
        assert!(matches!(classify("/d/LICENSE"), Role::Skip(_)));
        assert!(matches!(
            classify("/d/2022-08-22/traceid/03_53_traceid.csv"),
            Role::Skip(_)
        ));
        let day = "/d/rca_data/2022-08-22";
        assert_eq!(folder_of(&format!("{day}/metric/a.csv")), day);
        assert_eq!(folder_of(&format!("{day}/2022-08-22-fault_list.json")), day);
        assert_eq!(folder_of("/d/x/metric/a.csv"), "/d/x");
        let day = folder_day("/d/2022-08-22/metric/a.csv");
        assert_eq!(day, Some(1_661_126_400_000_000_000));
        assert!(plausible(1_661_140_279_000_000_000, day));
        assert!(!plausible(1_861_140_279_000_000_000, day));
        assert!(plausible(1_861_140_279_000_000_000, None));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_recognised_file_without_its_columns_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let rel = "rca_data/2022-08-22/trace/05_18_trace.csv";
        write(
            dir.path(),
            rel,
            "TraceID,SpanID,PodName\nt1,s1,frontend-1-2\n",
        );
        let lake = Lake::open("memory://t").unwrap();
        let options = IngestOptions::new(Format::Nezha, None);
        let location = dir.path().to_str().unwrap();
        let e = ingest(&lake, &options, location, Arc::new(|_| {}))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains(rel) && e.contains("StartTimeUnixNano"), "{e}");
    }
}
