//! `sigfuse eval nab --data DIR`: the Numenta Anomaly Benchmark's score (standard profile) for
//! the baseline detector on NAB series (`<group>/<name>.csv` of `timestamp,value`, labels in
//! `combined_windows.json`).
//!
//! What runs, in order, through the normal paths:
//! 1. every series becomes metric rows (`service` = the file's `group/name`, `name` =
//!    `value`), written as JSON lines and loaded with the `jsonl` adapter into a lake (a
//!    temporary folder unless `--lake`);
//! 2. train: `CREATE MODEL … KIND baseline AS SELECT * FROM signal_windows(<step>) WHERE …` over
//!    each series' probationary period (its first 15 %, at most 750 points, as NAB defines it:
//!    the part a detector may learn from and is not scored on);
//! 3. `SELECT window_start, service, score FROM detect_anomalies(…)` over everything;
//! 4. score as NAB does. Only this step reads `combined_windows.json`. A point is a detection
//!    when its score reaches the threshold; in a labeled window the first detection earns
//!    `A_TP · σ(p)` with `p` its position (−1 at the window's start, 0 at its end) and
//!    `σ(p) = 2 / (1 + e^{5p}) − 1`; a window without one costs `A_FN`; a detection outside
//!    every window costs `A_FP · σ(p)` with `p` its distance past the last window in window
//!    lengths (or `A_FP` before any window). Standard profile: `A_TP = 1`, `A_FP = 0.11`,
//!    `A_FN = 1`. The corpus score is normalized, `100 · (S − S_null) / (S_perfect − S_null)`,
//!    with the null detector (no detections) at 0 and the perfect one (each window detected at
//!    its start) at 100. As NAB does, the threshold is the one that maximizes the corpus score,
//!    found by sweeping; it is printed.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use chrono::NaiveDateTime;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, TimeUnit, TimestampNanosecondType};
use sigfuse_engine::{Command, Engine, EngineConfig, split_commands};
use sigfuse_storage::ingest::{Format, IngestOptions, ingest};
use sigfuse_storage::{Lake, SignalKind};

const MODEL: &str = "nab_eval";
const A_TP: f64 = 1.0;
const A_FP: f64 = 0.11;
const A_FN: f64 = 1.0;
const PROBATION: f64 = 0.15;
const PROBATION_MAX: usize = 750;

#[derive(clap::Args)]
pub struct NabArgs {
    /// The NAB data folder: `<group>/<name>.csv` files and `combined_windows.json`.
    #[arg(long)]
    data: PathBuf,
    /// Lake to load into and train in (default: a temporary folder, removed afterwards).
    #[arg(long)]
    lake: Option<String>,
}

/// One series: its points' times (ns) in order, and where its probation ends.
struct Series {
    times: Vec<i64>,
    probation_end: i64,
}

fn parse_time(s: &str) -> Result<i64> {
    let t = NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S%.f")
        .with_context(|| format!("bad NAB timestamp {s:?}"))?;
    t.and_utc()
        .timestamp_nanos_opt()
        .ok_or_else(|| anyhow!("timestamp out of range: {s}"))
}

fn csv_files(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if p.is_dir() {
            csv_files(&p, &format!("{prefix}{name}/"), out)?;
        } else if name.ends_with(".csv") {
            out.push((format!("{prefix}{name}"), p));
        }
    }
    Ok(())
}

/// Writes the series as metric rows (JSON lines) and returns them.
fn to_jsonl(data: &Path, out: &Path) -> Result<BTreeMap<String, Series>> {
    let mut files = Vec::new();
    csv_files(data, "", &mut files)?;
    let mut w = std::io::BufWriter::new(std::fs::File::create(out)?);
    let mut series = BTreeMap::new();
    for (key, path) in files {
        let mut reader = csv::Reader::from_path(&path)?;
        let headers = reader.headers()?.clone();
        let (Some(ti), Some(vi)) = (
            headers.iter().position(|h| h == "timestamp"),
            headers.iter().position(|h| h == "value"),
        ) else {
            continue;
        };
        let mut times = Vec::new();
        for rec in reader.records() {
            let rec = rec?;
            let ts = &rec[ti];
            let value: f64 = rec[vi]
                .trim()
                .parse()
                .with_context(|| format!("{key}: value"))?;
            times.push(parse_time(ts)?);
            let line = serde_json::json!({
                "ts": ts.trim(), "service": key, "name": "value", "value": value,
            });
            writeln!(w, "{line}")?;
        }
        if times.is_empty() {
            continue;
        }
        let n = ((PROBATION * times.len() as f64) as usize).clamp(1, PROBATION_MAX);
        let probation_end = times[n.min(times.len() - 1)];
        series.insert(
            key,
            Series {
                times,
                probation_end,
            },
        );
    }
    w.flush()?;
    if series.is_empty() {
        bail!(
            "{}: no NAB series (<group>/<name>.csv with timestamp,value)",
            data.display()
        );
    }
    Ok(series)
}

