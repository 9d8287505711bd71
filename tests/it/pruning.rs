//! Time predicates prune: proven with the physical plan's files and pruning metrics.

use std::sync::Arc;

use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_plan::metrics::MetricValue;
use datafusion::physical_plan::{ExecutionPlan, collect};
use sigfuse_storage::{Lake, WriterOptions};

use crate::common::{engine, write_logs};

/// Files the plan's scans will open, and (pruned, matched) row groups after running.
struct ScanStats {
    files: usize,
    row_groups_pruned: usize,
    row_groups_matched: usize,
}

fn scan_stats(plan: &Arc<dyn ExecutionPlan>, stats: &mut ScanStats) {
    if let Some(ds) = plan.downcast_ref::<DataSourceExec>() {
        if let Some(config) = ds.data_source().downcast_ref::<FileScanConfig>() {
            stats.files += config.file_groups.iter().map(|g| g.len()).sum::<usize>();
        }
        if let Some(metrics) = plan.metrics() {
            for m in metrics.iter() {
                if let MetricValue::PruningMetrics {
                    name,
                    pruning_metrics,
                } = m.value()
                    && name == "row_groups_pruned_statistics"
                {
                    stats.row_groups_pruned += pruning_metrics.pruned();
                    stats.row_groups_matched += pruning_metrics.matched();
                }
            }
        }
    }
    for child in plan.children() {
        scan_stats(child, stats);
    }
}

async fn run(engine: &sigfuse_engine::Engine, sql: &str) -> (i64, ScanStats) {
    let df = engine.ctx().sql(sql).await.unwrap();
    let plan = df.create_physical_plan().await.unwrap();
    let batches = collect(Arc::clone(&plan), engine.ctx().task_ctx())
        .await
        .unwrap();
    let count = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<datafusion::arrow::array::Int64Array>()
        .unwrap()
        .value(0);
    let mut stats = ScanStats {
        files: 0,
        row_groups_pruned: 0,
        row_groups_matched: 0,
    };
    scan_stats(&plan, &mut stats);
    (count, stats)
}

#[tokio::test]
async fn one_hour_of_a_24_hour_lake_reads_one_file_and_prunes_row_groups() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    // One row every 2 s: 1,800 rows an hour in row groups of 300, i.e. 6 per hourly file.
    let options = WriterOptions {
        max_row_group_rows: 300,
        ..Default::default()
    };
    assert_eq!(write_logs(&lake, 24, 2, options).await, 24 * 1800);
    let engine = engine(&lake);

    let (all, stats) = run(
        &engine,
        "SELECT count(*) FROM logs WHERE body LIKE 'request%'",
    )
    .await;
    assert_eq!(all, 24 * 1800);
    assert_eq!(stats.files, 24);

    let (hour, stats) = run(
        &engine,
        "SELECT count(*) FROM logs WHERE ts >= '2024-06-03T05:00:00Z' AND ts < '2024-06-03T06:00:00Z' AND body LIKE 'request%'",
    )
    .await;
    assert_eq!(hour, 1800);
    assert_eq!(
        stats.files, 1,
        "an hour's query must list and open one hourly file"
    );

    // Ten minutes inside that hour: the file's other row groups are pruned on ts statistics.
    let (ten, stats) = run(
        &engine,
        "SELECT count(*) FROM logs WHERE ts BETWEEN '2024-06-03T05:20:00Z' AND '2024-06-03T05:29:59Z' AND body LIKE 'request%'",
    )
    .await;
    assert_eq!(ten, 300);
    assert_eq!(stats.files, 1);
    assert!(
        stats.row_groups_pruned >= 4,
        "pruned {} matched {}",
        stats.row_groups_pruned,
        stats.row_groups_matched
    );
    assert!(stats.row_groups_matched <= 2);

    // Ranges that span midnight list both days' hours; an empty range reads nothing.
    let (span, stats) = run(
        &engine,
        "SELECT count(*) FROM logs WHERE ts >= '2024-06-03T22:30:00Z' AND ts < '2024-06-04T00:30:00Z'",
    )
    .await;
    assert_eq!(span, 2700);
    assert_eq!(stats.files, 2);
    let (none, stats) = run(
        &engine,
        "SELECT count(*) FROM logs WHERE ts > '2030-01-01T00:00:00Z' AND ts < '2030-01-02T00:00:00Z'",
    )
    .await;
    assert_eq!(none, 0);
    assert_eq!(stats.files, 0);
    // An open-ended range lists every folder, and the ts statistics then skip every row group.
    let (none, stats) = run(
        &engine,
        "SELECT count(*) FROM logs WHERE ts > '2030-01-01T00:00:00Z'",
    )
    .await;
    assert_eq!(none, 0);
    assert_eq!(stats.row_groups_matched, 0);
}

