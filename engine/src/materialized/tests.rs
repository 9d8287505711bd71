//! Materialized CTEs through the engine's session: the rewrite, the once-only computation, the
//! plan's shape, memory and re-execution.

use std::sync::Arc;

use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::common::Result;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::physical_plan::{ExecutionPlan, collect};

use super::MaterializedCteExec;
use crate::{Engine, EngineConfig, rewrite_sql, split_statements};

fn engine_with(memory_limit: Option<usize>) -> Engine {
    Engine::open(&EngineConfig {
        lake: "memory://materialized".into(),
        memory_limit,
        ..Default::default()
    })
    .unwrap()
}

/// Plans one statement as `sigfuse query` does (PostgreSQL dialect, rewritten).
async fn plan(engine: &Engine, sql: &str) -> Result<Arc<dyn ExecutionPlan>> {
    let [statement] = split_statements(sql)?.try_into().expect("one statement");
    let state = engine.ctx().state();
    let plan = state.statement_to_plan(statement).await?;
    state.create_physical_plan(&plan).await
}

async fn run(engine: &Engine, sql: &str) -> Result<String> {
    let batches = collect(plan(engine, sql).await?, engine.ctx().task_ctx()).await?;
    Ok(pretty_format_batches(&batches)?.to_string())
}

/// Copies of materialized CTEs in a plan, and how many of them ran their input (their input's
/// top operator recorded output rows).
fn copies(plan: &Arc<dyn ExecutionPlan>) -> (usize, usize) {
    let (mut copies, mut ran) = (0, 0);
    plan.apply(|node| {
        if let Some(m) = node.downcast_ref::<MaterializedCteExec>() {
            copies += 1;
            let input = m.children()[0];
            if input.metrics().and_then(|m| m.output_rows()).is_some() {
                ran += 1;
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .unwrap();
    (copies, ran)
}

#[test]
fn the_hint_is_rewritten_into_a_marked_derived_table() {
    assert_eq!(rewrite_sql("WITH x AS (SELECT 1) SELECT * FROM x"), None);
    assert_eq!(rewrite_sql("SELECT 'materialized'"), None);
    let once =
        rewrite_sql("WITH \"a b\" AS MATERIALIZED (SELECT 1 AS v) SELECT * FROM \"a b\"").unwrap();
    assert!(
        once.contains("\"__sigfuse_materialized a b\""),
        "rewritten: {once}"
    );
    assert!(!once.contains("AS MATERIALIZED"), "rewritten: {once}");
    // Idempotent: the rewritten text parses back to itself.
    assert_eq!(rewrite_sql(&once), None);
    let not = rewrite_sql("WITH x AS NOT MATERIALIZED (SELECT 1) SELECT * FROM x").unwrap();
    assert!(!not.contains("MATERIALIZED"), "rewritten: {not}");
}

#[tokio::test]
async fn the_body_runs_once_for_all_references() {
    let engine = engine_with(None);
    // random() differs per evaluation: inlined, the two references would disagree.
    let sql = "WITH x AS MATERIALIZED (SELECT random() AS r FROM generate_series(1, 1000)) \
               SELECT count(*) AS n, count(DISTINCT a.r) AS d FROM x a JOIN x b ON a.r = b.r";
    assert_eq!(
        run(&engine, sql).await.unwrap(),
        run(&engine, "SELECT 1000 AS n, 1000 AS d").await.unwrap()
    );
    let inlined = sql.replace("AS MATERIALIZED", "AS");
    assert_ne!(
        run(&engine, &inlined).await.unwrap(),
        run(&engine, "SELECT 1000 AS n, 1000 AS d").await.unwrap(),
        "random() inlined twice should not join 1000 rows to themselves"
    );

    let plan = plan(&engine, sql).await.unwrap();
    assert_eq!(copies(&plan), (2, 0));
    collect(Arc::clone(&plan), engine.ctx().task_ctx())
        .await
        .unwrap();
    assert_eq!(copies(&plan), (2, 1), "one copy's input ran");
}

#[tokio::test]
async fn answers_match_the_inlined_query() {
    let engine = engine_with(None);
    for sql in [
        // Filters, projections and aggregates of each reference stay above the body.
        "WITH x AS MATERIALIZED (SELECT v, v % 7 AS k FROM generate_series(1, 5000) AS t(v)) \
         SELECT a.k, count(*), sum(b.v) FROM x a JOIN x b ON a.v = b.v + 1 WHERE a.k > 2 \
         GROUP BY a.k ORDER BY a.k",
        // A materialized CTE read by another one, and a limit above a reference.
        "WITH x AS MATERIALIZED (SELECT v FROM generate_series(1, 100) AS t(v)), \
         y AS MATERIALIZED (SELECT v * 2 AS w FROM x WHERE v > 50) \
         SELECT (SELECT count(*) FROM y), (SELECT max(v) FROM x), (SELECT min(w) FROM y)",
        "WITH x AS MATERIALIZED (SELECT v FROM generate_series(1, 100) AS t(v)) \
         SELECT v FROM x ORDER BY v DESC LIMIT 3",
        // Read once, and empty.
        "WITH x AS MATERIALIZED (SELECT v FROM generate_series(1, 10) AS t(v) WHERE v > 99) \
         SELECT count(*) FROM x",
    ] {
        let inlined = sql.replace("AS MATERIALIZED", "AS");
        assert_eq!(
            run(&engine, sql).await.unwrap(),
            run(&engine, &inlined).await.unwrap(),
            "{sql}"
        );
    }
}

#[tokio::test]
async fn explain_shows_the_node_and_not_materialized_inlines() {
    let engine = engine_with(None);
    let explain = run(
        &engine,
        "EXPLAIN WITH x AS MATERIALIZED (SELECT 1 AS v) SELECT * FROM x a, x b",
    )
    .await
    .unwrap();
    assert!(explain.contains("MaterializedCte: x"), "{explain}");
    assert!(explain.contains("MaterializedCteExec: x"), "{explain}");
    let explain = run(
        &engine,
        "EXPLAIN WITH x AS NOT MATERIALIZED (SELECT 1 AS v) SELECT * FROM x a, x b",
    )
    .await
    .unwrap();
    assert!(!explain.contains("MaterializedCte"), "{explain}");
}

#[tokio::test]
async fn the_rows_are_released_once_every_reference_has_read_them() {
    let engine = engine_with(None);
    let plan = plan(
        &engine,
        "WITH x AS MATERIALIZED (SELECT v FROM generate_series(1, 30000) AS t(v)) \
         SELECT count(*) FROM x a JOIN x b ON a.v = b.v",
    )
    .await
    .unwrap();
    let ctx = engine.ctx().task_ctx();
    let pool = Arc::clone(ctx.memory_pool());
    let batches = collect(Arc::clone(&plan), ctx).await.unwrap();
    let text = pretty_format_batches(&batches).unwrap().to_string();
    assert!(text.contains("| 30000 "), "{text}");
    // The plan is still alive; its buffer is not.
    assert_eq!(pool.reserved(), 0);
}

#[tokio::test]
async fn a_body_over_the_memory_limit_is_an_error_and_the_session_goes_on() {
    let engine = engine_with(Some(4 << 20));
    let err = run(
        &engine,
        "WITH x AS MATERIALIZED (SELECT v, repeat('x', 100) AS pad \
         FROM generate_series(1, 2000000) AS t(v)) \
         SELECT count(*) FROM x a JOIN x b ON a.v = b.v",
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("Resources exhausted") && text.contains("MaterializedCte[x]"),
        "{text}"
    );
    assert!(
        run(&engine, "SELECT 1 AS one")
            .await
            .unwrap()
            .contains("| 1 ")
    );
}
