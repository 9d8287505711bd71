//! A real S3-compatible server: `.ci/run` (through `scripts/test`) starts one on 127.0.0.1 and
//! exports `SIGFUSE_TEST_S3_BUCKET` with the usual `AWS_*` variables. Run alone with plain
//! `cargo test`, the test says it was skipped; with `SIGFUSE_REQUIRE_S3=1` a missing server fails.

use sigfuse_storage::ingest::{Format, IngestOptions, ingest};
use sigfuse_storage::{Lake, SignalKind};

use crate::common::{engine, no_progress, query_text, scalar_i64};

fn bucket() -> Option<String> {
    match std::env::var("SIGFUSE_TEST_S3_BUCKET") {
        Ok(b) if !b.is_empty() => Some(b),
        _ => {
            assert!(
                std::env::var("SIGFUSE_REQUIRE_S3").is_err(),
                "SIGFUSE_REQUIRE_S3 is set but SIGFUSE_TEST_S3_BUCKET is not: start the S3 server (scripts/test)"
            );
            eprintln!("skipped: no S3 server (run scripts/test to start one)");
            None
        }
    }
}

#[tokio::test]
async fn ingest_into_an_s3_lake_and_query_it_back() {
    let Some(bucket) = bucket() else { return };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let lake = Lake::open(&format!("s3://{bucket}/it-{nanos}/lake")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("logs.jsonl");
    // Three hours of logs, one line a second: three hourly files, big enough for range reads.
    let lines: Vec<String> = (0..3 * 3600)
        .map(|i| {
            format!(
                r#"{{"ts": {}, "service": "svc-{}", "severity": "{}", "body": "request {i} took {} ms"}}"#,
                1_717_372_800 + i,
                i % 7,
                if i % 100 == 0 { "ERROR" } else { "INFO" },
                i % 250
            )
        })
        .collect();
    std::fs::write(&src, lines.join("\n")).unwrap();
    let options = IngestOptions::new(Format::Jsonl, Some(SignalKind::Logs));
    let report = ingest(&lake, &options, src.to_str().unwrap(), no_progress())
        .await
        .unwrap();
    assert_eq!(report.rows.get("logs"), Some(&(3 * 3600)));
    assert_eq!(report.files.len(), 3);

    let engine = engine(&lake);
    assert_eq!(
        scalar_i64(&engine, "SELECT count(*) FROM logs").await,
        3 * 3600
    );
    let errors = scalar_i64(
        &engine,
        "SELECT count(*) FROM logs WHERE severity = 'ERROR' AND ts >= '2024-06-03T01:00:00Z' AND ts < '2024-06-03T02:00:00Z'",
    )
    .await;
    assert_eq!(errors, 36);
    let text = query_text(
        &engine,
        "SELECT service, count(*) AS n FROM logs GROUP BY service ORDER BY service LIMIT 2",
    )
    .await;
    assert!(text.contains("svc-0"), "{text}");
    // Re-ingest is recognised through the ingest log stored in the bucket.
    assert!(
        ingest(&lake, &options, src.to_str().unwrap(), no_progress())
            .await
            .unwrap()
            .skipped
    );
}

#[tokio::test]
async fn wrong_credentials_fail_with_a_clear_error() {
    let Some(bucket) = bucket() else { return };
    let options = std::collections::HashMap::from([(
        "aws_secret_access_key".to_string(),
        "not-the-secret".to_string(),
    )]);
    let lake = Lake::open_with_options(&format!("s3://{bucket}/denied"), &options).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("one.jsonl");
    std::fs::write(&src, r#"{"ts": 1717372800, "body": "x"}"#).unwrap();
    let e = ingest(
        &lake,
        &IngestOptions::new(Format::Jsonl, Some(SignalKind::Logs)),
        src.to_str().unwrap(),
        no_progress(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("403") || e.to_lowercase().contains("signature"),
        "{e}"
    );
}

#[test]
fn a_config_file_alone_carries_the_s3_settings() {
    let Some(bucket) = bucket() else { return };
    let var = |k: &str| std::env::var(k).unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sigfuse.toml");
    std::fs::write(
        &config,
        format!(
            "lake = \"s3://{bucket}/cfg-{nanos}\"\n[storage]\naws_endpoint = \"{}\"\naws_region = \"{}\"\n\
             aws_access_key_id = \"{}\"\naws_secret_access_key = \"{}\"\naws_allow_http = true\n",
            var("AWS_ENDPOINT"),
            var("AWS_REGION"),
            var("AWS_ACCESS_KEY_ID"),
            var("AWS_SECRET_ACCESS_KEY")
        ),
    )
    .unwrap();
    let src = dir.path().join("events.jsonl");
    std::fs::write(
        &src,
        "{\"ts\":\"2024-06-03T10:00:00Z\",\"type\":\"deploy\",\"service\":\"cart\",\"message\":\"v2\"}\n\
         {\"ts\":\"2024-06-03T11:00:00Z\",\"type\":\"config_change\",\"service\":\"cart\"}\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_sigfuse"));
        c.arg("--config").arg(&config).args(args);
        for k in [
            "AWS_ENDPOINT",
            "AWS_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ALLOW_HTTP",
            "SIGFUSE_LAKE",
        ] {
            c.env_remove(k);
        }
        c.output().unwrap()
    };
    let out = run(&[
        "ingest",
        "--table",
        "events",
        "--format",
        "jsonl",
        src.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&[
        "query",
        "--format",
        "csv",
        "SELECT kind, message FROM events ORDER BY ts",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "kind,message\ndeploy,v2\nconfig_change,\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A misspelt key is an error that names it, not a silent default.
    std::fs::write(&config, "lake = \"memory://x\"\nstorge = 1\n").unwrap();
    let out = run(&["query", "SELECT 1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("storge"));
}
