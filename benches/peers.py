#!/usr/bin/env python3
"""The peer benchmark of issue 6: six operations queries on one demo lake, sigfuse beside DuckDB,
plain DataFusion (the `datafusion` package) and Polars, all from PyPI. Run by benches/peers.sh.

    peers.py bench SIGFUSE_BIN LAKE RUNS [QUERY...]     the whole comparison, a table at the end
    peers.py worker ENGINE LAKE QUERY RUNS               one engine, one query (a child process)

What is timed: the query alone, warm. Each engine runs each query in one process RUNS + 1
times and the first run (cold: file listing, footers, page cache) is dropped.
- sigfuse: `sigfuse query --timing --format none "Q; Q; …"`; `--timing` is planning to the last
  row, `--format none` drains the result without formatting it.
- DuckDB: `con.sql(Q).to_arrow_table()` (the result as Arrow).
- DataFusion: `ctx.sql(Q).collect()` (Arrow record batches).
- Polars: building the lazy query and `.collect()` (a DataFrame).
Python start-up, imports and registering the tables are not timed.

Answers are compared after timing: each engine's last result (sigfuse's written to Parquet by
`sigfuse query --format parquet --out`) is reduced to a checksum (rows; per leaf column the
non-NULL count and the sum of values, string CRC32s or timestamps in microseconds; list
lengths), and every engine's must match sigfuse's: counts exactly, float sums to 1e-6 relative
(summation order and quantile interpolation differ in the last digits).
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zlib

QUERIES = ["q1_log_counts", "q2_span_latency", "q3_signal_windows", "q4_asof", "q5_trace_join", "q6_log_search"]
TITLES = {
    "q1_log_counts": "log lines per minute, service and severity",
    "q2_span_latency": "span latency p50/p95/p99 and error ratio per minute and service",
    "q3_signal_windows": "four modalities aligned per minute and service (signal_windows)",
    "q4_asof": "ASOF: every error span with the latest CPU sample of its service and host",
    "q5_trace_join": "error spans joined with their traces' ERROR/FATAL logs (trace_id)",
    "q6_log_search": "log bodies LIKE '%timeout%' over 20 minutes",
}
ENGINES = ["sigfuse", "duckdb", "datafusion", "polars"]
# The signal_windows columns q3 compares (every engine computes these).
Q3_COLUMNS = [
    "service", "window_start", "window_end", "log_lines", "log_trace", "log_debug", "log_info",
    "log_warn", "log_error", "log_fatal", "spans", "span_errors", "error_ratio", "latency_mean_ms",
    "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "span_inbound_gap_ms", "span_callees",
    "metric_samples", "metrics", "events", "event_kinds",
]
SEVERITIES = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
# signal_windows columns the peers' form of q3 does not compute (see sigfuse_run).
SIGFUSE_ONLY = ["log_templates", "log_templates_distinct"]


def lake_hour(lake):
    """The first hour of the lake (from its folder names: `logs/date=…/hour=…`)."""
    day = sorted(os.listdir(f"{lake}/logs"))[0].split("=")[1]
    hour = sorted(os.listdir(f"{lake}/logs/date={day}"))[0].split("=")[1]
    return f"{day} {hour}"


def search_range(lake):
    hour = lake_hour(lake)
    return f"{hour}:20:00+00:00", f"{hour}:40:00+00:00"


# ---------------------------------------------------------------- SQL, per dialect
# Three dialects: sigfuse (time_bucket, signal_windows, ASOF JOIN), plain DataFusion (date_bin,
# the window formulation of ASOF), DuckDB (time_bucket on TIMESTAMPTZ, ASOF LEFT JOIN).


def minute(dialect, ts="ts"):
    return {
        "sigfuse": f"time_bucket(INTERVAL '1 minute', {ts})",
        "datafusion": f"date_bin(INTERVAL '1 minute', {ts})",
        # DuckDB reads ts as TIMESTAMPTZ_NS, which its time functions do not take.
        "duckdb": f"time_bucket(INTERVAL '1 minute', {ts}::TIMESTAMPTZ)",
    }[dialect]


def ts_lit(dialect, v):
    # DuckDB compares its TIMESTAMPTZ_NS column only with the same type.
    return f"CAST('{v}' AS TIMESTAMPTZ_NS)" if dialect == "duckdb" else f"TIMESTAMP '{v}'"


def quantile(dialect, q, col="duration_ns"):
    """The exact quantile with linear interpolation (PostgreSQL's percentile_cont)."""
    if dialect == "duckdb":
        return f"quantile_cont({col}, {q})"
    return f"percentile_cont({q}) WITHIN GROUP (ORDER BY {col})"


def windows_sql(dialect):
    """The peers' form of `signal_windows(INTERVAL '1 minute')`: the query that function builds
    (udfs/src/time/signal_windows.rs), column for column."""
    m = minute(dialect)
    sev = ", ".join(f"count(*) FILTER (WHERE upper(severity) = '{s}') AS log_{s.lower()}" for s in SEVERITIES)
    lcols = ", ".join(f"l.log_{s.lower()}" for s in SEVERITIES)
    lnames = ", ".join(f"log_{s.lower()}" for s in SEVERITIES)
    q = {p: quantile(dialect, p) for p in ("0.5", "0.95", "0.99")}
    if dialect == "duckdb":
        last = "arg_max(value, ts)"
        metric = "list(struct_pack(name := name, mean := mean, min := min, max := max, last := last, samples := samples) ORDER BY name)"
        kind = "list(struct_pack(kind := kind, count := n) ORDER BY kind)"
        callees = "list(struct_pack(service := callee, calls := n) ORDER BY callee)"
    else:
        # DataFusion 55.0's array_agg(struct ORDER BY …) runs out of memory here (it took
        # > 6 GB on this lake); sorting the aggregated list gives the same answer, as the name
        # (the kind) leads the struct and is unique in its group.
        last = "last_value(value ORDER BY ts)"
        metric = "array_sort(array_agg(named_struct('name', name, 'mean', mean, 'min', min, 'max', max, 'last', last, 'samples', samples)))"
        kind = "array_sort(array_agg(named_struct('kind', kind, 'count', n)))"
        callees = "array_sort(array_agg(named_struct('service', callee, 'calls', n)))"
    return f"""
WITH l AS (SELECT service, {m} AS window_start, count(*) AS log_lines, {sev}
           FROM logs GROUP BY 1, 2),
s AS (SELECT service, {m} AS window_start, count(*) AS spans,
             count(*) FILTER (WHERE status = 'ERROR') AS span_errors,
             avg(duration_ns) / 1e6 AS latency_mean_ms,
             {q['0.5']} / 1e6 AS latency_p50_ms, {q['0.95']} / 1e6 AS latency_p95_ms,
             {q['0.99']} / 1e6 AS latency_p99_ms
      FROM spans GROUP BY 1, 2),
c AS (SELECT p.service AS caller, ch.service AS callee, {minute(dialect, "ch.ts")} AS window_start,
             p.duration_ns - ch.duration_ns AS gap_ns
      FROM spans ch JOIN (SELECT trace_id, span_id, service, duration_ns FROM spans) p
        ON ch.trace_id = p.trace_id AND ch.parent_span_id = p.span_id
      WHERE ch.service <> p.service),
oc AS (SELECT caller AS service, window_start, {callees} AS span_callees
       FROM (SELECT caller, callee, window_start, count(*) AS n FROM c GROUP BY caller, callee, window_start)
       GROUP BY caller, window_start),
ig AS (SELECT callee AS service, window_start, {quantile(dialect, "0.5", "gap_ns")} / 1e6 AS span_inbound_gap_ms
       FROM c GROUP BY callee, window_start),
s2 AS (SELECT s.*, oc.span_callees, ig.span_inbound_gap_ms FROM s
       LEFT JOIN oc ON s.service = oc.service AND s.window_start = oc.window_start
       LEFT JOIN ig ON s.service = ig.service AND s.window_start = ig.window_start),
m1 AS (SELECT service, {m} AS window_start, name, avg(value) AS mean, min(value) AS min,
              max(value) AS max, {last} AS last, count(*) AS samples
       FROM metrics GROUP BY 1, 2, 3),
m AS (SELECT service, window_start, sum(samples) AS metric_samples, {metric} AS metrics
      FROM m1 GROUP BY service, window_start),
e1 AS (SELECT service, {m} AS window_start, kind, count(*) AS n FROM events GROUP BY 1, 2, 3),
e AS (SELECT service, window_start, sum(n) AS events, {kind} AS event_kinds
      FROM e1 GROUP BY service, window_start),
j1 AS (SELECT coalesce(l.service, s.service) AS service, coalesce(l.window_start, s.window_start) AS window_start,
              l.log_lines, {lcols}, s.spans, s.span_errors, s.latency_mean_ms, s.latency_p50_ms,
              s.latency_p95_ms, s.latency_p99_ms, s.span_inbound_gap_ms, s.span_callees
       FROM l FULL JOIN s2 AS s ON l.service = s.service AND l.window_start = s.window_start),
j2 AS (SELECT coalesce(j1.service, m.service) AS service, coalesce(j1.window_start, m.window_start) AS window_start,
              j1.* EXCLUDE (service, window_start), m.metric_samples, m.metrics
       FROM j1 FULL JOIN m ON j1.service = m.service AND j1.window_start = m.window_start)
SELECT coalesce(j2.service, e.service) AS service,
       coalesce(j2.window_start, e.window_start) AS window_start,
       coalesce(j2.window_start, e.window_start) + INTERVAL '1 minute' AS window_end,
       log_lines, {lnames}, spans, span_errors, CAST(span_errors AS DOUBLE) / spans AS error_ratio,
       latency_mean_ms, latency_p50_ms, latency_p95_ms, latency_p99_ms,
       span_inbound_gap_ms, span_callees, metric_samples, metrics, e.events, e.event_kinds
FROM j2 FULL JOIN e ON j2.service = e.service AND j2.window_start = e.window_start"""


def sql(dialect, query, lake):
    m = minute(dialect)
    if query == "q1_log_counts":
        return f"SELECT {m} AS minute, service, severity, count(*) AS lines FROM logs GROUP BY 1, 2, 3"
    if query == "q2_span_latency":
        q = [quantile(dialect, p) for p in ("0.5", "0.95", "0.99")]
        return f"""SELECT {m} AS minute, service, count(*) AS spans,
  {q[0]} / 1e6 AS p50_ms, {q[1]} / 1e6 AS p95_ms, {q[2]} / 1e6 AS p99_ms,
  CAST(count(*) FILTER (WHERE status = 'ERROR') AS DOUBLE) / count(*) AS error_ratio
FROM spans GROUP BY 1, 2"""
    if query == "q3_signal_windows":
        if dialect == "sigfuse":
            # The columns the peers' formulation computes: signal_windows has more (per
            # operation, per host, change recency, ...), which the planner leaves out here.
            return f"SELECT {', '.join(Q3_COLUMNS)} FROM signal_windows(INTERVAL '1 minute')"
        return windows_sql(dialect)
    if query == "q4_asof":
        cpu = "(SELECT ts, service, host, value FROM metrics WHERE name = 'cpu_usage_cores')"
        if dialect == "sigfuse":
            return f"""SELECT count(*) AS n, count(m.value) AS matched, sum(m.value) AS cpu_sum
FROM spans s ASOF JOIN {cpu} m MATCH_CONDITION (s.ts >= m.ts) ON s.service = m.service AND s.host = m.host
WHERE s.status = 'ERROR'"""
        if dialect == "duckdb":
            return f"""SELECT count(*) AS n, count(m.value) AS matched, sum(m.value) AS cpu_sum
FROM (SELECT ts, service, host FROM spans WHERE status = 'ERROR') s
ASOF LEFT JOIN {cpu} m ON s.service = m.service AND s.host = m.host AND s.ts >= m.ts"""
        # DataFusion has no ASOF join; its fastest formulation found (benches/asof_peers.py):
        # the last CPU value in (service, host) order by ts over the union of both inputs,
        # samples before spans at equal ts.
        return """WITH tagged AS (
  SELECT ts, service, host, 1 AS side, CAST(NULL AS DOUBLE) AS value FROM spans WHERE status = 'ERROR'
  UNION ALL
  SELECT ts, service, host, 0 AS side, value FROM metrics WHERE name = 'cpu_usage_cores'
), carried AS (
  SELECT side, last_value(value) IGNORE NULLS OVER (PARTITION BY service, host ORDER BY ts, side
           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cpu
  FROM tagged
)
SELECT count(*) AS n, count(cpu) AS matched, sum(cpu) AS cpu_sum FROM carried WHERE side = 1"""
    if query == "q5_trace_join":
        return """SELECT s.trace_id, s.span_id, s.service, s.operation, s.duration_ns,
  l.ts AS log_ts, l.service AS log_service, l.severity, l.body
FROM spans s JOIN logs l ON l.trace_id = s.trace_id
WHERE s.status = 'ERROR' AND l.severity IN ('ERROR', 'FATAL')"""
    if query == "q6_log_search":
        lo, hi = search_range(lake)
        return f"""SELECT ts, service, host, severity, body FROM logs
WHERE ts >= {ts_lit(dialect, lo)} AND ts < {ts_lit(dialect, hi)} AND body LIKE '%timeout%'"""
    raise SystemExit(f"unknown query {query}")


# ---------------------------------------------------------------- Polars


def polars_query(query, lake):
    import polars as pl

    def scan(t):
        return pl.scan_parquet(f"{lake}/{t}/*/*/*.parquet", hive_partitioning=False)

    minute = pl.col("ts").dt.truncate("1m")
    if query == "q1_log_counts":
        return scan("logs").group_by(minute.alias("minute"), "service", "severity").agg(pl.len().alias("lines"))
    if query == "q2_span_latency":
        d = pl.col("duration_ns")
        return scan("spans").group_by(minute.alias("minute"), "service").agg(
            pl.len().alias("spans"),
            *[(d.quantile(q, "linear") / 1e6).alias(f"p{n}_ms") for q, n in ((0.5, 50), (0.95, 95), (0.99, 99))],
            ((pl.col("status") == "ERROR").sum() / pl.len()).alias("error_ratio"),
        )
    if query == "q3_signal_windows":
        key = ["service", "window_start"]
        ws = minute.alias("window_start")
        sev = pl.col("severity").str.to_uppercase()
        l = scan("logs").group_by("service", ws).agg(
            pl.len().alias("log_lines"), *[(sev == s).sum().alias(f"log_{s.lower()}") for s in SEVERITIES]
        )
        d = pl.col("duration_ns")
        s = scan("spans").group_by("service", ws).agg(
            pl.len().alias("spans"),
            (pl.col("status") == "ERROR").sum().alias("span_errors"),
            (d.mean() / 1e6).alias("latency_mean_ms"),
            *[(d.quantile(q, "linear") / 1e6).alias(f"latency_p{n}_ms") for q, n in ((0.5, 50), (0.95, 95), (0.99, 99))],
        )
        # Calls across services: a child span joined with its parent (trace_id, parent_span_id).
        parent = scan("spans").select(
            "trace_id", pl.col("span_id").alias("parent_span_id"),
            pl.col("service").alias("caller"), pl.col("duration_ns").alias("parent_ns"),
        )
        c = (
            scan("spans")
            .select("trace_id", "parent_span_id", pl.col("service").alias("callee"), ws, "duration_ns")
            .join(parent, on=["trace_id", "parent_span_id"], how="inner")
            .filter(pl.col("callee") != pl.col("caller"))
            .with_columns((pl.col("parent_ns") - pl.col("duration_ns")).alias("gap_ns"))
        )
        oc = (
            c.group_by("caller", "window_start", "callee")
            .agg(pl.len().alias("calls"))
            .group_by("caller", "window_start")
            .agg(pl.struct(pl.col("callee").alias("service"), "calls").sort_by("callee").alias("span_callees"))
            .rename({"caller": "service"})
        )
        ig = c.group_by(pl.col("callee").alias("service"), "window_start").agg(
            (pl.col("gap_ns").quantile(0.5, "linear") / 1e6).alias("span_inbound_gap_ms")
        )
        s = s.join(oc, on=key, how="left").join(ig, on=key, how="left")
        v = pl.col("value")
        m = (
            scan("metrics")
            .group_by("service", ws, "name")
            .agg(
                v.mean().alias("mean"), v.min().alias("min"), v.max().alias("max"),
                v.sort_by("ts").last().alias("last"), pl.len().alias("samples"),
            )
            .group_by(key)
            .agg(
                pl.col("samples").sum().alias("metric_samples"),
                pl.struct("name", "mean", "min", "max", "last", "samples").sort_by("name").alias("metrics"),
            )
        )
        e = (
            scan("events")
            .group_by("service", ws, "kind")
            .agg(pl.len().alias("n"))
            .group_by(key)
            .agg(
                pl.col("n").sum().alias("events"),
                pl.struct("kind", pl.col("n").alias("count")).sort_by("kind").alias("event_kinds"),
            )
        )
        j = l.join(s, on=key, how="full", coalesce=True)
        j = j.join(m, on=key, how="full", coalesce=True)
        j = j.join(e, on=key, how="full", coalesce=True)
        cols = [f"log_{s.lower()}" for s in SEVERITIES]
        return j.select(
            "service", "window_start", (pl.col("window_start") + pl.duration(minutes=1)).alias("window_end"),
            "log_lines", *cols, "spans", "span_errors",
            (pl.col("span_errors") / pl.col("spans")).alias("error_ratio"),
            "latency_mean_ms", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms",
            "span_inbound_gap_ms", "span_callees", "metric_samples", "metrics", "events", "event_kinds",
        )
    if query == "q4_asof":
        s = scan("spans").filter(pl.col("status") == "ERROR").select("ts", "service", "host").sort("ts")
        m = scan("metrics").filter(pl.col("name") == "cpu_usage_cores").select("ts", "service", "host", "value").sort("ts")
        return s.join_asof(m, on="ts", by=["service", "host"], strategy="backward").select(
            pl.len().alias("n"), pl.col("value").count().alias("matched"), pl.col("value").sum().alias("cpu_sum")
        )
    if query == "q5_trace_join":
        s = scan("spans").filter(pl.col("status") == "ERROR").select("trace_id", "span_id", "service", "operation", "duration_ns")
        lg = scan("logs").filter(pl.col("severity").is_in(["ERROR", "FATAL"])).select(
            "trace_id", pl.col("ts").alias("log_ts"), pl.col("service").alias("log_service"), "severity", "body"
        )
        return s.join(lg, on="trace_id", how="inner").select(
            "trace_id", "span_id", "service", "operation", "duration_ns", "log_ts", "log_service", "severity", "body"
        )
    if query == "q6_log_search":
        from datetime import datetime

        lo, hi = (datetime.fromisoformat(t) for t in search_range(lake))
        return (
            scan("logs")
            .filter((pl.col("ts") >= lo) & (pl.col("ts") < hi) & pl.col("body").str.contains("timeout", literal=True))
            .select("ts", "service", "host", "severity", "body")
        )
    raise SystemExit(f"unknown query {query}")


# ---------------------------------------------------------------- one engine, one query


def worker(engine, lake, query, runs):
    """Runs the query runs + 1 times in this process; prints JSON {times, checksum}."""
    times = []
    if engine == "duckdb":
        import duckdb

        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        for t in ("logs", "spans", "metrics", "events"):
            con.execute(
                f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{lake}/{t}/*/*/*.parquet', hive_partitioning = false)"
            )
        text = sql("duckdb", query, lake)

        def run():
            return con.sql(text).to_arrow_table()

    elif engine == "datafusion":
        from datafusion import SessionContext

        ctx = SessionContext()
        for t in ("logs", "spans", "metrics", "events"):
            ctx.register_parquet(t, f"{lake}/{t}/", table_partition_cols=[("date", "string"), ("hour", "string")])
        text = sql("datafusion", query, lake)

        def run():
            return ctx.sql(text).collect()

    elif engine == "polars":

        def run():
            return polars_query(query, lake).collect()

    else:
        raise SystemExit(f"unknown engine {engine}")
    for _ in range(runs + 1):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    print(json.dumps({"times": times[1:], "checksum": checksum(to_arrow(result), query)}))


def to_arrow(result):
    import pyarrow as pa

    if isinstance(result, pa.Table):
        return result
    if isinstance(result, list):  # DataFusion record batches
        return pa.Table.from_batches(result) if result else pa.table({})
    return result.to_arrow()  # Polars


# ---------------------------------------------------------------- answers


def leaves(name, arr, out):
    """Flattens a column into (path, summary) pairs, the same for every engine's types."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = arr.type
    if pa.types.is_dictionary(t):
        arr, t = arr.cast(t.value_type), t.value_type
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        lengths = pc.list_value_length(arr)
        out.append((name + "[]", int(pc.sum(lengths).as_py() or 0)))
        leaves(name + "[]", pc.list_flatten(arr), out)
    elif pa.types.is_struct(t):
        for i in range(t.num_fields):
            leaves(f"{name}.{t.field(i).name}", pc.struct_field(arr, [i]), out)
    elif pa.types.is_timestamp(t):
        us = pc.cast(arr, pa.timestamp("us", t.tz), safe=False).cast(pa.int64())
        out.append((name, (len(us) - us.null_count, int(pc.sum(us).as_py() or 0))))
    elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        crc = sum(zlib.crc32(s.encode()) for s in arr.to_pylist() if s is not None)
        out.append((name, (len(arr) - arr.null_count, crc)))
    elif pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        total = pc.sum(arr.cast(pa.float64())).as_py()
        out.append((name, (len(arr) - arr.null_count, total or 0.0)))
    else:
        out.append((name, (len(arr) - arr.null_count, None)))


def checksum(table, query):
    out = [("rows", table.num_rows)]
    for i, name in enumerate(table.column_names):
        # Positions, not names: the engines name some columns differently.
        leaves(f"{i}:{name}", table.column(i).combine_chunks(), out)
    return out


def same(a, b, query):
    """Differences between two checksums (an empty list when they agree)."""
    if len(a) != len(b):
        return [f"{len(a)} vs {len(b)} checksum entries"]
    diffs = []
    for (name, x), (_, y) in zip(a, b):
        if isinstance(x, list):
            x, y = tuple(x), tuple(y)
        if not isinstance(x, tuple):
            if x != y:
                diffs.append(f"{name}: {x} vs {y}")
            continue
        if x[0] != y[0]:
            diffs.append(f"{name}: {x[0]} vs {y[0]} values")
        elif isinstance(x[1], float) or isinstance(y[1], float):
            if abs(x[1] - y[1]) > 1e-6 * max(abs(x[1]), abs(y[1]), 1e-12):
                diffs.append(f"{name}: sum {x[1]!r} vs {y[1]!r}")
        elif x[1] != y[1]:
            diffs.append(f"{name}: {x[1]} vs {y[1]}")
    return diffs


# ---------------------------------------------------------------- the comparison


def sigfuse_run(binary, lake, query, runs, tmp):
    text = sql("sigfuse", query, lake)
    script = ";\n".join([text] * (runs + 1))
    p = subprocess.run(
        [binary, "--lake", lake, "query", "--timing", "--format", "none", script],
        capture_output=True, text=True, check=True,
    )
    times = [float(line.split()[1]) / 1000 for line in p.stderr.splitlines() if line.startswith("Time:")]
    assert len(times) == runs + 1, p.stderr
    out = f"{tmp}/{query}.parquet"
    subprocess.run([binary, "--lake", lake, "query", "--format", "parquet", "--out", out, text],
                   capture_output=True, check=True)
    import pyarrow.parquet as pq

    table = pq.read_table(out)
    # The template columns need a log-template miner, which no peer has: they are timed (the
    # query computes them) but left out of the comparison.
    table = table.drop_columns([c for c in SIGFUSE_ONLY if c in table.column_names])
    return times[1:], checksum(table, query)


def bench(binary, lake, runs, queries):
    results = {}  # (query, engine) -> times
    answers = {}
    with tempfile.TemporaryDirectory() as tmp:
        for query in queries:
            for engine in ENGINES:
                if engine == "sigfuse":
                    times, cs = sigfuse_run(binary, lake, query, runs, tmp)
                else:
                    p = subprocess.run([sys.executable, __file__, "worker", engine, lake, query, str(runs)],
                                       capture_output=True, text=True)
                    if p.returncode != 0:
                        sys.exit(f"{engine} {query} failed:\n{p.stderr[-3000:]}")
                    r = json.loads(p.stdout)
                    times, cs = r["times"], r["checksum"]
                results[(query, engine)] = times
                answers[(query, engine)] = cs
                med = statistics.median(times) * 1e3
                print(f"{query:18} {engine:10} median {med:8.1f} ms  ({min(times) * 1e3:.1f}-{max(times) * 1e3:.1f})"
                      f"  rows {cs[0][1]}", file=sys.stderr, flush=True)
    ok = True
    for query in queries:
        for engine in ENGINES[1:]:
            d = same(answers[(query, "sigfuse")], answers[(query, engine)], query)
            if d:
                ok = False
                print(f"ANSWERS DIFFER: {query} sigfuse vs {engine}: " + "; ".join(d[:6]), file=sys.stderr)
    ms = lambda v: f"{statistics.median(v) * 1e3:.1f} ({min(v) * 1e3:.1f}–{max(v) * 1e3:.1f})"
    print(f"\n{runs} warm runs per engine and query (median (min–max), ms); ratio = sigfuse / fastest peer")
    print("| query | rows | " + " | ".join(ENGINES) + " | sigfuse / fastest peer |")
    print("|---|---|" + "---|" * len(ENGINES) + "---|")
    for query in queries:
        med = {e: statistics.median(results[(query, e)]) for e in ENGINES}
        peer = min(ENGINES[1:], key=lambda e: med[e])
        cells = [(f"**{ms(results[(query, e)])}**" if e == min(med, key=med.get) else ms(results[(query, e)]))
                 for e in ENGINES]
        print(f"| {query[:2]}: {TITLES[query]} | {answers[(query, 'sigfuse')][0][1]:,} | " + " | ".join(cells)
              + f" | {med['sigfuse'] / med[peer]:.2f}× ({peer}) |")
    print("answers: " + ("every engine agrees with sigfuse" if ok else "SOME DIFFER (see above)"))
    return 0 if ok else 1


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "worker":
        worker(sys.argv[2], sys.argv[3].rstrip("/"), sys.argv[4], int(sys.argv[5]))
    elif mode == "bench":
        qs = sys.argv[5:] or QUERIES
        sys.exit(bench(sys.argv[2], sys.argv[3].rstrip("/"), int(sys.argv[4]), qs))
    elif mode == "sql":  # peers.py sql DIALECT QUERY LAKE: print one query's text
        print(sql(sys.argv[2], sys.argv[3], sys.argv[4].rstrip("/")))
    else:
        sys.exit(__doc__)
