#!/usr/bin/env bash
# Template-mining throughput on one core (taskset -c 0): sigfuse's miner beside Python drain3
# (PyPI) on the same generated lines, interleaved runs; drain3 both with its default
# configuration and with the masking rules its source suggests (--masked). Prints lines/s per
# run, then medians with min-max.
#
#   benches/logparse.sh [LINES] [RUNS]      (defaults: 1000000 lines, 5 runs)
#
# Lines are real loghub-2k-dev lines with fresh digits (benches/gen_log_bodies.py); the dataset
# is read from $SIGFUSE_LOGHUB_DIR (default ../shared/datasets/loghub-2k-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-1000000}
runs=${2:-5}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sigfuse-target}"
loghub="${SIGFUSE_LOGHUB_DIR:-../shared/datasets/loghub-2k-dev}"
venv="${SIGFUSE_BENCH_VENV:-$HOME/.cache/sigfuse-bench-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c 'import drain3' 2>/dev/null || "$venv/bin/pip" install -q drain3
cargo build --release -p sigfuse-models --example logparse_bench >&2
bin="$CARGO_TARGET_DIR/release/examples/logparse_bench"
work="${SIGFUSE_BENCH_DIR:-$(mktemp -d)}"
src="$work/bodies-$lines.tsv"
[ -s "$src" ] || python3 benches/gen_log_bodies.py "$loghub" "$src" "$lines"
echo "source: $src, $(du -h "$src" | cut -f1), $lines lines; drain3 $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("drain3"))')"
results="$work/results"; : >"$results"
for i in $(seq 1 "$runs"); do
  taskset -c 0 "$bin" "$src" | tee -a "$results"
  taskset -c 0 "$venv/bin/python" benches/logparse_drain3.py "$src" | tee -a "$results"
  taskset -c 0 "$venv/bin/python" benches/logparse_drain3.py "$src" --masked | tee -a "$results"
done
python3 - "$results" <<'PY'
import statistics, sys
by = {}
for line in open(sys.argv[1]):
    name, rate, clusters = line.split()[:3]
    by.setdefault(name, []).append((float(rate), int(clusters)))
med = {}
for name, xs in by.items():
    rates = [r for r, _ in xs]
    med[name] = statistics.median(rates)
    print(f"{name}: median {med[name]:,.0f} lines/s (min {min(rates):,.0f}, max {max(rates):,.0f}), {xs[0][1]} templates")
for other in ("drain3", "drain3-masked"):
    if "sigfuse" in med and other in med:
        print(f"speed-up over {other}: {med['sigfuse'] / med[other]:.1f}x")
PY
