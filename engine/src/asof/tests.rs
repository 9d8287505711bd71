//! SQL-level tests of ASOF JOIN through the engine's session: planning, rewriting, errors,
//! push-down and the plan's shape. The merge kernel's own tests are in `merge.rs`.

use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::common::Result;

use crate::{Engine, EngineConfig, split_statements};

async fn engine() -> Engine {
    let engine = Engine::open(&EngineConfig {
        lake: "memory://asof".into(),
        ..Default::default()
    })
    .unwrap();
    let setup = "
        CREATE TABLE l (id INT, k VARCHAR, ts TIMESTAMP) AS VALUES
          (1, 'a', TIMESTAMP '2024-01-01 00:00:10'), (2, 'a', TIMESTAMP '2024-01-01 00:00:30'),
          (3, 'b', TIMESTAMP '2024-01-01 00:00:05'), (4, NULL, TIMESTAMP '2024-01-01 00:00:30'),
          (5, 'a', NULL), (6, 'c', TIMESTAMP '2024-01-01 00:00:30');
        CREATE TABLE r (k VARCHAR, ts TIMESTAMP, v INT) AS VALUES
          ('a', TIMESTAMP '2024-01-01 00:00:20', 20), ('a', TIMESTAMP '2024-01-01 00:00:10', 10),
          ('b', TIMESTAMP '2024-01-01 00:00:06', 6), ('a', TIMESTAMP '2024-01-01 00:00:40', 40),
          (NULL, TIMESTAMP '2024-01-01 00:00:01', 99), ('a', NULL, 98);
    ";
    for s in split_statements(setup).unwrap() {
        let plan = engine.ctx().state().statement_to_plan(s).await.unwrap();
        engine
            .ctx()
            .execute_logical_plan(plan)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
    }
    engine
}

/// Runs a statement as `sigfuse query` does (split, rewrite, plan) and prints the result.
async fn run(engine: &Engine, sql: &str) -> Result<String> {
    let mut out = String::new();
    for s in split_statements(sql)? {
        let plan = engine.ctx().state().statement_to_plan(s).await?;
        let batches = engine
            .ctx()
            .execute_logical_plan(plan)
            .await?
            .collect()
            .await?;
        out += &pretty_format_batches(&batches)?.to_string();
    }
    Ok(out)
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(|l| l.trim().to_string()).collect()
}

#[tokio::test]
async fn each_left_row_gets_its_latest_preceding_right_row() {
    let e = engine().await;
    let got = run(
        &e,
        "SELECT l.id, r.v FROM l ASOF JOIN r MATCH_CONDITION (l.ts >= r.ts) ON l.k = r.k ORDER BY l.id",
    )
    .await
    .unwrap();
    assert_eq!(
        lines(&got),
        lines(
            "+----+----+
             | id | v  |
             +----+----+
             | 1  | 10 |
             | 2  | 20 |
             | 3  |    |
             | 4  |    |
             | 5  |    |
             | 6  |    |
             +----+----+"
        )
    );
}

#[tokio::test]
async fn reversed_conditions_other_directions_and_no_keys() {
    let e = engine().await;
    let q = |cond: &str, on: &str| {
        format!("SELECT l.id, r.v FROM l ASOF JOIN r MATCH_CONDITION ({cond}){on} ORDER BY l.id")
    };
    let forward = run(&e, &q("r.ts > l.ts", " ON l.k = r.k")).await.unwrap();
    let same = run(&e, &q("l.ts < r.ts", " ON r.k = l.k")).await.unwrap();
    assert_eq!(forward, same);
    assert!(forward.contains("| 1  | 20 |"), "{forward}");
    assert!(forward.contains("| 2  | 40 |"), "{forward}");
    assert!(forward.contains("| 3  | 6  |"), "{forward}");
    let no_keys = run(&e, &q("l.ts >= r.ts", "")).await.unwrap();
    // Without keys, id 3 (00:00:05) sees the NULL-key row at 00:00:01; id 6 the 'a' row at 20 s.
    assert!(no_keys.contains("| 3  | 99 |"), "{no_keys}");
    assert!(no_keys.contains("| 6  | 20 |"), "{no_keys}");
}

