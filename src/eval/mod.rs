//! `sigfuse eval …`: quality figures of learned functions on labeled data.

pub mod logparse;
pub mod nab;
pub mod nezha;
pub mod petshop;

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use sigfuse_engine::{Command, Engine, EngineConfig, ModelReport, split_commands};

#[derive(clap::Args)]
pub struct EvalArgs {
    #[command(subcommand)]
    what: EvalCommand,
}

#[derive(clap::Subcommand)]
enum EvalCommand {
    /// Log-template mining: GA, FGA, PA, FTA on Loghub `_structured.csv` files or demo data.
    Logparse(logparse::LogparseArgs),
    /// Root-cause ranking on the Nezha dataset's labeled faults: top-1/3/5 accuracy.
    Nezha(nezha::NezhaArgs),
    /// The Numenta Anomaly Benchmark score (standard profile) on NAB series.
    Nab(nab::NabArgs),
    /// Root-cause ranking on the PetShop dataset's issues: top-1/3 recall per scenario.
    Petshop(petshop::PetshopArgs),
}

pub async fn run(config: &EngineConfig, args: EvalArgs) -> Result<ExitCode> {
    match args.what {
        EvalCommand::Logparse(a) => logparse::run(config, a).await,
        EvalCommand::Nezha(a) => nezha::run(config, a).await,
        EvalCommand::Nab(a) => nab::run(config, a).await,
        EvalCommand::Petshop(a) => petshop::run(config, a).await,
    }
}

/// The lake an evaluation ingests into: the one given, or a temporary folder removed when this
/// is dropped.
pub(crate) struct EvalLake {
    pub location: String,
    temporary: Option<std::path::PathBuf>,
}

impl EvalLake {
    pub fn new(given: Option<&str>, what: &str) -> Self {
        match given {
            Some(l) => Self {
                location: l.to_string(),
                temporary: None,
            },
            None => {
                let dir = std::env::temp_dir()
                    .join(format!("sigfuse-eval-{what}-{}", std::process::id()));
                Self {
                    location: dir.display().to_string(),
                    temporary: Some(dir),
                }
            }
        }
    }
}

impl Drop for EvalLake {
    fn drop(&mut self) {
        if let Some(dir) = &self.temporary {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Runs a `CREATE MODEL` statement through the engine as `sigfuse eval`.
pub(crate) async fn create_model(engine: &Engine, create: &str) -> Result<ModelReport> {
    let Some(Command::CreateModel(cm)) = split_commands(create)?.pop() else {
        bail!("internal: {create} did not parse as CREATE MODEL");
    };
    Ok(engine.create_model(&cm, "sigfuse eval").await?)
}

/// The services `root_cause(model, since, until [, target])` ranks, best first (`since`,
/// `until`: SQL timestamp expressions).
pub(crate) async fn ranked_services(
    engine: &Engine,
    model: &str,
    since: &str,
    until: &str,
    focus: &[&str],
) -> Result<Vec<String>> {
    let target: String = focus
        .iter()
        .map(|t| format!(", '{}'", t.replace('\'', "''")))
        .collect();
    let sql = format!(
        "SELECT service FROM root_cause('{model}', {since}, {until}{target}) ORDER BY rank"
    );
    let mut out = Vec::new();
    for b in engine.sql(&sql).await?.collect().await? {
        let s = cast(b.column(0), &DataType::Utf8)?;
        let s = s.as_string::<i32>();
        out.extend(
            (0..s.len())
                .filter(|&i| s.is_valid(i))
                .map(|i| s.value(i).to_string()),
        );
    }
    Ok(out)
}

/// Top-k hits of ranked root causes for the ks `K` (e.g. `[1, 3, 5]`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TopK<const N: usize> {
    pub cases: usize,
    hits: [usize; N],
}

impl<const N: usize> Default for TopK<N> {
    fn default() -> Self {
        Self {
            cases: 0,
            hits: [0; N],
        }
    }
}

impl<const N: usize> TopK<N> {
    /// Counts one case whose true root cause `truth` came at `rank_of(ranked, truth)`.
    pub fn add(&mut self, ks: &[usize; N], rank: Option<usize>) {
        self.cases += 1;
        for (k, hits) in ks.iter().zip(self.hits.iter_mut()) {
            *hits += usize::from(rank.is_some_and(|r| r <= *k));
        }
    }

    pub fn merge(&mut self, other: &Self) {
        self.cases += other.cases;
        for (a, b) in self.hits.iter_mut().zip(other.hits) {
            *a += b;
        }
    }

    /// The hit rates as percentages.
    pub fn pct(&self) -> String {
        self.hits
            .iter()
            .map(|h| format!("{:>5.1} %", 100.0 * *h as f64 / self.cases.max(1) as f64))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The 1-based rank of `truth` among `ranked`.
pub(crate) fn rank_of(ranked: &[String], truth: &str) -> Option<usize> {
    ranked.iter().position(|s| s == truth).map(|r| r + 1)
}

/// `rank  3  top3 a,b,c`: one case's line.
pub(crate) fn rank_line(rank: Option<usize>, ranked: &[String]) -> String {
    format!(
        "rank {:>2}  top3 {}",
        rank.map_or("-".to_string(), |r| r.to_string()),
        ranked.iter().take(3).cloned().collect::<Vec<_>>().join(",")
    )
}

pub(crate) fn csv_writer(p: &std::path::Path) -> Result<csv::Writer<std::fs::File>> {
    csv::Writer::from_path(p).with_context(|| format!("creating {}", p.display()))
}

/// Opens the lake at `location` and ingests the dataset folder `data` with `format`.
pub(crate) async fn ingest_dataset(
    config: &EngineConfig,
    location: &str,
    format: sigfuse_storage::ingest::Format,
    data: &str,
) -> Result<sigfuse_storage::Lake> {
    let lake = sigfuse_storage::Lake::open_with_options(location, &config.storage_options)?;
    let started = std::time::Instant::now();
    let report = sigfuse_storage::ingest::ingest(
        &lake,
        &sigfuse_storage::ingest::IngestOptions::new(format, None),
        data,
        std::sync::Arc::new(|_| {}),
    )
    .await
    .with_context(|| format!("ingesting {data}"))?;
    eprintln!(
        "ingested {data}: {} rows{} in {:.1} s",
        report.total_rows(),
        if report.skipped {
            " (already in the lake)"
        } else {
            ""
        },
        started.elapsed().as_secs_f64()
    );
    Ok(lake)
}

/// The list `key` of the labels file `_labels/<name>` an adapter wrote.
pub(crate) async fn read_labels(
    lake: &sigfuse_storage::Lake,
    name: &str,
    key: &str,
) -> Result<Vec<serde_json::Value>> {
    use datafusion::object_store::ObjectStoreExt;
    let bytes = lake
        .store()
        .get(&lake.path(&format!("_labels/{name}")))
        .await
        .with_context(|| format!("reading _labels/{name}, which the dataset's adapter writes"))?
        .bytes()
        .await?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)?;
    match v.get(key).and_then(|l| l.as_array()) {
        Some(list) => Ok(list.clone()),
        None => bail!("_labels/{name}: no {key} list"),
    }
}

/// The `--ranks` file, with its header written, when one was asked for.
pub(crate) fn ranks_writer(
    path: Option<&std::path::Path>,
    header: &[&str],
) -> Result<Option<csv::Writer<std::fs::File>>> {
    let Some(p) = path else { return Ok(None) };
    let mut w = csv_writer(p)?;
    w.write_record(header)?;
    Ok(Some(w))
}
