//! Ingest: sources in several formats → canonical rows → the lake layout.
//!
//! | format | source | tables |
//! |---|---|---|
//! | `jsonl` | JSON object per line, fields mapped by name (`--map`) | the one given |
//! | `csv` | header row, fields mapped by name | the one given |
//! | `parquet` | any schema, columns mapped by name | the one given |
//! | `otlp-json` | OpenTelemetry collector file exporter: an `Export{Logs,Trace,Metrics}ServiceRequest` per line | from the record, or the one given |
//! | `nezha` | a Nezha dataset folder (`rca_data/`, `construct_data/`) | logs, spans, metrics; fault lists go to `_labels/` |
//! | `petshop` | a PetShop dataset or scenario folder (`noissue/`, `train/`, `test/`) | metrics; issue targets go to `_labels/` |
//!
//! The pipeline per source: an adapter parses on a blocking thread into a [`RowOut`]; the async
//! side writes batches with one [`SignalWriter`] per table and rejects to
//! `_rejects/<stem>.jsonl`. Memory stays bounded by the channel, the batch size and the
//! writer's flush threshold, whatever the source size.
//!
//! JSON lines (and OTLP JSON) parse on every core (`jsonl::par_for_each_line`). A JSON line is
//! read into borrowed top-level fields (`fields`), flat records without serde's visitor, and
//! `mapping::FieldMap::resolve` maps them to borrowed cells appended straight to Arrow builders.
//!
//! Nothing is lost silently: a record that cannot be made a valid row is counted, written to
//! `_rejects/` with its source, line and reason, and summarised in the report. A source that
//! cannot be opened or decoded at all, or yields no valid row, fails with its name.
//!
//! Re-ingesting is idempotent: output files are named after a fingerprint of the source content
//! (`stem`), and `_ingest/<stem>.json` records a finished ingest, which later runs skip unless
//! forced.

mod csv;
mod fields;
mod jsonl;
mod mapping;
mod nezha;
mod otlp;
mod out;
mod parquet;
pub mod petshop;
mod source;
mod time;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

use datafusion::common::{DataFusionError, Result, plan_err};
use object_store::buffered::BufWriter;
use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

pub use mapping::{FieldMap, json_to_cell};
pub use out::{Reject, RowOut};
pub use source::SourceFile;
pub use time::{ts_from_float, ts_from_int, ts_from_str};

use crate::lake::Lake;
use crate::layout::{INGEST_LOG_DIR, LABELS_DIR, REJECTS_DIR};
use crate::schema::SignalKind;
use crate::writer::{SignalWriter, WriterOptions};
use out::Msg;

/// Source formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    OtlpJson,
    Jsonl,
    Csv,
    Parquet,
    Nezha,
    Petshop,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s {
            "otlp-json" | "otlp" => Self::OtlpJson,
            "jsonl" | "json" | "ndjson" => Self::Jsonl,
            "csv" => Self::Csv,
            "parquet" => Self::Parquet,
            "nezha" => Self::Nezha,
            "petshop" => Self::Petshop,
            other => {
                return Err(format!(
                    "unknown format {other:?}; use otlp-json, jsonl, csv, parquet, nezha or petshop"
                ));
            }
        })
    }
}

/// What to ingest and how.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Required for jsonl, csv and parquet; optional for otlp-json (each line says its signal).
    pub table: Option<SignalKind>,
    pub format: Format,
    /// `(canonical column, source field)` pairs.
    pub map: Vec<(String, String)>,
    /// Ingest even when `_ingest/` says this content was ingested before.
    pub force: bool,
    pub writer: WriterOptions,
}

impl IngestOptions {
    pub fn new(format: Format, table: Option<SignalKind>) -> Self {
        Self {
            table,
            format,
            map: Vec::new(),
            force: false,
            writer: WriterOptions::default(),
        }
    }
}

