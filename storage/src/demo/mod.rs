//! `sigfuse demo`: a deterministic, realistic microservice system writing all four signal tables,
//! with injected, labeled incidents.
//!
//! | module | what it does |
//! |---|---|
//! | `catalog` | the services known by name: routes, dependencies, frontend pages |
//! | `topology` | services, operations, the call graph (a DAG), pods and nodes |
//! | `incidents` | fault planning, what a fault does at a time, incident labels |
//! | `traffic` | traces through the call graph, the logs written while serving them, request stats |
//! | `events` | the event timeline: deploys, config changes, k8s, autoscaling, alerts |
//! | `telemetry` | pod and node metrics every 10 s, background pod logs |
//! | `templates` | the log template table (public ground truth for log parsing) |
//! | `random` | seeded streams and the distributions used |
//!
//! The same [`DemoOptions`] always give the same files, byte for byte: every chunk (a quarter
//! hour) and purpose has its own random stream, and the start time is fixed. Generation and
//! writing go chunk by chunk, so memory holds one chunk of rows whatever the run's length.
//!
//! Ground truth never goes into the signal tables: incidents and the call graph are written to
//! `_labels/demo.json`, and log templates are [`log_templates`] in code.

mod catalog;
mod events;
mod incidents;
mod random;
mod telemetry;
mod templates;
mod topology;
mod traffic;

use std::collections::BTreeMap;

use datafusion::common::{Result, internal_datafusion_err, internal_err, plan_err};
use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

pub use templates::{LogTemplate, log_templates};

use crate::lake::Lake;
use crate::layout::NANOS_PER_HOUR;
use crate::rows::{BatchBuilder, Cell, Row};
use crate::schema::SignalKind;
use crate::writer::{SignalWriter, WriterOptions};
use random::{Purpose, stream};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOptions {
    pub hours: u32,
    pub services: usize,
    pub seed: u64,
    /// Start of the range, nanoseconds since the epoch (UTC).
    pub start_ns: i64,
}

/// 2024-06-03T00:00:00Z: fixed, so that the output does not depend on when it is generated.
pub const DEFAULT_START_NS: i64 = 1_717_372_800_000_000_000;

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            hours: 2,
            services: 12,
            seed: 42,
            start_ns: DEFAULT_START_NS,
        }
    }
}

/// What a run wrote.
#[derive(Debug, Clone, Default)]
pub struct DemoReport {
    /// Rows per table name.
    pub rows: BTreeMap<String, u64>,
    /// Parquet files written.
    pub files: usize,
    pub incidents: Vec<Incident>,
}

/// The label of one injected incident.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Incident {
    pub id: String,
    /// `latency`, `error_burst_after_deploy`, `cpu_saturation` or `dependency_outage`.
    pub kind: String,
    /// The root-cause service.
    pub service: String,
    /// RFC 3339, UTC.
    pub start: String,
    pub end: String,
    /// The root cause first, then every service that calls it, nearest first.
    pub affected: Vec<String>,
    pub description: String,
}

/// Generation and writing go in chunks of this length: memory holds one chunk of rows, and each
/// hour folder gets one file per chunk and table.
pub(crate) const CHUNK_NS: i64 = NANOS_PER_HOUR / 4;

/// The path of the labels file, relative to the lake root (under `layout::LABELS_DIR`).
pub const LABELS_FILE: &str = "_labels/demo.json";

/// Rows of one table on their way to its writer. Rows are committed during a chunk; rows that
/// belong to a later chunk (a trace that started just before the chunk ended) wait for it, so
/// each chunk's rows go out as one flush, into one file.
pub(crate) struct TableSink {
    kind: SignalKind,
    builder: BatchBuilder,
    row: Row,
    spill: Vec<Row>,
    chunk_end: i64,
    end: i64,
    writer: SignalWriter,
}

fn row_ts(row: &Row) -> Option<i64> {
    match row.get("ts") {
        Some(Cell::Ts(t)) => Some(*t),
        _ => None,
    }
}