#[tokio::test]
async fn explain_shows_the_operator_sorts_and_pushed_filters() {
    let e = engine().await;
    let plan = run(
        &e,
        "EXPLAIN SELECT l.id, r.v FROM l ASOF JOIN r MATCH_CONDITION (l.ts >= r.ts) ON l.k = r.k WHERE l.id > 1 AND r.v > 0",
    )
    .await
    .unwrap();
    assert!(plan.contains("AsofJoinExec: mode=>=, on=[(k@"), "{plan}");
    assert!(
        plan.contains("AsofJoin: match=[l.ts >= r.ts], on=[(l.k, r.k)]"),
        "{plan}"
    );
    // The inputs are sorted by their ts alone, never by the keys.
    let sorts: Vec<&str> = plan.lines().filter(|l| l.contains("SortExec")).collect();
    assert!(!sorts.is_empty(), "{plan}");
    for sort in sorts {
        assert!(sort.contains("expr=[ts@") && !sort.contains("k@"), "{plan}");
    }
    // The left-only term is below the join, the right one stays above it.
    let logical: Vec<&str> = plan
        .lines()
        .take_while(|l| !l.contains("physical_plan"))
        .collect();
    let join_at = logical
        .iter()
        .position(|l| l.contains("AsofJoin:"))
        .unwrap();
    let left_filter = logical
        .iter()
        .position(|l| l.contains("l.id > Int32(1)"))
        .unwrap();
    let right_filter = logical
        .iter()
        .position(|l| l.contains("r.v > Int32(0)"))
        .unwrap();
    assert!(left_filter > join_at && right_filter < join_at, "{plan}");
    let got = run(
        &e,
        "SELECT l.id, r.v FROM l ASOF JOIN r MATCH_CONDITION (l.ts >= r.ts) ON l.k = r.k WHERE l.id > 1 AND r.v > 10 ORDER BY 1",
    )
    .await
    .unwrap();
    assert_eq!(
        lines(&got)[3..5],
        ["| 2  | 20 |".to_string(), "+----+----+".to_string()]
    );
}

#[tokio::test]
async fn asof_joins_chain_with_other_joins_aliases_and_subqueries() {
    let e = engine().await;
    let got = run(
        &e,
        "SELECT x.id, x.v, y.v AS w FROM (
           (SELECT * FROM l WHERE id < 3) a ASOF JOIN r MATCH_CONDITION (a.ts >= r.ts) ON a.k = r.k
         ) AS x
         JOIN l l2 ON l2.id = x.id
         ASOF JOIN r y MATCH_CONDITION (l2.ts <= y.ts) ON l2.k = y.k
         UNION ALL SELECT 0, 0, 0 ORDER BY 1",
    )
    .await
    .unwrap();
    assert_eq!(
        lines(&got)[3..6],
        ["| 0  | 0  | 0  |", "| 1  | 10 | 10 |", "| 2  | 20 | 40 |"].map(String::from)
    );
}

#[tokio::test]
async fn the_parenthesized_form_plans_without_the_rewrite() {
    let e = engine().await;
    let batches = e
        .ctx()
        .sql("SELECT count(r.v) AS n FROM (l ASOF JOIN r MATCH_CONDITION (l.ts >= r.ts) ON l.k = r.k)")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert!(
        pretty_format_batches(&batches)
            .unwrap()
            .to_string()
            .contains("| 2 |")
    );
}