#[tokio::test]
async fn files_are_sorted_by_ts_with_statistics_so_ordered_scans_need_no_sort() {
    let lake = Lake::open("memory://sorted").unwrap();
    write_logs(&lake, 2, 7, WriterOptions::default()).await;
    let engine = engine(&lake);
    let df = engine.ctx().sql("SELECT ts FROM logs WHERE ts >= '2024-06-03T00:10:00Z' AND ts < '2024-06-03T00:20:00Z' ORDER BY ts").await.unwrap();
    let plan = df.create_physical_plan().await.unwrap();
    let text = datafusion::physical_plan::displayable(plan.as_ref())
        .indent(true)
        .to_string();
    assert!(text.contains("output_ordering=[ts@0 ASC"), "{text}");
    assert!(!text.contains("SortExec"), "{text}");
}

#[tokio::test]
async fn signal_windows_filtered_on_window_start_or_end_reads_only_the_hours_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    assert_eq!(
        write_logs(&lake, 24, 2, WriterOptions::default()).await,
        24 * 1800
    );
    let engine = engine(&lake);
    let lines = "SELECT sum(log_lines) FROM signal_windows";

    // The filter stops at the full joins that build the windows: the function narrows its own
    // scans to the rows those windows can hold.
    let (hour, stats) = run(
        &engine,
        &format!(
            "{lines}(INTERVAL '1 minute') WHERE window_start >= '2024-06-03T05:00:00Z' \
             AND window_start < '2024-06-03T06:00:00Z'"
        ),
    )
    .await;
    assert_eq!(hour, 1800);
    assert_eq!(
        stats.files, 1,
        "one hour of windows must open one hourly file"
    );

    // window_end bounds the starts a width earlier: the windows ending in [05:00, 06:00) start
    // at 04:59 to 05:58, whose rows lie in two hourly files.
    let (hour, stats) = run(
        &engine,
        &format!(
            "{lines}(INTERVAL '1 minute') WHERE window_end >= '2024-06-03T05:00:00Z' \
             AND window_end < '2024-06-03T06:00:00Z'"
        ),
    )
    .await;
    assert_eq!(hour, 1800);
    assert_eq!(stats.files, 2);

    // Sliding windows: a window keeps all its rows (ten-minute windows every five minutes, the
    // first starting at 05:00 holds 05:00–05:10). BETWEEN, `=`, IN and OR bound both ends (an
    // OR by the range covering both sides); a filter that bounds nothing reads every hour,
    // with the same answer.
    for (filter, expected, files) in [
        (
            "window_start BETWEEN '2024-06-03T05:00:00Z' AND '2024-06-03T05:05:00Z'",
            600,
            1,
        ),
        (
            "window_start = '2024-06-03T05:00:00Z' OR window_start = '2024-06-03T05:05:00Z'",
            600,
            1,
        ),
        (
            "window_start IN ('2024-06-03T05:00:00Z', '2024-06-03T05:05:00Z') \
             OR window_start BETWEEN '2024-06-03T07:00:00Z' AND '2024-06-03T07:04:00Z'",
            900,
            3,
        ),
        (
            "window_start IN ('2024-06-03T05:00:00Z', '2024-06-03T05:05:00Z') \
             OR service = 'no such service'",
            600,
            24,
        ),
    ] {
        let (rows, stats) = run(
            &engine,
            &format!("{lines}(INTERVAL '10 minutes', INTERVAL '5 minutes') WHERE {filter}"),
        )
        .await;
        assert_eq!(rows, expected, "{filter}");
        assert_eq!(stats.files, files, "{filter}");
    }
    // The call's own since/until still apply.
    let (rows, stats) = run(
        &engine,
        &format!(
            "{lines}(INTERVAL '1 minute', INTERVAL '1 minute', TIMESTAMP '2024-06-03 05:30:00', \
             TIMESTAMP '2024-06-03 09:00:00') WHERE window_start >= '2024-06-03T05:00:00Z' \
             AND window_start < '2024-06-03T06:00:00Z'"
        ),
    )
    .await;
    assert_eq!(rows, 900);
    assert_eq!(stats.files, 1);
}