impl TableSink {
    fn new(lake: &Lake, kind: SignalKind, seed: u64, end: i64) -> Self {
        Self {
            kind,
            builder: BatchBuilder::new(kind),
            row: Row::new(kind),
            spill: Vec::new(),
            chunk_end: i64::MIN,
            end,
            writer: SignalWriter::new(
                lake,
                kind,
                format!("demo-s{seed}"),
                WriterOptions::default(),
            ),
        }
    }

    /// The row to fill next (emptied).
    pub(crate) fn row(&mut self) -> &mut Row {
        self.row.clear();
        &mut self.row
    }

    /// Appends the filled row; rows at or after the end of the run are dropped.
    pub(crate) fn commit(&mut self) -> Result<()> {
        let Some(ts) = row_ts(&self.row) else {
            return internal_err!("demo: {} row without ts", self.kind);
        };
        if ts >= self.end {
            return Ok(());
        }
        if ts >= self.chunk_end {
            self.spill.push(self.row.clone());
            return Ok(());
        }
        self.builder.append(&self.row).map_err(|e| {
            internal_datafusion_err!("demo: generated an invalid {} row: {e}", self.kind)
        })
    }

    /// Starts the chunk ending at `chunk_end`, taking in the rows that waited for it.
    fn begin(&mut self, chunk_end: i64) -> Result<()> {
        self.chunk_end = chunk_end;
        for row in std::mem::take(&mut self.spill) {
            if row_ts(&row).is_some_and(|t| t < chunk_end) {
                self.builder.append(&row).map_err(|e| {
                    internal_datafusion_err!("demo: invalid {} row: {e}", self.kind)
                })?;
            } else {
                self.spill.push(row);
            }
        }
        Ok(())
    }

    /// Writes the chunk out; returns its row count.
    async fn end_chunk(&mut self) -> Result<u64> {
        let mut rows = 0;
        if let Some(batch) = self.builder.flush()? {
            rows = batch.num_rows() as u64;
            self.writer.write(batch).await?;
        }
        self.writer.flush().await?;
        Ok(rows)
    }
}

