#!/usr/bin/env bash
# Ingest benchmark: JSON lines -> canonical Parquet, sigfuse beside DuckDB (PyPI), same file,
# same machine, interleaved runs. Prints wall seconds, rows/s and peak RSS per run and medians.
#
#   benches/ingest.sh [LINES] [RUNS]      (defaults: 3000000 lines, 3 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-3000000}
runs=${2:-3}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sigfuse-target}"
venv="${SIGFUSE_BENCH_VENV:-$HOME/.cache/sigfuse-bench-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import duckdb' 2>/dev/null || "$venv/bin/pip" install -q duckdb
cargo build --release --bin sigfuse >&2
bin="$CARGO_TARGET_DIR/release/sigfuse"
work="${SIGFUSE_BENCH_DIR:-$(mktemp -d)}"
src="$work/logs-$lines.jsonl"
[ -s "$src" ] || python3 benches/gen_logs_jsonl.py "$src" "$lines"
echo "source: $src, $(du -h "$src" | cut -f1), $lines lines; duckdb $("$venv/bin/python" -c 'import duckdb; print(duckdb.__version__)')"
measure() { # name command... -> "name wall_s max_rss_kb"
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  echo "$name $(cat "$work/time")"
}
results="$work/results"; : >"$results"
for i in $(seq 1 "$runs"); do
  rm -rf "$work/lake" "$work/duck.parquet"
  measure sigfuse "$bin" --lake "$work/lake" ingest --table logs --format jsonl \
    --map host=pod --map severity=level --map body=message "$src" | tee -a "$results"
  measure duckdb "$venv/bin/python" benches/duckdb_ingest.py "$src" "$work/duck.parquet" | tee -a "$results"
done
python3 - "$results" "$lines" <<'PY'
import statistics, sys
rows = int(sys.argv[2])
by = {}
for line in open(sys.argv[1]):
    name, wall, rss = line.split()
    by.setdefault(name, []).append((float(wall), int(rss)))
for name, runs in by.items():
    walls = [w for w, _ in runs]; rss = [r for _, r in runs]
    med = statistics.median(walls)
    print(f"{name:8} median {med:.2f} s (min {min(walls):.2f}, max {max(walls):.2f}), "
          f"{rows / med / 1e3:.0f} k rows/s, peak RSS median {statistics.median(rss) / 1024:.0f} MiB "
          f"(max {max(rss) / 1024:.0f})")
PY
