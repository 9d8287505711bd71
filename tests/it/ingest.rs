//! Ingest adapters on small files the tests write: good rows land, bad rows are counted and kept
//! in `_rejects/` with source, line and reason, re-ingesting does not duplicate.

use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, StringArray, TimestampMillisecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::parquet::arrow::ArrowWriter;
use object_store::ObjectStoreExt;
use sigfuse_storage::Lake;
use sigfuse_storage::SignalKind;
use sigfuse_storage::ingest::{Format, IngestOptions, ingest};

use crate::common::{engine, no_progress, query_text, scalar_i64};

fn write(dir: &std::path::Path, name: &str, content: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.to_str().unwrap().to_string()
}

async fn rejects(lake: &Lake, rel: &str) -> Vec<serde_json::Value> {
    let bytes = lake
        .store()
        .get(&lake.path(rel))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

#[tokio::test]
async fn jsonl_accepts_every_timestamp_form_and_rejects_bad_rows_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let src = write(
        dir.path(),
        "app.jsonl",
        concat!(
            r#"{"ts": 1717372800, "service": "cart", "level": "INFO", "msg": "seconds"}"#,
            "\n",
            r#"{"timestamp": 1717372800000, "service": "cart", "msg": "millis", "user": "u1"}"#,
            "\n",
            r#"{"time": 1717372800000000, "service": "cart", "msg": "micros"}"#,
            "\n",
            r#"{"ts": 1717372800000000000, "service": "cart", "msg": "nanos"}"#,
            "\n",
            r#"{"@timestamp": "2024-06-03T02:00:00+02:00", "service": "cart", "msg": "rfc3339"}"#,
            "\n",
            r#"{"ts": "1717372800.0", "service": "cart", "msg": "seconds as text"}"#,
            "\n",
            "\n",
            r#"{"ts": 1717372800, "service": "cart", "msg": "truncated"#,
            "\n",
            r#"{"ts": "yesterday", "service": "cart", "msg": "bad time"}"#,
            "\n",
            r#"{"service": "cart", "msg": "no time"}"#,
            "\n",
            r#"{"ts": 1717372800, "service": "cart"}"#,
            "\n",
            r#"[1, 2, 3]"#,
            "\n",
            r#"{"ts": 1717372800, "service": {"nested": true}, "msg": "object service"}"#,
            "\n",
        ),
    );
    let lake = Lake::open(dir.path().join("lake").to_str().unwrap()).unwrap();
    let options = IngestOptions::new(Format::Jsonl, Some(SignalKind::Logs));
    let report = ingest(&lake, &options, &src, no_progress()).await.unwrap();
    assert_eq!(report.rows.get("logs"), Some(&7));
    assert_eq!(report.rejected, 5, "{:?}", report.reject_reasons);

    let rejected = rejects(&lake, report.rejects_file.as_deref().unwrap()).await;
    let lines: Vec<u64> = rejected
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![8, 9, 10, 11, 12]);
    assert!(rejected.iter().all(|r| r["source"] == src.as_str()));
    let reasons: Vec<&str> = rejected
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert!(reasons[0].starts_with("invalid JSON"), "{reasons:?}");
    assert!(reasons[1].contains("yesterday"), "{reasons:?}");
    assert_eq!(reasons[2], "missing timestamp (ts)");
    assert_eq!(reasons[3], "missing required column body");
    assert_eq!(reasons[4], "expected a JSON object, got an array");

    let engine = engine(&lake);
    // Every accepted row carries the same instant, whatever unit its source used.
    let distinct = scalar_i64(&engine, "SELECT count(DISTINCT ts) FROM logs").await;
    assert_eq!(distinct, 1);
    let text = query_text(
        &engine,
        "SELECT ts, severity, body, attributes FROM logs WHERE body = 'millis'",
    )
    .await;
    assert!(text.contains("2024-06-03T00:00:00Z"), "{text}");
    assert!(
        text.contains(r#"{"user":"u1"}"#),
        "unmapped fields are kept as attributes: {text}"
    );
    // Attributes are queryable with the JSON functions DESIGN.md names.
    let users = scalar_i64(
        &engine,
        "SELECT count(*) FROM logs WHERE json_get_str(attributes, 'user') = 'u1'",
    )
    .await;
    assert_eq!(users, 1);
    // A nested object given for a text column is kept as its JSON text.
    let text = query_text(
        &engine,
        "SELECT service FROM logs WHERE body = 'object service'",
    )
    .await;
    assert!(text.contains(r#"{"nested":true}"#), "{text}");
}

#[tokio::test]
async fn reingesting_the_same_content_does_not_duplicate_rows() {
    let dir = tempfile::tempdir().unwrap();
    let src = write(
        dir.path(),
        "m.jsonl",
        &(0..70_000)
            .map(|i| {
                let ms = 1_717_372_800_000i64 + i * 250;
                format!(r#"{{"ts": {ms}, "name": "cpu", "value": {i}, "service": "cart"}}"#)
            })
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let lake = Lake::open(dir.path().join("lake").to_str().unwrap()).unwrap();
    let mut options = IngestOptions::new(Format::Jsonl, Some(SignalKind::Metrics));
    let first = ingest(&lake, &options, &src, no_progress()).await.unwrap();
    assert!(!first.skipped);
    assert_eq!(
        first.files.len(),
        5,
        "70,000 samples every 0.25 s span 5 hours: {:?}",
        first.files
    );
    let again = ingest(&lake, &options, &src, no_progress()).await.unwrap();
    assert!(again.skipped);
    options.force = true;
    let forced = ingest(&lake, &options, &src, no_progress()).await.unwrap();
    assert!(!forced.skipped);
    assert_eq!(
        forced.files, first.files,
        "forced re-ingest replaces the same files"
    );
    // A smaller buffer writes more, smaller files; going back to the default removes the extras.
    options.writer.flush_bytes = 1;
    let small = ingest(&lake, &options, &src, no_progress()).await.unwrap();
    assert!(small.files.len() > first.files.len(), "{:?}", small.files);
    options.writer.flush_bytes = sigfuse_storage::WriterOptions::default().flush_bytes;
    ingest(&lake, &options, &src, no_progress()).await.unwrap();
    // The same content under another name is recognised too.
    let copy = write(
        dir.path(),
        "copy.jsonl",
        &std::fs::read_to_string(&src).unwrap(),
    );
    options.force = false;
    assert!(
        ingest(&lake, &options, &copy, no_progress())
            .await
            .unwrap()
            .skipped
    );
    let engine = engine(&lake);
    assert_eq!(
        scalar_i64(&engine, "SELECT count(*) FROM metrics").await,
        70_000
    );
    assert_eq!(
        scalar_i64(&engine, "SELECT CAST(sum(value) AS BIGINT) FROM metrics").await,
        69_999 * 70_000 / 2
    );
}

#[tokio::test]
async fn csv_maps_headers_and_rejects_short_rows_and_bad_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let src = write(
        dir.path(),
        "metrics.csv",
        "Time,pod,metric,val,unit\n\
         2024-06-03 00:00:00,cart-1,cpu,0.5,cores\n\
         2024-06-03 00:00:10,cart-1,cpu,0.7,cores\n\
         2024-06-03 00:00:20,cart-1,cpu\n\
         2024-06-03 00:00:30,cart-1,cpu,high,cores\n\
         2024-06-03 00:00:40,cart-1,cpu,NaN,cores\n\
         2024-06-03 00:00:50,\"cart-2\",cpu,\"0.25\",cores\n",
    );
    let lake = Lake::open("memory://csv").unwrap();
    let mut options = IngestOptions::new(Format::Csv, Some(SignalKind::Metrics));
    options.map = vec![
        ("ts".into(), "Time".into()),
        ("name".into(), "metric".into()),
    ];
    let report = ingest(&lake, &options, &src, no_progress()).await.unwrap();
    assert_eq!(report.rows.get("metrics"), Some(&3));
    assert_eq!(report.rejected, 3);
    let rejected = rejects(&lake, report.rejects_file.as_deref().unwrap()).await;
    assert_eq!(rejected[0]["line"], 4);
    assert_eq!(rejected[0]["reason"], "expected 5 fields, got 3");
    assert!(
        rejected[1]["reason"]
            .as_str()
            .unwrap()
            .starts_with("value:")
    );
    assert!(rejected[2]["reason"].as_str().unwrap().contains("finite"));
    let engine = engine(&lake);
    let text = query_text(
        &engine,
        "SELECT host, name, value, unit FROM metrics ORDER BY ts",
    )
    .await;
    assert!(text.contains("| cart-2 | cpu  | 0.25  | cores |"), "{text}");
}

#[tokio::test]
async fn parquet_sources_of_any_schema_map_by_column_name() {
    let dir = tempfile::tempdir().unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("at", DataType::Timestamp(TimeUnit::Millisecond, None), true),
        Field::new("svc", DataType::Utf8, true),
        Field::new("text", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(TimestampMillisecondArray::from(vec![
                Some(1_717_372_800_000),
                None,
                Some(1_717_376_400_500),
            ])),
            Arc::new(StringArray::from(vec!["cart", "cart", "pay"])),
            Arc::new(StringArray::from(vec![Some("a"), Some("b"), Some("c")])),
        ],
    )
    .unwrap();
    let path = dir.path().join("src.parquet");
    let mut w = ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let lake = Lake::open("memory://pq").unwrap();
    let mut options = IngestOptions::new(Format::Parquet, Some(SignalKind::Logs));
    options.map = vec![
        ("ts".into(), "at".into()),
        ("service".into(), "svc".into()),
        ("body".into(), "text".into()),
    ];
    let report = ingest(&lake, &options, path.to_str().unwrap(), no_progress())
        .await
        .unwrap();
    assert_eq!(report.rows.get("logs"), Some(&2));
    assert_eq!(
        report.rejected, 1,
        "the row without a time is rejected, not dropped"
    );
    let engine = engine(&lake);
    let text = query_text(&engine, "SELECT ts, service, body FROM logs ORDER BY ts").await;
    assert!(text.contains("2024-06-03T01:00:00.500Z"), "{text}");
}

#[tokio::test]
async fn unreadable_sources_fail_with_their_name() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open("memory://bad").unwrap();
    let options = IngestOptions::new(Format::Jsonl, Some(SignalKind::Logs));
    let missing = dir.path().join("missing.jsonl");
    let e = ingest(&lake, &options, missing.to_str().unwrap(), no_progress())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.jsonl"), "{e}");

    let garbage = write(dir.path(), "garbage.jsonl", "not json\nstill not json\n");
    let e = ingest(&lake, &options, &garbage, no_progress())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("garbage.jsonl") && e.contains("all 2 records rejected"),
        "{e}"
    );

    let not_parquet = write(dir.path(), "fake.parquet", "PAR1 this is not parquet");
    let options = IngestOptions::new(Format::Parquet, Some(SignalKind::Logs));
    let e = ingest(&lake, &options, &not_parquet, no_progress())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("fake.parquet") && e.contains("not a readable Parquet file"),
        "{e}"
    );

    let options = IngestOptions::new(Format::Csv, None);
    let e = ingest(&lake, &options, &garbage, no_progress())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("--table"), "{e}");
}

