//! `sigfuse ingest`: load sources into the lake and summarise what was kept and rejected.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, anyhow};
use sigfuse_engine::EngineConfig;
use sigfuse_storage::ingest::{Format, IngestOptions, SourceReport, ingest, resolve};
use sigfuse_storage::{Lake, SignalKind};

use crate::progress;

#[derive(clap::Args)]
pub struct IngestArgs {
    /// Table to fill (needed for jsonl, csv and parquet).
    #[arg(long, value_parser = parse_table)]
    table: Option<SignalKind>,
    /// otlp-json, jsonl, csv, parquet, nezha (a Nezha dataset folder) or petshop (a PetShop dataset or scenario folder).
    #[arg(long, value_parser = |s: &str| s.parse::<Format>())]
    format: Format,
    /// Take a canonical column from a differently named source field: `--map body=message`.
    #[arg(long = "map", value_parser = parse_map)]
    map: Vec<(String, String)>,
    /// Ingest again even if this content was ingested before (files are replaced, not duplicated).
    #[arg(long)]
    force: bool,
    /// Arrow data buffered before files are written: bounds memory; larger gives fewer files.
    #[arg(long, default_value_t = 128)]
    buffer_mb: usize,
    /// Files (or, for nezha and petshop, folders), as paths or URLs.
    #[arg(required = true)]
    sources: Vec<String>,
}

fn parse_table(s: &str) -> Result<SignalKind, String> {
    SignalKind::parse(s)
        .ok_or_else(|| format!("unknown table {s:?}; use logs, spans, metrics or events"))
}

fn parse_map(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .ok_or_else(|| format!("--map expects canonical=source, got {s:?}"))
}

fn summarise(r: &SourceReport) {
    if r.skipped {
        eprintln!(
            "{}: already ingested (content {}), nothing written; --force to ingest again",
            r.source, r.stem
        );
        return;
    }
    let rows: Vec<String> = r.rows.iter().map(|(t, n)| format!("{t} {n}")).collect();
    eprintln!(
        "{}: {} rows ({}) in {} files, {} rejected",
        r.source,
        r.total_rows(),
        if rows.is_empty() {
            "none".to_string()
        } else {
            rows.join(", ")
        },
        r.files.len(),
        r.rejected
    );
    for (reason, n) in &r.reject_reasons {
        eprintln!("  rejected {n}: {reason}");
    }
    if let Some(f) = &r.rejects_file {
        eprintln!("  rejected records with source, line and reason: {f}");
    }
    for l in &r.labels {
        eprintln!("  labels (kept out of the signal tables): {l}");
    }
}

pub async fn run(config: &EngineConfig, args: IngestArgs) -> Result<ExitCode> {
    let lake = Lake::open_with_options(&config.lake, &config.storage_options)?;
    let mut options = IngestOptions::new(args.format, args.table);
    options.map = args.map;
    options.force = args.force;
    options.writer.flush_bytes = args.buffer_mb.max(1) << 20;
    let mut failed = Vec::new();
    for source in &args.sources {
        // The sizes are known up front, so a bar with an ETA (sources that cannot be listed fail
        // just below, inside ingest, with their name).
        let total = resolve(args.format, source)
            .await
            .map(|files| files.iter().map(|f| f.size).sum::<u64>())
            .ok();
        let pb = progress::bar(total, &format!("ingesting {source}"));
        let counter = pb.clone();
        match ingest(&lake, &options, source, Arc::new(move |n| counter.inc(n))).await {
            Ok(report) => {
                pb.finish_and_clear();
                summarise(&report);
            }
            Err(e) => {
                pb.finish_and_clear();
                eprintln!("{source}: failed: {e}");
                failed.push(source.clone());
            }
        }
    }
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(anyhow!(
            "{} of {} sources failed: {}",
            failed.len(),
            args.sources.len(),
            failed.join(", ")
        ))
    }
}