fn sigma(p: f64) -> f64 {
    2.0 / (1.0 + (5.0 * p).exp()) - 1.0
}

/// NAB's raw score of one series; windows as `[start, end]` ns; detections after probation, in
/// any order (query results come in the order partitions finish).
fn score_series(windows: &[(i64, i64)], detections: &[i64]) -> (f64, usize, usize, usize) {
    // A window is credited to its earliest detection, so time order matters: scoring rows in
    // arrival order made the score vary between runs (13.3-14.2 on NAB's artificial series).
    let mut detections = detections.to_vec();
    detections.sort_unstable();
    let mut score = 0.0;
    let (mut tp, mut fp) = (0, 0);
    let mut detected = vec![false; windows.len()];
    for &t in &detections {
        if let Some(i) = windows.iter().position(|(s, e)| *s <= t && t <= *e) {
            if !detected[i] {
                detected[i] = true;
                tp += 1;
                let (s, e) = windows[i];
                let p = -((e - t) as f64) / ((e - s).max(1) as f64);
                score += A_TP * sigma(p);
            }
            continue;
        }
        fp += 1;
        match windows
            .iter()
            .filter(|(_, e)| *e < t)
            .max_by_key(|(_, e)| *e)
        {
            Some((s, e)) => {
                let p = (t - e) as f64 / ((e - s).max(1) as f64);
                score += A_FP * sigma(p);
            }
            None => score -= A_FP,
        }
    }
    let missed = detected.iter().filter(|d| !**d).count();
    score -= A_FN * missed as f64;
    (score, tp, fp, missed)
}

