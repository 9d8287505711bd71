#!/usr/bin/env python3
"""The ASOF bench query in one peer engine, timed inside the process (imports and start-up
excluded, which favours the peers: sigfuse is timed as a whole process by benches/asof.sh).

Usage: benches/asof_peers.py ENGINE LAKE     ENGINE: duckdb | datafusion | polars

The query: every error span with the latest CPU sample (metric cpu_usage_cores) at or before
its start, of the same service and host; answered as (spans, matched, sum of cpu) so that every
engine computes the whole join and the answers can be compared. Prints "seconds n matched sum".
"""

import sys
import time

engine, lake = sys.argv[1], sys.argv[2].rstrip("/")
spans = f"{lake}/spans/*/*/*.parquet"
metrics = f"{lake}/metrics/*/*/*.parquet"
CPU = "cpu_usage_cores"


def duckdb_run():
    import duckdb

    con = duckdb.connect()
    sql = f"""
        SELECT count(*), count(m.value), sum(m.value)
        FROM (SELECT ts, service, host FROM read_parquet('{spans}', hive_partitioning = false)
              WHERE status = 'ERROR') s
        ASOF LEFT JOIN (SELECT ts, service, host, value
                        FROM read_parquet('{metrics}', hive_partitioning = false)
                        WHERE name = '{CPU}') m
          ON s.service = m.service AND s.host = m.host AND s.ts >= m.ts"""
    start = time.perf_counter()
    row = con.execute(sql).fetchone()
    return time.perf_counter() - start, row


def datafusion_run():
    # DataFusion has no ASOF join; the fastest formulation found here is one window pass over
    # both inputs: the last non-NULL cpu value in (service, host) order by ts, samples sorting
    # before spans at equal ts (so a sample at the span's start counts, as `>=` says).
    # A range join (s.ts >= m.ts) + max(m.ts) + join back is far slower (every earlier sample
    # of the host per span).
    from datafusion import SessionContext

    ctx = SessionContext()
    ctx.register_parquet("spans", f"{lake}/spans/", table_partition_cols=[("date", "string"), ("hour", "string")])
    ctx.register_parquet("metrics", f"{lake}/metrics/", table_partition_cols=[("date", "string"), ("hour", "string")])
    sql = f"""
        WITH tagged AS (
          SELECT ts, service, host, 1 AS side, CAST(NULL AS DOUBLE) AS value
          FROM spans WHERE status = 'ERROR'
          UNION ALL
          SELECT ts, service, host, 0 AS side, value FROM metrics WHERE name = '{CPU}'
        ), carried AS (
          SELECT side, last_value(value) IGNORE NULLS OVER (
                   PARTITION BY service, host ORDER BY ts, side
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cpu
          FROM tagged
        )
        SELECT count(*), count(cpu), sum(cpu) FROM carried WHERE side = 1"""
    start = time.perf_counter()
    batches = ctx.sql(sql).collect()
    elapsed = time.perf_counter() - start
    row = tuple(batches[0].column(i)[0].as_py() for i in range(3))
    return elapsed, row


def polars_run():
    import polars as pl

    start = time.perf_counter()
    s = (
        pl.scan_parquet(spans, hive_partitioning=False)
        .filter(pl.col("status") == "ERROR")
        .select("ts", "service", "host")
        .sort("ts")
    )
    m = (
        pl.scan_parquet(metrics, hive_partitioning=False)
        .filter(pl.col("name") == CPU)
        .select("ts", "service", "host", "value")
        .sort("ts")
    )
    out = (
        s.join_asof(m, on="ts", by=["service", "host"], strategy="backward")
        .select(pl.len(), pl.col("value").count().alias("matched"), pl.col("value").sum().alias("sum"))
        .collect()
    )
    elapsed = time.perf_counter() - start
    return elapsed, tuple(out.row(0))


seconds, (n, matched, total) = {"duckdb": duckdb_run, "datafusion": datafusion_run, "polars": polars_run}[engine]()
print(f"{seconds:.4f} {n} {matched} {total:.6f}")