/// Generates the demo system into `lake` and writes `_labels/demo.json`. `progress` is called
/// with the rows written since its previous call, once per generated quarter hour.
pub async fn generate(
    lake: &Lake,
    opts: &DemoOptions,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<DemoReport> {
    if opts.hours == 0 || opts.hours > 24 * 366 {
        return plan_err!("demo: hours must be between 1 and 8784, got {}", opts.hours);
    }
    if opts.services == 0 || opts.services > 500 {
        return plan_err!(
            "demo: services must be between 1 and 500, got {}",
            opts.services
        );
    }
    let seed = opts.seed;
    let start = opts.start_ns;
    let end = start + i64::from(opts.hours) * NANOS_PER_HOUR;
    let topo = topology::Topology::build(opts.services, &mut stream(seed, 0, Purpose::Topology));
    let faults = incidents::plan(
        &topo,
        start,
        opts.hours,
        &mut stream(seed, 0, Purpose::Incidents),
    );
    let labels = incidents::incidents(&topo, &faults);
    let timeline = events::plan(
        &topo,
        &faults,
        start,
        end,
        &mut stream(seed, 0, Purpose::Events),
    );

    let mut sinks: Vec<TableSink> = SignalKind::ALL
        .into_iter()
        .map(|k| TableSink::new(lake, k, seed, end))
        .collect();
    let mut stats = traffic::Stats::new(topo.pods.len(), start);
    let log_attrs = traffic::log_attributes(&topo);
    let chunks = (end - start) / CHUNK_NS;
    for c in 0..chunks {
        let from = start + c * CHUNK_NS;
        let to = from + CHUNK_NS;
        // Faults that touch this chunk or a trace spilling into the next one.
        let active: Vec<&incidents::Fault> = faults
            .iter()
            .filter(|f| f.start < to + CHUNK_NS && f.end > from)
            .collect();
        for sink in &mut sinks {
            sink.begin(to)?;
        }
        let [logs, spans, metrics, events] = &mut sinks[..] else {
            return internal_err!("demo: one sink per signal table");
        };
        let chunk = c as u64;
        traffic::Traffic::new(
            &topo,
            &active,
            spans,
            logs,
            &mut stats,
            &log_attrs,
            stream(seed, chunk, Purpose::Traffic),
        )
        .run(from, to)?;
        telemetry::write_background_logs(
            &topo,
            &active,
            &log_attrs,
            from,
            to,
            logs,
            &mut stream(seed, chunk, Purpose::Background),
        )?;
        telemetry::write_metrics(
            &topo,
            &active,
            &timeline,
            &stats,
            from,
            metrics,
            &mut stream(seed, chunk, Purpose::Metrics),
        )?;
        events::write_events(&topo, &timeline, from, to, events)?;
        let mut written = 0;
        for sink in &mut sinks {
            written += sink.end_chunk().await?;
        }
        progress(written);
        stats.advance();
    }

    let mut report = DemoReport {
        incidents: labels,
        ..DemoReport::default()
    };
    for sink in sinks {
        let name = sink.kind.table_name().to_string();
        let stats = sink.writer.finish().await?;
        report.files += stats.files.len();
        report.rows.insert(name, stats.rows);
    }
    write_labels(lake, opts, &topo, &report).await?;
    Ok(report)
}

async fn write_labels(
    lake: &Lake,
    opts: &DemoOptions,
    topo: &topology::Topology,
    report: &DemoReport,
) -> Result<()> {
    let end = opts.start_ns + i64::from(opts.hours) * NANOS_PER_HOUR;
    let services: Vec<serde_json::Value> = topo
        .services
        .iter()
        .map(|s| {
            serde_json::json!({
                "name": s.name,
                "role": format!("{:?}", s.role).to_lowercase(),
                "runtime": format!("{:?}", s.runtime).to_lowercase(),
                "pods": s.pods.iter().map(|&p| topo.pods[p].name.clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let labels = serde_json::json!({
        "generator": "sigfuse demo",
        "seed": opts.seed,
        "hours": opts.hours,
        "start": incidents::rfc3339(opts.start_ns),
        "end": incidents::rfc3339(end),
        "services": services,
        "call_graph": topo.edges(),
        "incidents": report.incidents,
        "log_templates": "sigfuse_storage::demo::log_templates()",
    });
    let bytes = serde_json::to_vec_pretty(&labels)
        .map_err(|e| internal_datafusion_err!("demo: labels do not serialise: {e}"))?;
    lake.store()
        .put(&lake.path(LABELS_FILE), PutPayload::from(bytes))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::hash::{DefaultHasher, Hash, Hasher};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use datafusion::arrow::array::{Array, AsArray, RecordBatch};
    use datafusion::arrow::compute::cast;
    use datafusion::arrow::datatypes::{DataType, Int64Type, TimestampNanosecondType};
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use futures::TryStreamExt;
    use object_store::ObjectStore;

    use super::*;

    async fn run(seed: u64, hours: u32, services: usize) -> (Lake, DemoReport, u64) {
        let lake = Lake::open("memory://t").unwrap();
        let opts = DemoOptions {
            hours,
            services,
            seed,
            ..DemoOptions::default()
        };
        let seen = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&seen);
        let report = generate(&lake, &opts, &move |n| {
            counter.fetch_add(n, Ordering::Relaxed);
        })
        .await
        .unwrap();
        (lake, report, seen.load(Ordering::Relaxed))
    }

    async fn files(lake: &Lake) -> Vec<String> {
        let mut out: Vec<String> = lake
            .store()
            .list(None)
            .map_ok(|m| m.location.to_string())
            .try_collect()
            .await
            .unwrap();
        out.sort();
        out
    }

    async fn read(lake: &Lake, table: &str) -> Vec<RecordBatch> {
        let mut batches = Vec::new();
        for f in files(lake)
            .await
            .into_iter()
            .filter(|f| f.starts_with(&format!("{table}/")))
        {
            let path = lake.path(&f);
            let bytes = lake
                .store()
                .get(&path)
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
                .unwrap()
                .build()
                .unwrap();
            batches.extend(reader.map(Result::unwrap));
        }
        batches
    }

    fn digest(batches: &[RecordBatch]) -> u64 {
        let mut h = DefaultHasher::new();
        for b in batches {
            for col in b.columns() {
                let data = col.to_data();
                for buf in data.buffers() {
                    buf.as_slice().hash(&mut h);
                }
                data.nulls().map(|n| n.validity().to_vec()).hash(&mut h);
            }
        }
        h.finish()
    }

    /// Column `name` of every batch as optional strings.
    fn strings(batches: &[RecordBatch], name: &str) -> Vec<Option<String>> {
        let mut out = Vec::new();
        for b in batches {
            let col = cast(b.column_by_name(name).unwrap(), &DataType::Utf8).unwrap();
            out.extend(col.as_string::<i32>().iter().map(|v| v.map(str::to_string)));
        }
        out
    }

    fn ts_of(batches: &[RecordBatch]) -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_primitive::<TimestampNanosecondType>()
                    .values()
                    .to_vec()
            })
            .collect()
    }

    fn nanos(rfc3339: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_nanos_opt()
            .unwrap()
    }

    #[tokio::test]
    async fn the_same_seed_gives_the_same_data_and_another_seed_other_data() {
        let (a, ra, progressed) = run(7, 1, 6).await;
        let (b, rb, _) = run(7, 1, 6).await;
        let (c, _, _) = run(8, 1, 6).await;
        assert_eq!(files(&a).await, files(&b).await);
        assert_eq!(ra.rows, rb.rows);
        assert_eq!(progressed, ra.rows.values().sum::<u64>());
        let (sa, sb, sc) = (
            read(&a, "spans").await,
            read(&b, "spans").await,
            read(&c, "spans").await,
        );
        assert_eq!(digest(&sa), digest(&sb));
        assert_ne!(digest(&sa), digest(&sc));
        assert_eq!(
            digest(&read(&a, "logs").await),
            digest(&read(&b, "logs").await)
        );
        // One hour still gets two incidents, labeled.
        assert!(ra.incidents.len() >= 2);
        assert_eq!(
            ra.files,
            files(&a)
                .await
                .iter()
                .filter(|f| f.ends_with(".parquet"))
                .count()
        );
    }

    #[tokio::test]
    async fn incidents_show_in_the_data_and_labels_stay_out_of_it() {
        let (lake, report, _) = run(11, 2, 6).await;
        for table in ["logs", "spans", "metrics", "events"] {
            assert!(report.rows[table] > 0, "{table} is empty");
        }
        let spans = read(&lake, "spans").await;
        let ts = ts_of(&spans);
        let dur: Vec<i64> = spans
            .iter()
            .flat_map(|b| b.column(1).as_primitive::<Int64Type>().values().to_vec())
            .collect();
        let service = strings(&spans, "service");
        let status = strings(&spans, "status");
        let kind = strings(&spans, "kind");
        let host = strings(&spans, "host");
        let attrs = strings(&spans, "attributes");
        let trace = strings(&spans, "trace_id");
        let span = strings(&spans, "span_id");
        assert!(
            trace
                .iter()
                .all(|t| t.as_ref().is_some_and(|t| t.len() == 32))
        );
        assert!(
            span.iter()
                .all(|s| s.as_ref().is_some_and(|s| s.len() == 16))
        );

        let windows: Vec<(i64, i64)> = report
            .incidents
            .iter()
            .map(|i| {
                (
                    nanos(&i.start) - 60_000_000_000,
                    nanos(&i.end) + 180_000_000_000,
                )
            })
            .collect();
        let quiet = |i: usize| windows.iter().all(|&(lo, hi)| ts[i] < lo || ts[i] >= hi);
        let kinds: HashSet<&str> = report.incidents.iter().map(|i| i.kind.as_str()).collect();
        assert_eq!(kinds.len(), 4, "{kinds:?}");
        for inc in &report.incidents {
            let (lo, hi) = (nanos(&inc.start) + 120_000_000_000, nanos(&inc.end));
            let inside = |i: usize| ts[i] >= lo && ts[i] < hi;
            let root = |i: usize| {
                service[i].as_deref() == Some(inc.service.as_str())
                    && kind[i].as_deref() == Some("SERVER")
            };
            // (inside, outside) of f over the spans selected by keep.
            let split = |keep: &dyn Fn(usize) -> bool, f: &dyn Fn(usize) -> f64| {
                let (mut s, mut n) = ([0.0f64; 2], [0.0f64; 2]);
                for i in (0..ts.len()).filter(|&i| keep(i)) {
                    // Outside means quiet: in no incident's window.
                    let k = match (inside(i), quiet(i)) {
                        (true, _) => 0,
                        (false, true) => 1,
                        (false, false) => continue,
                    };
                    s[k] += f(i);
                    n[k] += 1.0;
                }
                (s[0] / n[0].max(1.0), s[1] / n[1].max(1.0), n[0])
            };
            let is_error = |i: usize| f64::from(u8::from(status[i].as_deref() == Some("ERROR")));
            match inc.kind.as_str() {
                "error_burst_after_deploy" => {
                    let (a, b, _) = split(&root, &is_error);
                    assert!(
                        a > 0.15 && a > 5.0 * b,
                        "{inc:?}: error ratio {a} inside vs {b}"
                    );
                }
                "latency" => {
                    let (a, b, _) = split(&root, &|i| dur[i] as f64);
                    assert!(a > 3.0 * b, "{inc:?}: mean duration {a} inside vs {b}");
                }
                "cpu_saturation" => {
                    let hosts: HashSet<&str> = (0..ts.len())
                        .filter(|&i| root(i))
                        .filter_map(|i| host[i].as_deref())
                        .collect();
                    let worst = hosts
                        .iter()
                        .map(|h| {
                            let (a, b, _) =
                                split(&|i| root(i) && host[i].as_deref() == Some(h), &|i| {
                                    dur[i] as f64
                                });
                            a / b
                        })
                        .fold(0.0, f64::max);
                    assert!(worst > 2.0, "{inc:?}: slow-down {worst}");
                }
                "dependency_outage" => {
                    let (_, _, served) = split(&root, &is_error);
                    assert_eq!(served, 0.0, "{inc:?}: a down service served requests");
                    let peer = format!("\"net.peer.name\":\"{}\"", inc.service);
                    let calls = |i: usize| {
                        kind[i].as_deref() == Some("CLIENT")
                            && attrs[i].as_ref().is_some_and(|a| a.contains(&peer))
                    };
                    let (a, b, n) = split(&calls, &is_error);
                    assert!(
                        n > 0.0 && a > 0.9 && b < 0.05,
                        "{inc:?}: call errors {a} inside vs {b}"
                    );
                }
                other => panic!("unknown kind {other}"),
            }
            assert_eq!(inc.affected[0], inc.service);
        }

        // Logs point at spans that exist.
        let ids: HashSet<(String, String)> = trace
            .into_iter()
            .zip(span)
            .filter_map(|(t, s)| Some((t?, s?)))
            .collect();
        let logs = read(&lake, "logs").await;
        let (lt, ls) = (strings(&logs, "trace_id"), strings(&logs, "span_id"));
        let mut linked = 0;
        for (t, s) in lt.into_iter().zip(ls) {
            if let (Some(t), Some(s)) = (t, s) {
                assert!(ids.contains(&(t, s)), "log refers to a missing span");
                linked += 1;
            }
        }
        assert!(linked > 1000);
        let severities: HashSet<String> =
            strings(&logs, "severity").into_iter().flatten().collect();
        for s in ["DEBUG", "INFO", "WARN", "ERROR"] {
            assert!(severities.contains(s), "{s}");
        }

        // The labels file holds the incidents; no label text is in any table.
        assert!(LABELS_FILE.starts_with(crate::layout::LABELS_DIR));
        let bytes = lake
            .store()
            .get(&lake.path(LABELS_FILE))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let labels: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let written: Vec<Incident> = serde_json::from_value(labels["incidents"].clone()).unwrap();
        assert_eq!(written.len(), report.incidents.len());
        assert!(
            labels["call_graph"]
                .as_array()
                .is_some_and(|g| !g.is_empty())
        );
        let mut needles: Vec<String> = report
            .incidents
            .iter()
            .flat_map(|i| [i.id.clone(), i.description.clone()])
            .collect();
        needles.extend(["template_id".to_string(), "incident".to_string()]);
        let mut checked: HashMap<&str, usize> = HashMap::new();
        for table in ["logs", "spans", "metrics", "events"] {
            let batches = read(&lake, table).await;
            let schema = SignalKind::parse(table).unwrap().schema();
            for f in schema
                .fields()
                .iter()
                .filter(|f| f.data_type() == &DataType::Utf8)
            {
                for v in strings(&batches, f.name()).into_iter().flatten() {
                    for n in &needles {
                        assert!(
                            !v.contains(n.as_str()),
                            "{table}.{}: {v:?} contains {n:?}",
                            f.name()
                        );
                    }
                    *checked.entry(table).or_default() += 1;
                }
            }
        }
        assert_eq!(checked.len(), 4);
    }

    #[tokio::test]
    async fn tiny_systems_and_unaligned_starts_work() {
        for (services, offset) in [(1, 0), (2, 7 * 60 * 1_000_000_000 + 123)] {
            let lake = Lake::open("memory://t").unwrap();
            let opts = DemoOptions {
                hours: 1,
                services,
                start_ns: DEFAULT_START_NS + offset,
                ..DemoOptions::default()
            };
            let report = generate(&lake, &opts, &|_| {}).await.unwrap();
            assert!(
                report.rows["spans"] > 0 && report.rows["metrics"] > 0,
                "{services}"
            );
            assert!(report.incidents.len() >= 2);
            for table in ["spans", "logs", "metrics", "events"] {
                let ts = ts_of(&read(&lake, table).await);
                let end = opts.start_ns + NANOS_PER_HOUR;
                assert!(ts.iter().all(|&t| t >= opts.start_ns && t < end), "{table}");
            }
        }
        let lake = Lake::open("memory://t").unwrap();
        let bad = DemoOptions {
            services: 0,
            ..DemoOptions::default()
        };
        let err = generate(&lake, &bad, &|_| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("services"), "{err}");
    }

    /// `cargo test --workspace demo_default_run -- --ignored --nocapture` prints the size and
    /// time of the default run (`SIGFUSE_DEMO_HOURS`, `SIGFUSE_DEMO_SERVICES` change it).
    #[tokio::test]
    #[ignore]
    async fn demo_default_run() {
        // SIGFUSE_DEMO_LAKE=/tmp/demo keeps the output for a look with `sigfuse query`.
        let location = std::env::var("SIGFUSE_DEMO_LAKE").unwrap_or_else(|_| "memory://t".into());
        let lake = Lake::open(&location).unwrap();
        let started = std::time::Instant::now();
        let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse().ok());
        let defaults = DemoOptions::default();
        let opts = DemoOptions {
            hours: env("SIGFUSE_DEMO_HOURS").unwrap_or(defaults.hours),
            services: env("SIGFUSE_DEMO_SERVICES").map_or(defaults.services, |s: u32| s as usize),
            ..defaults
        };
        let report = generate(&lake, &opts, &|_| {}).await.unwrap();
        eprintln!(
            "rows {:?} total {} files {} in {:.1?}",
            report.rows,
            report.rows.values().sum::<u64>(),
            report.files,
            started.elapsed()
        );
        for i in &report.incidents {
            eprintln!(
                "{} {} {} {}..{} {:?}",
                i.id, i.kind, i.service, i.start, i.end, i.affected
            );
        }
    }
}
