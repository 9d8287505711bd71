//! Atomic files: readers racing a writer, and a writer killed mid-ingest, never see a partial
//! Parquet file.

use std::process::{Command, Stdio};
use std::time::Duration;

use sigfuse_storage::{Lake, WriterOptions};

use crate::common::{engine, scalar_i64, write_logs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_racing_a_writer_see_only_whole_files() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    let writer_lake = lake.clone();
    // 12 hourly files of 3,600 rows, flushed one hour at a time.
    let options = WriterOptions {
        flush_bytes: 1,
        max_row_group_rows: 1000,
        ..Default::default()
    };
    let writer = tokio::spawn(async move { write_logs(&writer_lake, 12, 1, options).await });
    let engine = engine(&lake);
    let mut seen = Vec::new();
    while !writer.is_finished() {
        // Every query succeeds, and sees whole hours only.
        let n = scalar_i64(&engine, "SELECT count(*) FROM logs").await;
        assert_eq!(n % 3600, 0, "a partial file was visible: {n} rows");
        seen.push(n);
    }
    assert_eq!(writer.await.unwrap(), 12 * 3600);
    assert_eq!(
        scalar_i64(&engine, "SELECT count(*) FROM logs").await,
        12 * 3600
    );
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
}

#[test]
fn an_ingest_killed_mid_write_leaves_only_readable_files() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big.jsonl");
    // 48 hours, one line every 0.25 s: 691,200 lines, flushed every MiB of Arrow data.
    let mut text = String::with_capacity(100 << 20);
    for i in 0..48 * 3600 * 4 {
        let ts = 1_717_372_800_000i64 + i * 250;
        text.push_str(&format!(
            "{{\"ts\":{ts},\"service\":\"svc-{}\",\"severity\":\"INFO\",\"body\":\"request {i} handled in {} ms by worker {}\"}}\n",
            i % 13,
            i % 977,
            i % 31
        ));
    }
    std::fs::write(&src, text).unwrap();
    let lake_dir = dir.path().join("lake");
    for delay_ms in [400u64, 900, 1600] {
        let mut child = ingest_command(&lake_dir, &src)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL: no cleanup code runs.
        child.wait().unwrap();
        // Every file a reader can list is a complete Parquet file.
        let mut files = 0;
        for entry in walk(&lake_dir) {
            if entry.extension().is_some_and(|e| e == "parquet") {
                let f = std::fs::File::open(&entry).unwrap();
                datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                    f,
                )
                .unwrap_or_else(|e| panic!("partial file {}: {e}", entry.display()));
                files += 1;
            }
        }
        let rt = tokio::runtime::Runtime::new().unwrap();
        let lake = Lake::open(lake_dir.to_str().unwrap()).unwrap();
        let n =
            rt.block_on(async { scalar_i64(&engine(&lake), "SELECT count(*) FROM logs").await });
        eprintln!("killed after {delay_ms} ms: {files} whole files, {n} rows readable");
    }
    // A complete run afterwards replaces whatever the killed runs left, without duplicates.
    let out = ingest_command(&lake_dir, &src).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let lake = Lake::open(lake_dir.to_str().unwrap()).unwrap();
    let n = rt.block_on(async { scalar_i64(&engine(&lake), "SELECT count(*) FROM logs").await });
    assert_eq!(n, 48 * 3600 * 4);
}

/// `sigfuse ingest` of `src` into `lake`, flushing every MiB so a kill lands among many writes.
fn ingest_command(lake: &std::path::Path, src: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sigfuse"));
    c.arg("--lake")
        .arg(lake)
        .args(["ingest", "--force", "--buffer-mb", "1"]);
    c.args(["--table", "logs", "--format", "jsonl"]).arg(src);
    c
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
