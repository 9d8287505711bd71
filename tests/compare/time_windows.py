"""Compares sigfuse's time_bucket and time_bucket_gapfill + locf/interpolate with DuckDB.

DuckDB is the independent engine: its `time_bucket` (same TimescaleDB semantics) and, for gap
filling, which DuckDB lacks, the textbook formulation (a bucket grid cross joined with the
groups, left joined with the aggregate, filled with window functions). Random data per seed,
with duplicate timestamps, NULL keys, NULL values and buckets without rows.

Usage: python tests/compare/time_windows.py SIGFUSE_BIN [SEEDS]   (needs the duckdb package)
"""

import math
import subprocess
import sys
import tempfile

import duckdb

WIDTHS = ["7 minutes", "15 minutes", "1 hour", "1 day", "7 days", "1 month", "3 months"]
ZONES = ["America/New_York", "Europe/Berlin", "Asia/Kolkata"]


def make_data(con, seed, path):
    con.execute(f"SELECT setseed({seed / 100})")
    # Timestamps over ~14 months across DST changes, rounded to 10 s so ties are frequent.
    con.execute(
        f"""COPY (
          SELECT TIMESTAMP '2023-10-01 00:00:00' + to_seconds(CAST(floor(random() * 3.6e6) * 10 AS BIGINT)) AS ts,
                 CASE WHEN random() < 0.1 THEN NULL ELSE ['api', 'db', 'cache'][1 + CAST(floor(random() * 3) AS INT)] END AS svc,
                 CASE WHEN random() < 0.05 THEN NULL ELSE round(random() * 100, 3) END AS v
          FROM range(3000)
          UNION ALL SELECT NULL, 'api', 1.0
        ) TO '{path}' (FORMAT parquet)"""
    )


def sigfuse(bin_, path, sql):
    script = f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{path}'; {sql}"
    out = subprocess.run(
        [bin_, "query", "--lake", "memory://compare", "--format", "csv", script],
        check=True, capture_output=True, text=True,
    ).stdout
    lines = out.strip().splitlines()
    return [tuple(None if c == "" else c for c in line.split(",")) for line in lines[1:]]


def cell(c):
    if c is None:
        return None
    try:
        return float(c)
    except (TypeError, ValueError):
        return c


def same(x, y):
    if isinstance(x, float) and isinstance(y, float):
        return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
    return x == y


def check(name, ours, theirs, failures):
    # Rows are keyed by their first two columns (ts and bucket, or bucket and group).
    key = lambda r: tuple(repr(c) for c in r[:2])
    a = sorted((tuple(cell(c) for c in r) for r in ours), key=key)
    b = sorted((tuple(cell(c) for c in r) for r in theirs), key=key)
    diff = [(x, y) for x, y in zip(a, b) if len(x) != len(y) or not all(same(p, q) for p, q in zip(x, y))]
    if len(a) != len(b) or diff:
        failures.append(f"{name}: {len(a)} vs {len(b)} rows; first differences (sigfuse, duckdb): {diff[:5]}")
    return len(a)


