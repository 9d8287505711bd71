//! What every `CREATE MODEL` shares: running the training query while recording the files it
//! reads, and reporting progress.

use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::common::Result;
use datafusion::dataframe::DataFrame;
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_plan::{ExecutionPlan, SendableRecordBatchStream, execute_stream};

use super::registry::DataFile;

/// Starts the training query; returns its rows and the files its scans will read.
pub(super) async fn run(df: DataFrame) -> Result<(SendableRecordBatchStream, Vec<DataFile>)> {
    let task = Arc::new(df.task_ctx());
    let plan = df.create_physical_plan().await?;
    let mut files = Vec::new();
    scanned_files(&plan, &mut files);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files.dedup_by(|a, b| a.path == b.path);
    Ok((execute_stream(plan, task)?, files))
}

fn scanned_files(plan: &Arc<dyn ExecutionPlan>, out: &mut Vec<DataFile>) {
    if let Some(exec) = plan.downcast_ref::<DataSourceExec>()
        && let Some(config) = exec.data_source().downcast_ref::<FileScanConfig>()
    {
        for group in &config.file_groups {
            for f in group.files() {
                out.push(DataFile {
                    path: f.object_meta.location.to_string(),
                    size: f.object_meta.size,
                    e_tag: f.object_meta.e_tag.clone(),
                });
            }
        }
    }
    for child in plan.children() {
        scanned_files(child, out);
    }
}

/// Logs rows read every few seconds while a model trains.
pub(super) struct Progress {
    name: String,
    rows: u64,
    started: Instant,
    last: Instant,
}

impl Progress {
    pub(super) fn new(name: &str) -> Self {
        let now = Instant::now();
        log::info!("CREATE MODEL {name}: training");
        Self {
            name: name.to_string(),
            rows: 0,
            started: now,
            last: now,
        }
    }

    pub(super) fn rows(&mut self, n: usize) {
        self.rows += n as u64;
        if self.last.elapsed() >= Duration::from_secs(2) {
            self.last = Instant::now();
            log::info!(
                "CREATE MODEL {}: {} rows read in {:.1} s",
                self.name,
                self.rows,
                self.started.elapsed().as_secs_f64()
            );
        }
    }

    pub(super) fn total(&self) -> u64 {
        self.rows
    }
}