/// The result of ingesting one source.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SourceReport {
    pub source: String,
    pub stem: String,
    /// True when an earlier ingest of the same content was found and nothing was written.
    pub skipped: bool,
    pub rows: BTreeMap<String, u64>,
    pub rejected: u64,
    /// Reject counts by reason (the first 20 distinct reasons).
    pub reject_reasons: BTreeMap<String, u64>,
    pub files: Vec<String>,
    pub rejects_file: Option<String>,
    pub labels: Vec<String>,
}

impl SourceReport {
    pub fn total_rows(&self) -> u64 {
        self.rows.values().sum()
    }
}

/// Called with the number of source bytes consumed since the last call.
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;

/// Resolves the sources of an ingest: folders for `nezha`, files otherwise.
pub async fn resolve(format: Format, location: &str) -> Result<Vec<SourceFile>> {
    match format {
        Format::Nezha | Format::Petshop => SourceFile::list_folder(location).await,
        _ => Ok(vec![SourceFile::open(location).await?]),
    }
}

fn validate(options: &IngestOptions) -> Result<()> {
    match (options.format, options.table) {
        (Format::Jsonl | Format::Csv | Format::Parquet, None) => {
            plan_err!(
                "--format {:?} needs --table logs|spans|metrics|events",
                options.format
            )
        }
        (Format::Nezha | Format::Petshop, Some(t)) => plan_err!(
            "--format {:?} fills its tables itself; drop --table {t}",
            options.format
        ),
        (Format::OtlpJson | Format::Nezha | Format::Petshop, _) if !options.map.is_empty() => {
            plan_err!(
                "--map applies to jsonl, csv and parquet; {:?} has a fixed mapping",
                options.format
            )
        }
        // Unknown canonical columns in --map fail here, before any source is read.
        (_, Some(t)) => FieldMap::new(t, &options.map).map(|_| ()),
        _ => Ok(()),
    }
}