def main():
    bin_ = sys.argv[1]
    seeds = [int(s) for s in sys.argv[2].split(",")] if len(sys.argv) > 2 else [1, 2, 3]
    failures, compared = [], 0
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            path = f"{tmp}/t{seed}.parquet"
            make_data(con, seed, path)
            con.execute(f"CREATE OR REPLACE VIEW t AS SELECT * FROM '{path}'")
            us = "arrow_cast({}, 'Int64')"
            # time_bucket: plain, with an origin, with an offset, with a time zone.
            cases = []
            for w in WIDTHS:
                cases.append((f"time_bucket {w}", f"time_bucket(INTERVAL '{w}', ts)", f"time_bucket(INTERVAL '{w}', ts)"))
                # For months, DuckDB keeps only the origin's month: compare on a month start
                # (sigfuse, like TimescaleDB, starts month buckets at the origin's day and time).
                origin = "2001-02-01 00:00:00" if "month" in w else "2001-02-03 04:05:06"
                cases.append((f"time_bucket {w} origin", f"time_bucket(INTERVAL '{w}', ts, TIMESTAMP '{origin}')",
                              f"time_bucket(INTERVAL '{w}', ts, TIMESTAMP '{origin}')"))
                if "month" not in w:
                    cases.append((f"time_bucket {w} offset", f"time_bucket(INTERVAL '{w}', ts, INTERVAL '5 minutes')",
                                  f"time_bucket(INTERVAL '{w}', ts, INTERVAL '5 minutes')"))
                # With a zone, DuckDB buckets sub-day widths on a fixed grid from the local
                # origin's instant; sigfuse (like TimescaleDB) on the local wall clock. They agree
                # when the width divides the zone's DST shift (1 hour), so compare those.
                zoned = "7 minutes" not in w
                for z in ZONES if zoned else ["Asia/Kolkata"]:
                    cases.append((f"time_bucket {w} {z}", f"time_bucket(INTERVAL '{w}', ts, '{z}')",
                                  f"time_bucket(INTERVAL '{w}', ts::TIMESTAMPTZ, '{z}')"))
            for name, ours, theirs in cases:
                o = sigfuse(bin_, path, f"SELECT {us.format('ts')}, {us.format(ours)} FROM t")
                d = con.execute(f"SELECT epoch_us(ts), epoch_us({theirs}) FROM t").fetchall()
                compared += check(f"seed {seed} {name}", o, d, failures)
            # Gap filling with locf and interpolate, per group, NULL group included.
            lo, hi = "TIMESTAMP '2024-01-01 00:00:00'", "TIMESTAMP '2024-01-03 00:00:00'"
            for w in ["5 minutes", "1 hour"]:
                ours = f"""SELECT {us.format('b')}, svc, a, lf, ip FROM (
                  SELECT time_bucket_gapfill(INTERVAL '{w}', ts) AS b, svc, avg(v) AS a,
                         locf(avg(v)) AS lf, interpolate(avg(v)) AS ip
                  FROM t WHERE ts >= {lo} AND ts < {hi} GROUP BY b, svc)"""
                theirs = f"""
                  WITH agg AS (SELECT time_bucket(INTERVAL '{w}', ts) AS b, svc, avg(v) AS a, true AS real
                               FROM t WHERE ts >= {lo} AND ts < {hi} GROUP BY ALL),
                  grid AS (SELECT unnest(generate_series(time_bucket(INTERVAL '{w}', {lo}),
                                  time_bucket(INTERVAL '{w}', {hi} - INTERVAL 1 MICROSECOND), INTERVAL '{w}')) AS b),
                  grp AS (SELECT DISTINCT svc FROM agg),
                  filled AS (SELECT g.b, s.svc, agg.a, agg.real FROM grid g CROSS JOIN grp s
                             LEFT JOIN agg ON agg.b = g.b AND agg.svc IS NOT DISTINCT FROM s.svc),
                  win AS (SELECT *,
                     last_value(a IGNORE NULLS) OVER (PARTITION BY svc ORDER BY b ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_a,
                     last_value(CASE WHEN a IS NOT NULL THEN b END IGNORE NULLS) OVER (PARTITION BY svc ORDER BY b ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_b,
                     first_value(a IGNORE NULLS) OVER (PARTITION BY svc ORDER BY b ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_a,
                     first_value(CASE WHEN a IS NOT NULL THEN b END IGNORE NULLS) OVER (PARTITION BY svc ORDER BY b ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_b
                   FROM filled)
                  SELECT epoch_us(b), svc, a,
                         CASE WHEN real THEN a ELSE prev_a END,
                         CASE WHEN real THEN a ELSE prev_a + (next_a - prev_a) * (epoch(b) - epoch(prev_b)) / (epoch(next_b) - epoch(prev_b)) END
                  FROM win"""
                o = sigfuse(bin_, path, ours)
                d = con.execute(theirs).fetchall()
                compared += check(f"seed {seed} gapfill {w}", o, d, failures)
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print(f"time_windows: {compared} rows agree with DuckDB {duckdb.__version__} ({len(seeds)} seeds)")


if __name__ == "__main__":
    main()
