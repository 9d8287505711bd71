//! `sigfuse eval petshop --data DIR`: root-cause recall on the PetShop dataset's issues (an AWS
//! deployment, metrics only: latency, requests, availability per node every 5 minutes), as the
//! PetShop study reports it: top-1 and top-3 recall per scenario and target metric.
//!
//! What runs, in order, through the normal paths:
//! 1. ingest `DIR` (a dataset folder of scenarios, or one scenario folder) with the `petshop`
//!    adapter into a lake (a temporary folder unless `--lake`);
//! 2. per scenario, its call graph (`graph.csv`, caller row → callee column) becomes a view of
//!    `(caller, callee)` rows, and the scenario's model is trained on its normal period:
//!    `CREATE MODEL petshop_<scenario> KIND baseline OPTIONS (window = '5 minutes', call_graph =
//!    'petshop_graph') AS SELECT * FROM signal_windows(INTERVAL '5 minutes', INTERVAL '5 minutes', <noissue start>,
//!    <noissue end>)`. The normal period is found with SQL over the metrics' `period`
//!    attribute. A scenario without one (the temporal-traffic scenarios, whose traffic
//!    alternates between the low and high regimes) trains on every normal period of the
//!    dataset;
//! 3. per issue: `SELECT service FROM root_cause('petshop_<scenario>', <first sample>, <last
//!    sample> + INTERVAL '5 minutes', <target node>, '<metric>.<statistic>') ORDER BY rank` —
//!    the issue's own metric file is the incident window, and the alert (the target node and
//!    the metric and statistic it fired on) is the task's input, as in the PetShop benchmark;
//! 4. score the ranks against the labels. Only this step and step 3's inputs (bounds and
//!    alert) read `_labels/petshop-issues.json`; the detectors never see a root cause.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use sigfuse_engine::{Engine, EngineConfig};
use sigfuse_storage::Lake;
use sigfuse_storage::ingest::Format;
use sigfuse_storage::ingest::petshop::LABELS;

/// The ks of top-k recall (the PetShop study reports top-1 and top-3).
const TOP: [usize; 2] = [1, 3];
/// PetShop's sampling step, the model's window.
const WINDOW: &str = "INTERVAL '5 minutes'";

#[derive(clap::Args)]
pub struct PetshopArgs {
    /// The PetShop dataset folder (holding `low_traffic/`, `high_traffic/`, …) or one scenario
    /// folder (holding `graph.csv`, `noissue/`, `train/`).
    #[arg(long)]
    data: String,
    /// Lake to ingest into and train in (default: a temporary folder, removed afterwards).
    #[arg(long)]
    lake: Option<String>,
    /// Write one row per issue: case id, scenario, target metric, target time, true root cause
    /// and the services as ranked.
    #[arg(long)]
    ranks: Option<PathBuf>,
}

/// One labeled issue, as the scorer reads it.
struct Issue {
    scenario: String,
    period: String,
    first: String,
    last: String,
    target_node: String,
    target_metric: String,
    /// The target's statistic (`Average`, `p50`, …).
    target_agg: String,
    target_time: i64,
    root_cause: String,
}

impl Issue {
    /// The alert's metric and statistic as the ingested metric is named
    /// (`latency.average`): `root_cause`'s symptom.
    fn symptom(&self) -> String {
        format!("{}.{}", self.target_metric, self.target_agg).to_ascii_lowercase()
    }
}

async fn read_issues(lake: &Lake) -> Result<Vec<Issue>> {
    let issues = super::read_labels(lake, LABELS, "issues").await?;
    let text = |v: &serde_json::Value, what: &str| -> Result<String> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("_labels/{LABELS}: an issue without {what}"))
    };
    issues
        .iter()
        .map(|i| {
            Ok(Issue {
                scenario: text(&i["scenario"], "scenario")?,
                period: text(&i["period"], "period")?,
                first: text(&i["first"], "metrics")?,
                last: text(&i["last"], "metrics")?,
                target_node: text(&i["target"]["node"], "target.node")?,
                target_metric: text(&i["target"]["metric"], "target.metric")?,
                target_agg: text(&i["target"]["agg"], "target.agg")?,
                target_time: i["target"]["timestamp"].as_i64().unwrap_or_default(),
                root_cause: text(&i["root_cause"]["node"], "root_cause.node")?,
            })
        })
        .collect()
}