fn read_windows(data: &Path) -> Result<BTreeMap<String, Vec<(i64, i64)>>> {
    let path = data.join("combined_windows.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let v: BTreeMap<String, Vec<Vec<String>>> = serde_json::from_str(&text)?;
    v.into_iter()
        .map(|(k, ws)| {
            let ws = ws
                .iter()
                .map(|w| Ok((parse_time(&w[0])?, parse_time(&w[1])?)))
                .collect::<Result<Vec<_>>>()?;
            Ok((k, ws))
        })
        .collect()
}

pub async fn run(config: &EngineConfig, args: NabArgs) -> Result<ExitCode> {
    let dir = std::env::temp_dir().join(format!("sigfuse-eval-nab-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = evaluate(config, &args, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn evaluate(config: &EngineConfig, args: &NabArgs, scratch: &Path) -> Result<ExitCode> {
    let jsonl = scratch.join("nab-metrics.jsonl");
    let series = to_jsonl(&args.data, &jsonl)?;
    let location = match &args.lake {
        Some(l) => l.clone(),
        None => scratch.join("lake").display().to_string(),
    };
    let lake = Lake::open_with_options(&location, &config.storage_options)?;
    let report = ingest(
        &lake,
        &IngestOptions::new(Format::Jsonl, Some(SignalKind::Metrics)),
        &jsonl.display().to_string(),
        Arc::new(|_| {}),
    )
    .await?;
    eprintln!(
        "loaded {} series: {} rows",
        series.len(),
        report.total_rows()
    );
    // The series' step: the most common gap between points.
    let mut gaps: BTreeMap<i64, usize> = BTreeMap::new();
    for s in series.values() {
        for w in s.times.windows(2) {
            *gaps.entry(w[1] - w[0]).or_default() += 1;
        }
    }
    let step = gaps
        .iter()
        .max_by_key(|(_, n)| **n)
        .map_or(300_000_000_000, |(g, _)| *g);
    let width = format!("INTERVAL '{} seconds'", step / 1_000_000_000);
    let ts = |ns: i64| format!("arrow_cast({ns}, 'Timestamp(Nanosecond, Some(\"UTC\"))')");
    let probation: Vec<String> = series
        .iter()
        .map(|(k, s)| {
            format!(
                "(service = '{}' AND window_start < {})",
                k.replace('\'', "''"),
                ts(s.probation_end)
            )
        })
        .collect();
    let engine = Engine::over(lake, config)?;
    let create = format!(
        "CREATE MODEL {MODEL} KIND baseline AS SELECT * FROM signal_windows({width}) WHERE {}",
        probation.join(" OR ")
    );
    let Some(Command::CreateModel(cm)) = split_commands(&create)?.pop() else {
        bail!("internal: CREATE MODEL did not parse");
    };
    let model = engine.create_model(&cm, "sigfuse eval").await?;
    eprintln!(
        "trained {MODEL} version {} ({})",
        model.version,
        model.summary()
    );
    let first = series.values().map(|s| s.times[0]).min().unwrap_or(0);
    let last = series
        .values()
        .filter_map(|s| s.times.last())
        .max()
        .copied()
        .unwrap_or(0);
    let sql = format!(
        "SELECT window_start, service, score FROM detect_anomalies('{MODEL}', {}, {})",
        ts(first),
        ts(last + step)
    );
    let mut scores: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for b in engine.sql(&sql).await?.collect().await? {
        let t = cast(
            b.column(0),
            &DataType::Timestamp(TimeUnit::Nanosecond, None),
        )?;
        let t = t.as_primitive::<TimestampNanosecondType>();
        let s = cast(b.column(1), &DataType::Utf8)?;
        let s = s.as_string::<i32>();
        let v = b.column(2).as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            if t.is_valid(i) && s.is_valid(i) && v.is_valid(i) {
                scores
                    .entry(s.value(i).to_string())
                    .or_default()
                    .push((t.value(i), v.value(i)));
            }
        }
    }
    // Detection is done; from here on the labels are read, by the scorer only.
    let labels = read_windows(&args.data)?;
    let score_at = |threshold: f64| {
        let mut total = (0.0, 0, 0, 0);
        let mut per_file = Vec::new();
        for (key, s) in &series {
            let windows = labels.get(key).cloned().unwrap_or_default();
            let detections: Vec<i64> = scores
                .get(key)
                .into_iter()
                .flatten()
                .filter(|(t, v)| *t >= s.probation_end && *v >= threshold)
                .map(|(t, _)| *t)
                .collect();
            let r = score_series(&windows, &detections);
            total = (total.0 + r.0, total.1 + r.1, total.2 + r.2, total.3 + r.3);
            per_file.push((key.clone(), r));
        }
        (total, per_file)
    };
    let windows: usize = series
        .keys()
        .map(|k| labels.get(k).map_or(0, Vec::len))
        .sum();
    let null = -A_FN * windows as f64;
    let perfect = A_TP * sigma(-1.0) * windows as f64;
    let normalized = |raw: f64| 100.0 * (raw - null) / (perfect - null).max(f64::EPSILON);
    let mut thresholds: Vec<f64> = (50..100).map(|i| f64::from(i) / 100.0).collect();
    thresholds.extend([0.995, 0.999, 1.0]);
    let best = thresholds
        .iter()
        .map(|&t| (t, score_at(t)))
        .max_by(|a, b| a.1.0.0.total_cmp(&b.1.0.0))
        .ok_or_else(|| anyhow!("no thresholds"))?;
    let (threshold, ((raw, tp, fp, missed), per_file)) = best;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "file                                              windows  tp  fp  fn  raw"
    )?;
    for (key, (r, t, f, m)) in &per_file {
        let n = labels.get(key).map_or(0, Vec::len);
        writeln!(out, "{key:<50} {n:>7} {t:>3} {f:>3} {m:>3}  {r:.3}")?;
    }
    writeln!(
        out,
        "NAB score (standard profile) {:.1}  threshold {threshold}  windows {windows}  tp {tp}  fp {fp}  fn {missed}",
        normalized(raw)
    )?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nab_scoring_rewards_early_detection_and_penalizes_misses_and_false_alarms() {
        let w = [(100, 200)];
        // Detected at the window's start: the perfect score; at its end: nothing.
        assert!((score_series(&w, &[100]).0 - sigma(-1.0)).abs() < 1e-12);
        assert!(score_series(&w, &[200]).0.abs() < 1e-12);
        // Only the first detection in a window counts.
        assert_eq!(score_series(&w, &[150, 160]).1, 1);
        // ... the earliest one, whatever order the rows came in.
        assert_eq!(score_series(&w, &[160, 150]), score_series(&w, &[150, 160]));
        assert!(score_series(&w, &[190, 110]).0 > score_series(&w, &[190]).0);
        // A miss costs A_FN; a false alarm before any window A_FP; just after one, less.
        assert_eq!(score_series(&w, &[]).0, -A_FN);
        assert!((score_series(&[], &[5]).0 + A_FP).abs() < 1e-12);
        let after = score_series(&w, &[100, 210]).0 - sigma(-1.0);
        assert!(after < 0.0 && after > -A_FP, "{after}");
    }
}