#[tokio::test]
async fn parallel_parsing_keeps_line_numbers_and_lines_longer_than_a_chunk() {
    let dir = tempfile::tempdir().unwrap();
    // About 7 MiB: several 4 MiB chunks, one of them a single 5 MiB line.
    let mut text = String::new();
    for i in 1..=60_000u64 {
        if i == 55_555 {
            text.push_str("{\"ts\": 1717372800, \"body\": \"truncated\n");
        } else if i == 30_000 {
            text.push_str(&format!(
                "{{\"ts\": {}, \"body\": \"{}\"}}\n",
                1_717_372_800 + i,
                "x".repeat(5 << 20)
            ));
        } else {
            text.push_str(&format!(
                "{{\"ts\": {}, \"service\": \"s{}\", \"body\": \"line {i}\"}}\n",
                1_717_372_800 + i,
                i % 5
            ));
        }
    }
    let src = write(dir.path(), "big.jsonl", &text);
    let lake = Lake::open("memory://par").unwrap();
    let report = ingest(
        &lake,
        &IngestOptions::new(Format::Jsonl, Some(SignalKind::Logs)),
        &src,
        no_progress(),
    )
    .await
    .unwrap();
    assert_eq!(report.rows.get("logs"), Some(&59_999));
    let rejected = rejects(&lake, report.rejects_file.as_deref().unwrap()).await;
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["line"], 55_555);
    let engine = engine(&lake);
    assert_eq!(
        scalar_i64(&engine, "SELECT max(length(body)) FROM logs").await,
        5 << 20
    );
    // The 5 MiB line neither shifted the line numbers nor the timestamps: the earliest row is line 1.
    let text = query_text(&engine, "SELECT body FROM logs ORDER BY ts LIMIT 1").await;
    assert!(text.contains("line 1 "), "{text}");
}

#[tokio::test]
async fn files_are_sorted_by_ts_whatever_the_source_order() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..2000)
        .rev()
        .map(|i| format!(r#"{{"ts": {}, "body": "b{i}"}}"#, 1_717_372_800 + i))
        .collect();
    let src = write(dir.path(), "reversed.jsonl", &lines.join("\n"));
    let lake = Lake::open(dir.path().join("lake").to_str().unwrap()).unwrap();
    let report = ingest(
        &lake,
        &IngestOptions::new(Format::Jsonl, Some(SignalKind::Logs)),
        &src,
        no_progress(),
    )
    .await
    .unwrap();
    assert_eq!(report.files.len(), 1);
    let file = std::fs::File::open(dir.path().join("lake").join(&report.files[0])).unwrap();
    let reader =
        datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
    let mut ts = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        let col = batch
            .column(0)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::TimestampNanosecondArray>()
            .unwrap();
        ts.extend(col.values().iter().copied());
    }
    assert_eq!(ts.len(), 2000);
    assert!(
        ts.windows(2).all(|w| w[0] <= w[1]),
        "the file is sorted by ts"
    );
}
