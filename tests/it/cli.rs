//! The `sigfuse` binary as users run it.

use std::process::{Command, Output};

fn sigfuse(lake: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigfuse"))
        .arg("--lake")
        .arg(lake)
        .args(args)
        .env_remove("SIGFUSE_LAKE")
        .output()
        .expect("run sigfuse")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn ingest_then_query_as_table_csv_json_and_parquet_file() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let src = dir.path().join("spans.jsonl");
    std::fs::write(
        &src,
        concat!(
            r#"{"ts":"2024-06-03T00:00:01Z","trace_id":"t1","span_id":"s1","service":"cart","name":"GET /cart","duration_ns":1500000,"status":"OK"}"#, "\n",
            r#"{"ts":"2024-06-03T00:00:02Z","trace_id":"t1","span_id":"s2","parent_span_id":"s1","service":"redis","name":"GET","duration_ns":200000,"status":"ERROR"}"#, "\n",
            r#"{"ts":"2024-06-03T00:00:03Z","span_id":"s3"}"#, "\n",
        ),
    )
    .unwrap();
    let out = sigfuse(
        &lake,
        &[
            "ingest",
            "--table",
            "spans",
            "--format",
            "jsonl",
            src.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("2 rows (spans 2)") && err.contains("1 rejected"),
        "{err}"
    );
    assert!(err.contains("missing required column trace_id"), "{err}");

    let out = sigfuse(
        &lake,
        &[
            "query",
            "SELECT service, operation, status FROM spans ORDER BY ts",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(
        table.contains("| cart    | GET /cart | OK     |"),
        "{table}"
    );

    let out = sigfuse(
        &lake,
        &[
            "query",
            "--format",
            "csv",
            "SELECT service, duration_ns FROM spans ORDER BY ts",
        ],
    );
    assert_eq!(
        text(&out.stdout),
        "service,duration_ns\ncart,1500000\nredis,200000\n"
    );

    let out = sigfuse(
        &lake,
        &[
            "query",
            "--format",
            "json",
            "SELECT count(*) AS n FROM spans WHERE status = 'ERROR'",
        ],
    );
    assert_eq!(text(&out.stdout).trim(), r#"{"n":1}"#);

    // --timing: the whole statement's time and, inside it, the planning.
    let out = sigfuse(
        &lake,
        &[
            "query",
            "--timing",
            "--format",
            "none",
            "SELECT count(*) FROM spans; SELECT 1",
        ],
    );
    let err = text(&out.stderr);
    let times: Vec<(f64, f64)> = err
        .lines()
        .filter_map(|l| {
            let l = l.strip_prefix("Time: ")?.strip_suffix(" ms)")?;
            let (total, plan) = l.split_once(" ms (planning ")?;
            Some((total.parse().ok()?, plan.parse().ok()?))
        })
        .collect();
    assert_eq!(times.len(), 2, "{err}");
    assert!(times.iter().all(|&(t, p)| 0.0 < p && p <= t), "{err}");

    let target = dir.path().join("out/errors.parquet");
    let out = sigfuse(
        &lake,
        &[
            "query",
            "--format",
            "parquet",
            "--out",
            target.to_str().unwrap(),
            "SELECT * FROM spans WHERE status = 'ERROR'",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("wrote 1 rows to"),
        "{}",
        text(&out.stderr)
    );
    let file = std::fs::File::open(&target).unwrap();
    let reader =
        datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap();
    assert_eq!(reader.metadata().file_metadata().num_rows(), 1);

    // A script runs statement by statement.
    let job = dir.path().join("job.sql");
    std::fs::write(&job, "CREATE VIEW slow AS SELECT * FROM spans WHERE duration_ns > 1000000;\nSELECT count(*) AS n FROM slow;").unwrap();
    let out = sigfuse(
        &lake,
        &["query", "--format", "csv", "-f", job.to_str().unwrap()],
    );
    assert!(
        text(&out.stdout).ends_with("n\n1\n"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn mistakes_exit_non_zero_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let out = sigfuse(&lake, &["query", "SELEC 1"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("error:"),
        "{}",
        text(&out.stderr)
    );
    let out = sigfuse(&lake, &["query", "SELECT nope FROM logs"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("nope"), "{}", text(&out.stderr));
    let out = sigfuse(
        &lake,
        &["ingest", "--format", "jsonl", "--table", "nope", "x"],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("unknown table"),
        "{}",
        text(&out.stderr)
    );
    let out = sigfuse(
        &lake,
        &[
            "ingest",
            "--format",
            "jsonl",
            "--table",
            "logs",
            "/nonexistent/file.jsonl",
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("/nonexistent/file.jsonl"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn demo_fills_every_table_keeps_labels_apart_and_refuses_to_mix() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let args = ["demo", "--hours", "1", "--services", "4", "--seed", "7"];
    let out = sigfuse(&lake, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = sigfuse(
        &lake,
        &[
            "query",
            "--format",
            "csv",
            "SELECT (SELECT count(*) FROM logs) > 0 AS l, (SELECT count(*) FROM spans) > 0 AS s, \
             (SELECT count(*) FROM metrics) > 0 AS m, (SELECT count(*) FROM events) > 0 AS e",
        ],
    );
    assert_eq!(
        text(&out.stdout),
        "l,s,m,e\ntrue,true,true,true\n",
        "{}",
        text(&out.stderr)
    );
    assert!(lake.join("_labels/demo.json").exists());
    // The same demo again rewrites the same files; another seed is refused.
    assert!(sigfuse(&lake, &args).status.success());
    let out = sigfuse(
        &lake,
        &["demo", "--hours", "1", "--services", "4", "--seed", "8"],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("already holds demo data"),
        "{}",
        text(&out.stderr)
    );
}

/// A PetShop-layout folder: scenario `steady` with a normal period and one issue, and
/// scenario `alt` with only an issue (it trains on every normal period). site calls search
/// and ads, search calls db; in each issue search slows down from the third sample on and
/// site with it, as the alert on site says.
fn petshop_folder(root: &std::path::Path) {
    let nodes = ["site", "search", "ads", "db"];
    let header = |out: &mut String| {
        let cols: Vec<(&str, &str, &str)> = nodes
            .iter()
            .flat_map(|n| [(*n, "latency", "Average"), (*n, "availability", "Average")])
            .collect();
        for (i, row) in ["microservice", "metric", "statistic"].iter().enumerate() {
            out.push_str(row);
            for c in &cols {
                out.push(',');
                out.push_str([c.0, c.1, c.2][i]);
            }
            out.push('\n');
        }
        out.push_str("unix_timestamp");
        out.push_str(&",".repeat(cols.len()));
        out.push('\n');
    };
    let base = [0.30, 0.05, 0.02, 0.01];
    let row = |out: &mut String, t: i64, i: i64, slow: bool| {
        out.push_str(&format!("{t}.0"));
        for (n, b) in base.iter().enumerate() {
            let jitter = 1.0 + ((i * 7 + n as i64 * 3) % 11) as f64 / 100.0;
            let mut latency = b * jitter;
            if slow && (n == 0 || n == 1) {
                latency += 2.0;
            }
            out.push_str(&format!(",{latency},100.0"));
        }
        out.push('\n');
    };
    let write = |rel: &str, text: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    let mut normal = String::new();
    header(&mut normal);
    for i in 0..300 {
        row(&mut normal, 1_692_608_400 + 300 * i, i, false);
    }
    write("steady/noissue/metrics.csv", &normal);
    let graph = ",site,search,ads,db\nsite,0.0,1.0,1.0,0.0\nsearch,0.0,0.0,0.0,1.0\nads,0.0,0.0,0.0,0.0\ndb,0.0,0.0,0.0,0.0\n";
    for (scenario, start) in [("steady", 1_681_855_320_i64), ("alt", 1_682_055_320)] {
        let mut issue = String::new();
        header(&mut issue);
        for i in 0..5 {
            row(&mut issue, start + 300 * i, i, i >= 2);
        }
        write(&format!("{scenario}/train/issue_0/metrics.csv"), &issue);
        write(
            &format!("{scenario}/train/issue_0/target.json"),
            &format!(
                r#"{{"target": {{"node": "site", "metric": "latency", "agg": "Average", "timestamp": {}}}, "root_cause": {{"node": "search", "metric": null}}}}"#,
                start + 600
            ),
        );
        write(&format!("{scenario}/graph.csv"), graph);
    }
}

#[test]
fn eval_petshop_trains_per_scenario_and_ranks_the_slow_dependency_first() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("petshop");
    petshop_folder(&data);
    let ranks = dir.path().join("ranks.csv");
    let out = sigfuse(
        &dir.path().join("lake"),
        &[
            "eval",
            "petshop",
            "--data",
            data.to_str().unwrap(),
            "--ranks",
            ranks.to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "trained petshop_alt version 1 on the 1 normal periods of the other scenarios"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("call_graph_edges 3"), "{stderr}");
    let all = stdout.lines().last().unwrap_or_default();
    assert_eq!(
        all.split_whitespace().collect::<Vec<_>>(),
        ["all", "all", "2", "100.0", "%", "100.0", "%"],
        "{stdout}"
    );
    let ranks = std::fs::read_to_string(&ranks).unwrap();
    let rows: Vec<&str> = ranks.lines().collect();
    assert_eq!(rows.len(), 3, "{ranks}");
    for row in &rows[1..] {
        let ranked = row.rsplit(',').next().unwrap_or_default();
        assert!(ranked.starts_with("search;"), "{ranks}");
    }
}
