//! Runs every `tests/slt/<family>/*.slt` file (the `sqllogictest` crate) against an engine over a
//! fresh in-memory lake holding the small fixture in `tests/slt/lake/*.jsonl`, ingested with the
//! real JSON-lines adapter. `SIGFUSE_SLT_COMPLETE=1 cargo test --workspace slt` rewrites the
//! expected output (read the diff before committing); `SIGFUSE_SLT_FILTER=time_bucket` runs the
//! files whose path contains the text.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::DataFusionError;
use sigfuse_engine::{Command, Engine, EngineConfig, split_commands};
use sigfuse_storage::ingest::{Format, IngestOptions, ingest};
use sigfuse_storage::{Lake, SignalKind};
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType, Runner};

use crate::common::no_progress;

struct Db {
    engine: Engine,
}

#[derive(Debug)]
struct SltError(DataFusionError);

impl std::fmt::Display for SltError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The message without DataFusion's nesting prefixes, as a user reads it.
        write!(f, "{}", self.0.message())
    }
}

impl std::error::Error for SltError {}

fn column_type(t: &DataType) -> DefaultColumnType {
    if t.is_integer() {
        DefaultColumnType::Integer
    } else if t.is_floating() || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..)) {
        DefaultColumnType::FloatingPoint
    } else {
        DefaultColumnType::Text
    }
}

fn render(batches: &[RecordBatch]) -> Result<Vec<Vec<String>>, DataFusionError> {
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = formatters
                .iter()
                .map(|f| {
                    let text = f.value(row).to_string().trim_end().to_string();
                    if text.is_empty() {
                        "(empty)".to_string()
                    } else {
                        text
                    }
                })
                .collect();
            // A multi-line cell (an EXPLAIN plan) becomes one row per line, as expected output
            // is written one line per row.
            let lines: Vec<Vec<&str>> = cells.iter().map(|c| c.lines().collect()).collect();
            let height = lines.iter().map(Vec::len).max().unwrap_or(1).max(1);
            for k in 0..height {
                let parts = lines.iter().filter_map(|l| l.get(k).map(|s| s.to_string()));
                rows.push(parts.collect());
            }
        }
    }
    Ok(rows)
}

#[async_trait]
impl AsyncDB for Db {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        // Model statements as `sigfuse query` and the wire run them.
        let mut commands = split_commands(sql).map_err(SltError)?;
        let df = match (commands.pop(), commands.is_empty()) {
            (Some(Command::CreateModel(cm)), true) => {
                self.engine
                    .create_model(&cm, "slt")
                    .await
                    .map_err(SltError)?;
                return Ok(DBOutput::StatementComplete(0));
            }
            (
                Some(
                    c @ (Command::ShowModels
                    | Command::DropModel { .. }
                    | Command::AlterModelVersion { .. }),
                ),
                true,
            ) => match self.engine.model_command(&c).await.map_err(SltError)? {
                Some(df) => df,
                None => return Ok(DBOutput::StatementComplete(0)),
            },
            // Planned as `sigfuse query` plans it: parsed in the PostgreSQL dialect and
            // rewritten for ASOF joins and materialized CTEs by split_commands.
            (Some(Command::Sql(statement)), true) => {
                let state = self.engine.ctx().state();
                let plan = state
                    .statement_to_plan(*statement)
                    .await
                    .map_err(SltError)?;
                self.engine
                    .ctx()
                    .execute_logical_plan(plan)
                    .await
                    .map_err(SltError)?
            }
            _ => self.engine.sql(sql).await.map_err(SltError)?,
        };
        let schema = df.schema().as_arrow().clone();
        let batches = df.collect().await.map_err(SltError)?;
        if schema.fields().is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        let types = schema
            .fields()
            .iter()
            .map(|f| column_type(f.data_type()))
            .collect();
        Ok(DBOutput::Rows {
            types,
            rows: render(&batches).map_err(SltError)?,
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "sigfuse"
    }
}

fn slt_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            slt_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "slt") {
            out.push(path);
        }
    }
}

/// A lake in memory holding the fixture (one per file, so files cannot leak state).
async fn fixture_lake(root: &Path) -> Lake {
    let lake = Lake::open(&format!("memory://slt-{}", rand_suffix())).expect("memory lake");
    for kind in SignalKind::ALL {
        let file = root
            .join("lake")
            .join(format!("{}.jsonl", kind.table_name()));
        if file.exists() {
            let options = IngestOptions::new(Format::Jsonl, Some(kind));
            ingest(&lake, &options, &file.to_string_lossy(), no_progress())
                .await
                .unwrap_or_else(|e| panic!("ingest {}: {e}", file.display()));
        }
    }
    lake
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files = Vec::new();
    slt_files(&root, &mut files);
    files.sort();
    let filter = std::env::var("SIGFUSE_SLT_FILTER").unwrap_or_default();
    files.retain(|f| f.to_string_lossy().contains(&filter));
    assert!(!files.is_empty(), "no .slt files under {}", root.display());
    let complete = std::env::var_os("SIGFUSE_SLT_COMPLETE").is_some();
    let mut failures = Vec::new();
    for file in &files {
        let lake = fixture_lake(&root).await;
        let engine = Engine::over(lake, &EngineConfig::default()).expect("engine");
        let mut runner = Runner::new(move || {
            let engine = engine.clone();
            async move { Ok(Db { engine }) }
        });
        if complete {
            runner
                .update_test_file(
                    file,
                    " ",
                    sqllogictest::default_validator,
                    sqllogictest::default_normalizer,
                    sqllogictest::strict_column_validator,
                )
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        } else if let Err(e) = runner.run_file_async(file).await {
            failures.push(format!("{}\n{}", file.display(), e.display(false)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} .slt file(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
