//! Accuracy on the Loghub 2k files, for tuning without linking DataFusion:
//! `SIGFUSE_LOGHUB_DIR=../shared/datasets/loghub-2k-dev cargo test -p sigfuse-models --test
//! loghub -- --ignored --nocapture`. The reported figures come from `sigfuse eval logparse`
//! (docs/quality.md); this prints the same scores.

// A report printed for a person tuning the miner.
#![allow(clippy::print_stdout)]

use sigfuse_models::logparse::{Config, Miner, Scratch, metrics, wildcard_template};

fn system(dir: &std::path::Path, name: &str, file: &str) -> Option<metrics::Scores> {
    let path = dir.join(name).join(format!("{name}_2k.log_{file}"));
    let mut r = csv::Reader::from_path(&path).ok()?;
    let headers = r.headers().ok()?.clone();
    let col = |n: &str| headers.iter().position(|h| h == n);
    let (content, template) = (col("Content")?, col("EventTemplate")?);
    let rows: Vec<csv::StringRecord> = r.records().filter_map(Result::ok).collect();
    let merge = std::env::var("MERGE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(Config::default().merge_words);
    let mut m = Miner::new(Config {
        merge_words: merge,
        ..Config::default()
    })
    .ok()?;
    let mut s = Scratch::default();
    let idx: Vec<usize> = rows
        .iter()
        .map(|row| m.add("", &row[content], &mut s))
        .collect();
    let predicted: Vec<String> = idx
        .iter()
        .map(|&i| wildcard_template(m.clusters()[m.resolve(i)].template()))
        .collect();
    let truth: Vec<&str> = rows.iter().map(|row| &row[template]).collect();
    let pred: Vec<&str> = predicted.iter().map(String::as_str).collect();
    if std::env::var_os("SHOW_ERRORS").is_some_and(|v| v == name) {
        // Ground-truth groups that are not exact, with what they were split into.
        let mut seen =
            std::collections::BTreeMap::<&str, std::collections::BTreeMap<&str, usize>>::new();
        for (t, p) in truth.iter().zip(&pred) {
            *seen.entry(t).or_default().entry(p).or_default() += 1;
        }
        for (t, ps) in seen {
            if ps.len() > 1
                || ps
                    .keys()
                    .any(|p| pred.iter().filter(|x| *x == p).count() != ps[p])
            {
                println!("TRUTH {t}");
                for (p, n) in ps {
                    println!("    {n:4} {p}");
                }
            }
        }
    }
    Some(metrics::score(&truth, &pred))
}

#[test]
#[ignore = "needs SIGFUSE_LOGHUB_DIR"]
fn loghub_2k() {
    let Some(dir) = std::env::var_os("SIGFUSE_LOGHUB_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    for file in ["structured.csv", "structured_corrected.csv"] {
        let mut sum = [0.0; 4];
        let names = [
            "Apache",
            "HDFS",
            "Hadoop",
            "HealthApp",
            "OpenStack",
            "Proxifier",
            "Spark",
            "Zookeeper",
        ];
        for name in names {
            let s = system(&dir, name, file).expect(name);
            println!(
                "{file} {name:10} GA={:.3} FGA={:.3} PA={:.3} FTA={:.3} templates {}/{}",
                s.ga, s.fga, s.pa, s.fta, s.predicted_templates, s.truth_templates
            );
            for (a, v) in sum.iter_mut().zip([s.ga, s.fga, s.pa, s.fta]) {
                *a += v / names.len() as f64;
            }
        }
        println!(
            "{file} AVERAGE    GA={:.3} FGA={:.3} PA={:.3} FTA={:.3}",
            sum[0], sum[1], sum[2], sum[3]
        );
    }
}