async fn fingerprint(options: &IngestOptions, files: &[SourceFile]) -> Result<String> {
    let mut h = Sha256::new();
    h.update(format!(
        "{:?}|{:?}|{:?}|",
        options.format, options.table, options.map
    ));
    for f in files {
        if matches!(options.format, Format::Nezha | Format::Petshop) {
            // Folder layouts: the relative path is part of the content.
            h.update(f.path.filename().unwrap_or_default());
        }
        f.fingerprint(&mut h).await?;
    }
    Ok(h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Ingests one source (a file, or a folder for `nezha`) into the lake.
pub async fn ingest(
    lake: &Lake,
    options: &IngestOptions,
    location: &str,
    progress: Progress,
) -> Result<SourceReport> {
    validate(options)?;
    let files = resolve(options.format, location).await?;
    let stem = fingerprint(options, &files).await?;
    let log_path = lake.path(&format!("{INGEST_LOG_DIR}/{stem}.json"));
    if !options.force
        && let Ok(found) = lake.store().get(&log_path).await
    {
        let bytes = found
            .bytes()
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        if let Ok(mut previous) = serde_json::from_slice::<SourceReport>(&bytes) {
            previous.skipped = true;
            previous.source = location.to_string();
            return Ok(previous);
        }
    }

    let (tx, mut rx) = mpsc::channel::<Msg>(16);
    let runtime = tokio::runtime::Handle::current();
    let parse_options = options.clone();
    let source_name = location.to_string();
    let parser = tokio::task::spawn_blocking(move || {
        let mut out = RowOut::new(
            tx,
            &source_name,
            parse_options
                .table
                .filter(|_| !matches!(parse_options.format, Format::Nezha | Format::Petshop)),
        );
        parse(&parse_options, &source_name, &files, &runtime, &mut out)?;
        out.finish()
    });

    let mut report = SourceReport {
        source: location.to_string(),
        stem: stem.clone(),
        ..Default::default()
    };
    let mut writers: BTreeMap<SignalKind, SignalWriter> = BTreeMap::new();
    let rejects_rel = format!("{REJECTS_DIR}/{stem}.jsonl");
    let mut rejects: Option<BufWriter> = None;
    let mut first_error = None;
    while let Some(msg) = rx.recv().await {
        let step: Result<()> = async {
            match msg {
                Msg::Batch(kind, batch) => {
                    writers
                        .entry(kind)
                        .or_insert_with(|| {
                            SignalWriter::new(lake, kind, stem.clone(), options.writer.clone())
                        })
                        .write(batch)
                        .await
                }
                Msg::Reject(r) => {
                    report.rejected += 1;
                    let n = report.reject_reasons.len();
                    match report.reject_reasons.get_mut(&r.reason) {
                        Some(c) => *c += 1,
                        None if n < 20 => {
                            report.reject_reasons.insert(r.reason.clone(), 1);
                        }
                        None => {}
                    }
                    let w = rejects.get_or_insert_with(|| {
                        BufWriter::new(Arc::clone(lake.store()), lake.path(&rejects_rel))
                    });
                    let mut line = serde_json::to_vec(&r)
                        .map_err(|e| DataFusionError::External(Box::new(e)))?;
                    line.push(b'\n');
                    w.write_all(&line)
                        .await
                        .map_err(|e| DataFusionError::External(Box::new(e)))
                }
                Msg::Labels(name, content) => {
                    let rel = format!("{LABELS_DIR}/{name}");
                    lake.store()
                        .put(&lake.path(&rel), PutPayload::from(content))
                        .await?;
                    report.labels.push(rel);
                    Ok(())
                }
                Msg::Progress(n) => {
                    progress(n);
                    Ok(())
                }
            }
        }
        .await;
        if let Err(e) = step {
            // Stop the parser by dropping the receiver; report the first error.
            first_error = Some(e);
            break;
        }
    }
    drop(rx);
    let parsed = parser
        .await
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    if let Some(e) = first_error {
        return Err(e);
    }
    if let Some(mut w) = rejects {
        w.shutdown()
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        report.rejects_file = Some(rejects_rel);
    }
    let (accepted, rejected) = parsed?;
    for (kind, w) in writers {
        let stats = w.finish().await?;
        report.rows.insert(kind.to_string(), stats.rows);
        report.files.extend(stats.files);
    }
    if accepted == 0 && rejected > 0 {
        let first = report
            .reject_reasons
            .keys()
            .next()
            .cloned()
            .unwrap_or_default();
        return Err(DataFusionError::Execution(format!(
            "no readable rows in '{location}': all {rejected} records rejected (e.g. {first}); see {}",
            report.rejects_file.as_deref().unwrap_or(REJECTS_DIR)
        )));
    }
    let log =
        serde_json::to_vec_pretty(&report).map_err(|e| DataFusionError::External(Box::new(e)))?;
    lake.store().put(&log_path, PutPayload::from(log)).await?;
    Ok(report)
}

fn parse(
    options: &IngestOptions,
    location: &str,
    files: &[SourceFile],
    runtime: &tokio::runtime::Handle,
    out: &mut RowOut,
) -> Result<()> {
    match options.format {
        Format::Nezha => return nezha::read(files, runtime, out),
        Format::Petshop => return petshop::read(location, files, runtime, out),
        Format::OtlpJson => {
            for f in files {
                out.set_source(&f.name);
                otlp::read(f.reader(runtime)?, options.table, out)?;
            }
            return Ok(());
        }
        _ => {}
    }
    let table = options.table.expect("validated");
    let map = FieldMap::new(table, &options.map)?;
    for f in files {
        out.set_source(&f.name);
        let reader = f.reader(runtime)?;
        match options.format {
            Format::Jsonl => jsonl::read(reader, &map, out)?,
            Format::Csv => csv::read(reader, &map, out)?,
            Format::Parquet => parquet::read(reader, &map, out)?,
            Format::OtlpJson | Format::Nezha | Format::Petshop => unreachable!("handled above"),
        }
    }
    Ok(())
}