/// `(scenario, period)` → first and last sample time (ns), from the metrics' attributes.
async fn periods(engine: &Engine) -> Result<BTreeMap<(String, String), (i64, i64)>> {
    let sql = "SELECT json_get_str(attributes, 'scenario') AS s, \
               json_get_str(attributes, 'period') AS p, \
               CAST(min(ts) AS BIGINT), CAST(max(ts) AS BIGINT) FROM metrics \
               GROUP BY 1, 2";
    let mut out = BTreeMap::new();
    for b in engine.sql(sql).await?.collect().await? {
        let (s, p) = (
            cast(b.column(0), &DataType::Utf8)?,
            cast(b.column(1), &DataType::Utf8)?,
        );
        let (s, p) = (s.as_string::<i32>(), p.as_string::<i32>());
        let (lo, hi) = (
            b.column(2).as_primitive::<Int64Type>(),
            b.column(3).as_primitive::<Int64Type>(),
        );
        for i in 0..b.num_rows() {
            if s.is_valid(i) && p.is_valid(i) && lo.is_valid(i) {
                out.insert(
                    (s.value(i).to_string(), p.value(i).to_string()),
                    (lo.value(i), hi.value(i)),
                );
            }
        }
    }
    Ok(out)
}

/// A scenario's call graph: `graph.csv` under `data/<scenario>/` (or `data/` when `data` is
/// the scenario folder); `(caller, callee)` for each non-zero cell.
fn call_graph(data: &Path, scenario: &str) -> Result<Vec<(String, String)>> {
    let path = [
        data.join(scenario).join("graph.csv"),
        data.join("graph.csv"),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .ok_or_else(|| anyhow!("{}: no graph.csv for scenario {scenario}", data.display()))?;
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(&path)
        .with_context(|| format!("reading {}", path.display()))?;
    let callees: Vec<String> = csv.headers()?.iter().map(str::to_string).collect();
    let mut edges = Vec::new();
    for rec in csv.records() {
        let rec = rec?;
        let Some(caller) = rec.get(0) else { continue };
        for (j, cell) in rec.iter().enumerate().skip(1) {
            if cell.trim().parse::<f64>().is_ok_and(|v| v != 0.0)
                && let Some(callee) = callees.get(j)
            {
                edges.push((caller.to_string(), callee.clone()));
            }
        }
    }
    Ok(edges)
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn ts_sql(ns: i64) -> String {
    format!("arrow_cast({ns}, 'Timestamp(Nanosecond, Some(\"UTC\"))')")
}

fn model_name(scenario: &str) -> String {
    let clean: String = scenario
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("petshop_{}", clean.to_ascii_lowercase())
}

pub async fn run(config: &EngineConfig, args: PetshopArgs) -> Result<ExitCode> {
    let lake = super::EvalLake::new(args.lake.as_deref(), "petshop");
    evaluate(config, &args, &lake.location).await
}

async fn evaluate(config: &EngineConfig, args: &PetshopArgs, location: &str) -> Result<ExitCode> {
    let lake = super::ingest_dataset(config, location, Format::Petshop, &args.data).await?;
    let engine = Engine::over(lake.clone(), config)?;
    engine.load_models().await?;
    let periods = periods(&engine).await?;
    let normal: BTreeMap<&str, (i64, i64)> = periods
        .iter()
        .filter(|((_, p), _)| p == "noissue")
        .map(|((s, _), r)| (s.as_str(), *r))
        .collect();
    if normal.is_empty() {
        bail!(
            "{}: no normal period (noissue/metrics.csv) to train on",
            args.data
        );
    }
    let scenarios: std::collections::BTreeSet<&str> =
        periods.keys().map(|(s, _)| s.as_str()).collect();
    let started = std::time::Instant::now();
    for scenario in &scenarios {
        let edges = call_graph(Path::new(&args.data), scenario)?;
        let rows: Vec<String> = edges
            .iter()
            .map(|(a, b)| format!("({}, {})", quote(a), quote(b)))
            .collect();
        engine
            .sql(&format!(
                "CREATE OR REPLACE VIEW petshop_graph AS VALUES {}",
                rows.join(", ")
            ))
            .await?
            .collect()
            .await?;
        let ranges: Vec<(i64, i64)> = match normal.get(scenario) {
            Some(r) => vec![*r],
            None => normal.values().copied().collect(),
        };
        let training = ranges
            .iter()
            .map(|(lo, hi)| {
                format!(
                    "SELECT * FROM signal_windows({WINDOW}, {WINDOW}, {}, {} + {WINDOW})",
                    ts_sql(*lo),
                    ts_sql(*hi)
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let name = model_name(scenario);
        let model = super::create_model(
            &engine,
            &format!(
                "CREATE MODEL {name} KIND baseline OPTIONS (window = '5 minutes', \
                 call_graph = 'petshop_graph') AS {training}"
            ),
        )
        .await?;
        eprintln!(
            "trained {name} version {} on {} ({})",
            model.version,
            if normal.contains_key(scenario) {
                "its normal period".to_string()
            } else {
                format!("the {} normal periods of the other scenarios", ranges.len())
            },
            model.summary()
        );
    }
    eprintln!("trained in {:.1} s", started.elapsed().as_secs_f64());
    // Detection is done but for the incident bounds; from here on the labels are read.
    let issues = read_issues(&lake).await?;
    if issues.is_empty() {
        bail!("{}: no labeled issues found", args.data);
    }
    let mut ranks_out = super::ranks_writer(
        args.ranks.as_deref(),
        &[
            "case",
            "scenario",
            "target_metric",
            "target_time",
            "root_cause",
            "ranked",
        ],
    )?;
    // (scenario, target metric) → (issues, hits at each k)
    let mut tally: BTreeMap<(String, String), super::TopK<2>> = BTreeMap::new();
    let started = std::time::Instant::now();
    for issue in &issues {
        let ts = |t: &str| format!("TIMESTAMP {}", quote(t.trim_end_matches('Z')));
        let ranked = super::ranked_services(
            &engine,
            &model_name(&issue.scenario),
            &ts(&issue.first),
            &format!("{} + {WINDOW}", ts(&issue.last)),
            &[&issue.target_node, &issue.symptom()],
        )
        .await?;
        let rank = super::rank_of(&ranked, &issue.root_cause);
        for key in [issue.target_metric.clone(), "all".to_string()] {
            tally
                .entry((issue.scenario.clone(), key))
                .or_default()
                .add(&TOP, rank);
        }
        let case = format!("{}/{}", issue.scenario, issue.period);
        eprintln!(
            "{case:<32} {:<12} true {:<28} {}",
            issue.target_metric,
            issue.root_cause,
            super::rank_line(rank, &ranked)
        );
        if let Some(w) = &mut ranks_out {
            w.write_record([
                case,
                issue.scenario.clone(),
                issue.target_metric.clone(),
                issue.target_time.to_string(),
                issue.root_cause.clone(),
                ranked.join(";"),
            ])?;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(mut w) = ranks_out {
        w.flush()?;
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "scenario             target        issues  top1    top3"
    )?;
    let mut total = super::TopK::<2>::default();
    for ((scenario, metric), hits) in &tally {
        writeln!(
            stdout,
            "{scenario:<20} {metric:<13} {:>6}  {}",
            hits.cases,
            hits.pct()
        )?;
        if metric == "all" {
            total.merge(hits);
        }
    }
    writeln!(
        stdout,
        "{:<20} {:<13} {:>6}  {}",
        "all",
        "all",
        total.cases,
        total.pct()
    )?;
    eprintln!(
        "root_cause: {} issues in {elapsed:.1} s ({:.0} ms each)",
        total.cases,
        elapsed * 1e3 / total.cases as f64
    );
    Ok(ExitCode::SUCCESS)
}