#[tokio::test]
async fn inputs_in_declared_ts_order_need_no_sort_and_a_false_declaration_is_an_error() {
    let e = engine().await;
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let (sorted, unsorted) = (path("sorted.parquet"), path("unsorted.parquet"));
    run(
        &e,
        &format!(
            "COPY (SELECT * FROM r WHERE ts IS NOT NULL ORDER BY ts) TO '{sorted}' STORED AS PARQUET;
             COPY (SELECT * FROM r WHERE ts IS NOT NULL ORDER BY v DESC) TO '{unsorted}' STORED AS PARQUET;
             CREATE EXTERNAL TABLE rs STORED AS PARQUET WITH ORDER (ts ASC NULLS LAST) LOCATION '{sorted}';
             CREATE EXTERNAL TABLE ru STORED AS PARQUET WITH ORDER (ts ASC NULLS LAST) LOCATION '{unsorted}';"
        ),
    )
    .await
    .unwrap();
    let q = |t: &str| {
        format!(
            "SELECT l.id, x.v FROM (SELECT * FROM l ORDER BY ts) l \
             ASOF JOIN {t} x MATCH_CONDITION (l.ts >= x.ts) ON l.k = x.k ORDER BY 1"
        )
    };
    let plan = run(&e, &format!("EXPLAIN {}", q("rs"))).await.unwrap();
    let physical = &plan[plan.find("physical_plan").unwrap()..];
    let join = physical.find("AsofJoinExec").unwrap();
    // Under the join: one sort (the subquery's ORDER BY), none for the declared table.
    assert_eq!(physical[join..].matches("SortExec").count(), 1, "{plan}");
    let got = run(&e, &q("rs")).await.unwrap();
    assert!(
        got.contains("| 1  | 10 |") && got.contains("| 2  | 20 |"),
        "{got}"
    );
    let err = run(&e, &q("ru")).await.unwrap_err().to_string();
    assert!(
        err.contains("not in the ts order its plan declares"),
        "{err}"
    );
}

#[test]
fn the_text_rewrite_is_idempotent_and_skips_other_statements() {
    assert_eq!(crate::rewrite_sql("SELECT 1"), None);
    assert_eq!(crate::rewrite_sql("SELECT asof FROM t"), None);
    let once = crate::rewrite_sql(
        "SELECT * FROM a JOIN b ON a.x = b.x ASOF JOIN c MATCH_CONDITION (a.t >= c.t) JOIN d ON true",
    )
    .unwrap();
    assert_eq!(
        once,
        "SELECT * FROM (a JOIN b ON a.x = b.x ASOF JOIN c MATCH_CONDITION (a.t >= c.t)) JOIN d ON true"
    );
    assert_eq!(crate::rewrite_sql(&once), None);
}

#[tokio::test]
async fn mistakes_are_plan_errors_that_say_what_was_expected() {
    let e = engine().await;
    let err = |sql: &'static str| {
        let e = &e;
        async move { run(e, sql).await.unwrap_err().to_string() }
    };
    let m = err("SELECT * FROM l ASOF JOIN r MATCH_CONDITION (l.ts = r.ts) ON l.k = r.k").await;
    assert!(
        m.contains("MATCH_CONDITION must compare with >=, >, <= or <, got ="),
        "{m}"
    );
    let m = err("SELECT * FROM l ASOF JOIN r MATCH_CONDITION (l.ts >= l.ts)").await;
    assert!(
        m.contains("a column of the left input with one of the right input"),
        "{m}"
    );
    let m = err("SELECT * FROM l ASOF JOIN r MATCH_CONDITION (l.ts >= r.ts AND l.id > 0)").await;
    assert!(m.contains("must be one comparison"), "{m}");
    let m = err("SELECT * FROM l ASOF JOIN r MATCH_CONDITION (l.ts >= r.ts) ON l.k <> r.k").await;
    assert!(m.contains("ON must be equalities"), "{m}");
    let m = err("SELECT * FROM l ASOF JOIN r MATCH_CONDITION (l.ts >= r.ts) ON l.k = l.k").await;
    assert!(
        m.contains("each ON equality must compare a left column with a right column"),
        "{m}"
    );
    let m = err("SELECT * FROM l ASOF JOIN r MATCH_CONDITION (l.ts >= r.k)").await;
    assert!(
        m.contains("MATCH_CONDITION cannot compare l.ts (Timestamp(ns)) with r.k"),
        "{m}"
    );
    let m = err("SELECT * FROM l ASOF JOIN r MATCH_CONDITION (l.ts >= r.ts) USING (k)").await;
    assert!(m.contains("USING is not supported"), "{m}");
}
