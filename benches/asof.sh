#!/usr/bin/env bash
# ASOF JOIN benchmark: every error span with the latest CPU sample (cpu_usage_cores) at or before
# its start, of the same service and host, on a demo lake (1 hour, 40 services); sigfuse (release
# build, whole process timed) beside DuckDB ASOF JOIN, plain DataFusion (PyPI; a window
# formulation) and Polars join_asof (PyPI), each timed inside its process (benches/asof_peers.py).
# Runs are interleaved; the answers (spans, matched, sum of cpu) must agree.
#
#   benches/asof.sh [RUNS]                       (default 7 runs)
#   benches/asof.sh memory [LEFT_ROWS RIGHT_ROWS] [LIMIT_MB]
#       the same join over generated Parquet (default 50M x 5M rows, 2048 MiB limit):
#       sigfuse --memory-limit-mb LIMIT_MB, peak RSS from /usr/bin/time -v, and DuckDB's answer.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sigfuse-target}"
venv="${SIGFUSE_BENCH_VENV:-$HOME/.cache/sigfuse-bench-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import duckdb, datafusion, polars, pyarrow' 2>/dev/null ||
  "$venv/bin/pip" install -q duckdb datafusion polars pyarrow
py="$venv/bin/python"
# SIGFUSE_BIN: a binary built elsewhere (the shared target dir's release/sigfuse is whichever
# worktree linked last).
bin="${SIGFUSE_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --release --bin sigfuse >&2
  bin="$CARGO_TARGET_DIR/release/sigfuse"
fi
work="${SIGFUSE_BENCH_DIR:-$(mktemp -d)}"
mkdir -p "$work"

if [ "${1:-}" = memory ]; then
  left=${2:-50000000}
  right=${3:-5000000}
  limit=${4:-2048}
  dir="$work/asof-$left-$right"
  if [ ! -s "$dir/right.parquet" ]; then
    mkdir -p "$dir"
    # ~4,000 (service, host) keys, timestamps uniform over one day, written by DuckDB.
    "$py" - "$dir" "$left" "$right" <<'PY'
import sys, duckdb
d, n, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
con = duckdb.connect()
con.execute("SET preserve_insertion_order = false")
gen = """SELECT TIMESTAMPTZ '2024-06-03 00:00:00+00' + to_microseconds((random() * 86400e6)::BIGINT) AS ts,
                'svc-' || (hash(i) % 40) AS service, 'host-' || (hash(i * 31 + 7) % 100) AS host, {extra}
         FROM range({n}) t(i)"""
con.execute(f"COPY ({gen.format(extra='i AS id', n=n)}) TO '{d}/left.parquet' (FORMAT parquet, ROW_GROUP_SIZE 1000000)")
con.execute(f"COPY ({gen.format(extra='random() AS value', n=m)}) TO '{d}/right.parquet' (FORMAT parquet, ROW_GROUP_SIZE 1000000)")
PY
  fi
  ls -l "$dir"
  sql="CREATE EXTERNAL TABLE a STORED AS PARQUET LOCATION '$dir/left.parquet';
CREATE EXTERNAL TABLE b STORED AS PARQUET LOCATION '$dir/right.parquet';
SELECT count(*) AS n, count(b.value) AS matched, sum(b.value) AS cpu_sum
FROM a ASOF JOIN b MATCH_CONDITION (a.ts >= b.ts) ON a.service = b.service AND a.host = b.host"
  mkdir -p "$work/empty-lake"
  echo "sigfuse --memory-limit-mb $limit:"
  /usr/bin/time -v "$bin" --lake "$work/empty-lake" --memory-limit-mb "$limit" query --format csv "$sql" \
    2>"$work/time-v" | tail -1
  grep -E "Elapsed|Maximum resident" "$work/time-v"
  echo "duckdb (memory_limit ${limit}MB):"
  /usr/bin/time -v "$py" - "$dir" "$limit" 2>"$work/time-duck" <<'PY'
import sys, time, duckdb
d, limit = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute(f"SET memory_limit = '{limit}MB'")
t = time.perf_counter()
row = con.execute(f"""SELECT count(*), count(b.value), sum(b.value)
  FROM '{d}/left.parquet' a ASOF LEFT JOIN '{d}/right.parquet' b
  ON a.service = b.service AND a.host = b.host AND a.ts >= b.ts""").fetchone()
print(f"{row[0]},{row[1]},{row[2]}  ({time.perf_counter() - t:.1f} s in process)")
PY
  grep -E "Elapsed|Maximum resident" "$work/time-duck"
  exit 0
fi

runs=${1:-7}
lake="$work/demo-lake-40"
[ -d "$lake/spans" ] || "$bin" demo --hours 1 --services 40 --lake "$lake" >&2
sql="SELECT count(*) AS n, count(m.value) AS matched, sum(m.value) AS cpu_sum
FROM spans s
ASOF JOIN (SELECT ts, service, host, value FROM metrics WHERE name = 'cpu_usage_cores') m
  MATCH_CONDITION (s.ts >= m.ts) ON s.service = m.service AND s.host = m.host
WHERE s.status = 'ERROR'"
results="$work/asof-results"; : >"$results"
echo "lake: $lake ($(du -sh "$lake" | cut -f1)); $(nproc) cores; $runs runs, interleaved"
for i in $(seq 1 "$runs"); do
  start=$(date +%s.%N)
  answer=$("$bin" --lake "$lake" query --format csv "$sql" | tail -1)
  end=$(date +%s.%N)
  echo "sigfuse $(echo "$end - $start" | bc) $answer" | tr ',' ' ' | tee -a "$results"
  for engine in duckdb datafusion polars; do
    echo "$engine $("$py" benches/asof_peers.py "$engine" "$lake" 2>/dev/null)" | tee -a "$results"
  done
done
"$py" - "$results" <<'PY'
import statistics, sys
by, answers = {}, {}
for line in open(sys.argv[1]):
    name, secs, n, matched, total = line.split()
    by.setdefault(name, []).append(float(secs))
    answers.setdefault(name, set()).add((int(n), int(matched), round(float(total), 6)))
assert len({a for s in answers.values() for a in s}) == 1, f"answers differ: {answers}"
fastest_peer = min(statistics.median(v) for k, v in by.items() if k != "sigfuse")
for name, secs in by.items():
    med = statistics.median(secs)
    print(f"{name:10} median {med * 1000:7.1f} ms (min {min(secs) * 1000:.1f}, max {max(secs) * 1000:.1f})"
          f"  {med / fastest_peer:.2f}x the fastest peer")
print("answer (spans, matched, sum of cpu):", next(iter(answers["sigfuse"])))
PY
