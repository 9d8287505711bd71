//! Detection never reads labels: `root_cause` ranks the same whatever `_labels/` holds, and a
//! model's training read only signal-table files.

use std::path::Path;

use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::object_store::{ObjectStoreExt, PutPayload};
use sigfuse_engine::models::registry;
use sigfuse_engine::{Command, split_commands};
use sigfuse_storage::ingest::{Format, IngestOptions, ingest};
use sigfuse_storage::{Lake, SignalKind};

use crate::common::{engine, no_progress};

async fn fixture() -> Lake {
    let lake = Lake::open("memory://detect-labels").unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt/lake");
    for kind in SignalKind::ALL {
        let file = root.join(format!("{}.jsonl", kind.table_name()));
        ingest(
            &lake,
            &IngestOptions::new(Format::Jsonl, Some(kind)),
            &file.to_string_lossy(),
            no_progress(),
        )
        .await
        .unwrap();
    }
    lake
}

async fn put_labels(lake: &Lake, text: &str) {
    lake.store()
        .put(
            &lake.path("_labels/faults.json"),
            PutPayload::from(text.as_bytes().to_vec()),
        )
        .await
        .unwrap();
}

async fn ranking(lake: &Lake) -> String {
    let e = engine(lake);
    e.load_models().await.unwrap();
    let sql = "SELECT rank, service, score, evidence, explained_by FROM root_cause('m', \
               TIMESTAMP '2024-06-03 00:00:00', TIMESTAMP '2024-06-03 00:05:00') ORDER BY rank";
    let batches = e.sql(sql).await.unwrap().collect().await.unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoring_never_reads_labels() {
    let lake = fixture().await;
    put_labels(
        &lake,
        r#"{"faults": [{"service": "db", "inject_time": "2024-06-03T00:00:00Z"}]}"#,
    )
    .await;
    let e = engine(&lake);
    let Some(Command::CreateModel(cm)) = split_commands(
        "CREATE MODEL m KIND baseline AS SELECT * FROM signal_windows(INTERVAL '1 minute')",
    )
    .unwrap()
    .pop() else {
        panic!("CREATE MODEL not recognized");
    };
    e.create_model(&cm, "test").await.unwrap();
    let manifest = registry::read_manifest(&lake, "m", 1)
        .await
        .unwrap()
        .unwrap();
    assert!(!manifest.data.is_empty());
    for f in &manifest.data {
        assert!(
            SignalKind::ALL
                .iter()
                .any(|k| f.path.starts_with(&format!("{}/", k.table_name()))),
            "training read {}",
            f.path
        );
    }
    let with_labels = ranking(&lake).await;
    assert!(with_labels.contains("| 1    | api"), "{with_labels}");
    put_labels(
        &lake,
        r#"{"faults": [{"service": "api"}], "garbage": [1, 2, 3]}"#,
    )
    .await;
    assert_eq!(ranking(&lake).await, with_labels);
    lake.store()
        .delete(&lake.path("_labels/faults.json"))
        .await
        .unwrap();
    assert_eq!(ranking(&lake).await, with_labels);
}
