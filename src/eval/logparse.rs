//! `sigfuse eval logparse`: template-mining accuracy.
//!
//! On Loghub `_structured.csv` files (`LineId, …, Content, EventId, EventTemplate`), each file
//! is mined from scratch by one miner with the default configuration (the one the SQL
//! functions use), lines in file order, and each line gets the final template of its cluster
//! (as Drain's benchmark does). Masks are written `<*>` (the Loghub convention) before
//! scoring. Scores are `sigfuse_models::logparse::metrics` (Loghub-2.0 definitions).
//!
//! `--demo` generates the demo system in memory, mines `SELECT service, body FROM logs` with
//! the service as scope (as the SQL functions do) and labels each body with the generator's
//! template table: the template whose literal pieces match the body, the most specific
//! (most literal characters) when several do.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use sigfuse_engine::{Engine, EngineConfig};
use sigfuse_models::logparse::{Config, Miner, Scratch, metrics, wildcard_template};
use sigfuse_storage::Lake;
use sigfuse_storage::demo::{DemoOptions, generate, log_templates};

#[derive(clap::Args)]
pub struct LogparseArgs {
    /// Loghub structured CSV file(s) with `Content` and `EventTemplate` columns.
    #[arg(long, num_args = 1..)]
    structured: Vec<PathBuf>,
    /// Write `LineId,EventId,EventTemplate` as predicted: a file for one input; for several,
    /// a folder that gets `<input name>` with `_structured.csv` replaced by `_predicted.csv`.
    #[arg(long)]
    predictions: Option<PathBuf>,
    /// Also score the demo generator's logs (generated in memory).
    #[arg(long)]
    demo: bool,
    /// Hours of demo data.
    #[arg(long, default_value_t = 1)]
    demo_hours: u32,
    /// Print each ground-truth template that is not grouped exactly, with the predicted
    /// templates its lines got (on stderr).
    #[arg(long)]
    errors: bool,
}

/// Prints the ground-truth groups that are split or merged, with what their lines got.
fn print_errors(name: &str, truth: &[&str], pred: &[&str]) {
    use std::collections::{BTreeMap, HashMap};
    let mut by_truth: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    let mut pred_count: HashMap<&str, usize> = HashMap::new();
    for (t, p) in truth.iter().zip(pred) {
        if !t.is_empty() {
            *by_truth.entry(t).or_default().entry(p).or_default() += 1;
            *pred_count.entry(p).or_default() += 1;
        }
    }
    for (t, ps) in by_truth {
        let exact = ps.len() == 1 && ps.iter().all(|(p, n)| pred_count.get(p) == Some(n));
        if !exact {
            eprintln!("{name}: truth {t:?}");
            for (p, n) in ps {
                let total = pred_count.get(p).copied().unwrap_or(0);
                eprintln!("    {n:6} of {total:6} {p:?}");
            }
        }
    }
}

/// One mined file: per line, the predicted template (masks as `<*>`) and cluster number.
struct Mined {
    templates: Vec<String>,
    clusters: Vec<usize>,
}

fn mine(scoped_lines: &[(&str, &str)]) -> Result<Mined> {
    let mut miner = Miner::new(Config::default())?;
    let mut scratch = Scratch::default();
    let idx: Vec<usize> = scoped_lines
        .iter()
        .map(|(svc, line)| miner.add(svc, line, &mut scratch))
        .collect();
    let clusters: Vec<usize> = idx.iter().map(|&i| miner.resolve(i)).collect();
    let templates = clusters
        .iter()
        .map(|&c| wildcard_template(miner.clusters()[c].template()))
        .collect();
    Ok(Mined {
        templates,
        clusters,
    })
}

// The scores are the command's output.
#[allow(clippy::print_stdout)]
fn print_scores(name: &str, s: &metrics::Scores) {
    println!(
        "{name} GA={:.3} FGA={:.3} PA={:.3} FTA={:.3} lines={} templates={}/{}",
        s.ga, s.fga, s.pa, s.fta, s.lines, s.predicted_templates, s.truth_templates
    );
}

fn eval_file(path: &Path, predictions: Option<&Path>, errors: bool) -> Result<metrics::Scores> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let headers = reader.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("{}: no column {name}", path.display()))
    };
    let (content, template) = (col("Content")?, col("EventTemplate")?);
    let line_id = col("LineId").ok();
    let mut rows = Vec::new();
    for (i, r) in reader.records().enumerate() {
        let r = r.with_context(|| format!("{}: record {}", path.display(), i + 1))?;
        let get = |c: usize| r.get(c).unwrap_or_default().to_string();
        let id = line_id.map_or_else(|| (i + 1).to_string(), get);
        rows.push((id, get(content), get(template)));
    }
    let lines: Vec<(&str, &str)> = rows.iter().map(|r| ("", r.1.as_str())).collect();
    let mined = mine(&lines)?;
    if let Some(out) = predictions {
        let mut w =
            csv::Writer::from_path(out).with_context(|| format!("writing {}", out.display()))?;
        w.write_record(["LineId", "EventId", "EventTemplate"])?;
        for (row, (t, c)) in rows.iter().zip(mined.templates.iter().zip(&mined.clusters)) {
            w.write_record([row.0.as_str(), &format!("T{}", c + 1), t])?;
        }
        w.flush()?;
    }
    let truth: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
    let pred: Vec<&str> = mined.templates.iter().map(String::as_str).collect();
    if errors {
        print_errors(&path.display().to_string(), &truth, &pred);
    }
    Ok(metrics::score(&truth, &pred))
}

