#!/usr/bin/env bash
# The peer benchmark of issue 6: six operations queries on one demo lake (1 hour, 40 services),
# sigfuse (release build) beside DuckDB, plain DataFusion (the `datafusion` package) and Polars,
# all from PyPI. Each engine runs each query RUNS + 1 times in one process and the first (cold)
# run is dropped; the query alone is timed (benches/peers.py says exactly what). The answers
# are compared (row counts and per-column checksums) and must agree.
#
#   benches/peers.sh [RUNS] [QUERY...]      (default 7 runs, every query)
#
# SIGFUSE_BIN: a binary built elsewhere (the shared target dir's release/sigfuse is whichever
# worktree linked last); SIGFUSE_BENCH_DIR: where the lake goes (kept between runs; delete it
# after measuring); SIGFUSE_BENCH_SERVICES / SIGFUSE_BENCH_HOURS: the lake's size.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sigfuse-target}"
venv="${SIGFUSE_BENCH_VENV:-$HOME/.cache/sigfuse-bench-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import duckdb, datafusion, polars, pyarrow' 2>/dev/null ||
  "$venv/bin/pip" install -q duckdb datafusion polars pyarrow
py="$venv/bin/python"
bin="${SIGFUSE_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --release --bin sigfuse >&2
  bin="$CARGO_TARGET_DIR/release/sigfuse"
fi
runs=${1:-7}
shift || true
services=${SIGFUSE_BENCH_SERVICES:-40}
hours=${SIGFUSE_BENCH_HOURS:-1}
work="${SIGFUSE_BENCH_DIR:-$(mktemp -d)}"
lake="$work/demo-lake-${hours}h-$services"
[ -d "$lake/spans" ] || "$bin" demo --hours "$hours" --services "$services" --lake "$lake" >&2
echo "lake: $lake ($(du -sh "$lake" | cut -f1)); $("$bin" --version); $("$py" -c 'import duckdb, datafusion, polars
print(f"duckdb {duckdb.__version__}, datafusion {datafusion.__version__}, polars {polars.__version__}")')"
echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$py" benches/peers.py bench "$bin" "$lake" "$runs" "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