/// The template whose literal pieces match `body` in order, anchored at both ends.
fn matches(template: &str, body: &str) -> bool {
    let parts: Vec<&str> = template.split("<*>").collect();
    let Some((first, rest_parts)) = parts.split_first() else {
        return body.is_empty();
    };
    let Some(mut rest) = body.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest_parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(p) => rest = &rest[p + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

async fn eval_demo(config: &EngineConfig, hours: u32, errors: bool) -> Result<metrics::Scores> {
    let lake = Lake::open("memory://")?;
    let options = DemoOptions {
        hours,
        ..DemoOptions::default()
    };
    generate(&lake, &options, &|_| {}).await?;
    let engine = Engine::over(lake, config)?;
    let batches = engine
        .ctx()
        .sql("SELECT service, body FROM logs ORDER BY ts")
        .await?
        .collect()
        .await?;
    let mut lines: Vec<(String, String)> = Vec::new();
    for b in &batches {
        let cast = |i: usize| datafusion::arrow::compute::cast(b.column(i), &DataType::Utf8);
        let (svc, body) = (cast(0)?, cast(1)?);
        let (svc, body) = (svc.as_string::<i32>(), body.as_string::<i32>());
        for i in 0..b.num_rows() {
            let s = if svc.is_null(i) { "" } else { svc.value(i) };
            let t = if body.is_null(i) { "" } else { body.value(i) };
            lines.push((s.to_string(), t.to_string()));
        }
    }
    let mut templates: Vec<&str> = log_templates()
        .iter()
        .map(|t| t.template.as_str())
        .collect();
    // Most literal characters first: the first match is the most specific template.
    templates.sort_by_key(|t| std::cmp::Reverse(t.replace("<*>", "").len()));
    // Templates are scoped by service (a service never shares a template with another), so
    // both sides are keyed `service: template`: a table template that three services log is
    // three groups.
    let truth: Vec<String> = lines
        .iter()
        .map(|(svc, body)| {
            templates
                .iter()
                .find(|t| matches(t, body))
                .map_or_else(String::new, |t| format!("{svc}: {t}"))
        })
        .collect();
    let scoped: Vec<(&str, &str)> = lines
        .iter()
        .map(|(s, b)| (s.as_str(), b.as_str()))
        .collect();
    let mined = mine(&scoped)?;
    let pred: Vec<String> = mined
        .templates
        .iter()
        .zip(&lines)
        .map(|(t, (svc, _))| format!("{svc}: {t}"))
        .collect();
    let truth: Vec<&str> = truth.iter().map(String::as_str).collect();
    let pred: Vec<&str> = pred.iter().map(String::as_str).collect();
    let unlabeled = truth.iter().filter(|t| t.is_empty()).count();
    if unlabeled > 0 {
        eprintln!("demo: {unlabeled} bodies match no template of the table and are not scored");
    }
    if errors {
        print_errors("demo", &truth, &pred);
    }
    Ok(metrics::score(&truth, &pred))
}

// The scores are the command's output.
#[allow(clippy::print_stdout)]
pub async fn run(config: &EngineConfig, args: LogparseArgs) -> Result<ExitCode> {
    if args.structured.is_empty() && !args.demo {
        bail!("give --structured FILE.csv … and/or --demo");
    }
    let many = args.structured.len() > 1;
    if let (true, Some(dir)) = (many, &args.predictions) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut sum = [0.0f64; 4];
    for path in &args.structured {
        let out = args.predictions.as_ref().map(|p| {
            if many {
                let name = path.file_name().map_or_else(
                    || "predicted.csv".to_string(),
                    |n| n.to_string_lossy().replace("_structured", "_predicted"),
                );
                p.join(name)
            } else {
                p.clone()
            }
        });
        let s = eval_file(path, out.as_deref(), args.errors)?;
        print_scores(&path.display().to_string(), &s);
        for (a, v) in sum.iter_mut().zip([s.ga, s.fga, s.pa, s.fta]) {
            *a += v;
        }
    }
    if many {
        let n = args.structured.len() as f64;
        println!(
            "average GA={:.3} FGA={:.3} PA={:.3} FTA={:.3} files={}",
            sum[0] / n,
            sum[1] / n,
            sum[2] / n,
            sum[3] / n,
            args.structured.len()
        );
    }
    if args.demo {
        let s = eval_demo(config, args.demo_hours, args.errors).await?;
        print_scores(&format!("demo({}h)", args.demo_hours), &s);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_labels_match_literal_pieces() {
        assert!(matches("GET <*> <*> in <*> ms", "GET /a 200 in 3.1 ms"));
        assert!(!matches("GET <*> in <*> ms", "POST /a in 3 ms"));
        assert!(matches("<*> done", "x done"));
        assert!(!matches("done", "done!"));
        assert!(matches("", ""));
    }

    #[test]
    fn structured_file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("X_2k.log_structured.csv");
        std::fs::write(
            &input,
            "LineId,Content,EventId,EventTemplate\n\
             1,open file 12,E1,open file <*>\n\
             2,open file 13,E1,open file <*>\n\
             3,\"closed, all done\",E2,\"closed, all done\"\n",
        )
        .unwrap();
        let out = dir.path().join("pred.csv");
        let s = eval_file(&input, Some(&out), false).unwrap();
        assert_eq!((s.ga, s.pa, s.fta, s.lines), (1.0, 1.0, 1.0, 3));
        let written = std::fs::read_to_string(&out).unwrap();
        assert_eq!(
            written,
            "LineId,EventId,EventTemplate\n1,T1,open file <*>\n2,T1,open file <*>\n3,T2,\"closed, all done\"\n"
        );
    }
}
