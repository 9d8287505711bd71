#!/usr/bin/env bash
# embed_text benchmark: LINES log lines (default 1,000,000) drawn from 1,000 templates, embedded
# with the real all-MiniLM-L6-v2 on CPU by a release `sigfuse serve`, queried with psql over
# the Postgres protocol (`\timing`). Each run starts a fresh server, so the first embedding query
# meets a cold cache; the next ones are warm. Per run it times:
#   load   SET sigfuse.text_encoder = '<model>'        (reads and loads the weights)
#   scan   SELECT count(*), sum(length(body)) FROM logs (the same scan without embeddings)
#   cold   SELECT count(*), sum(embed_text(body)[1]) FROM logs   (first time: every template encoded)
#   warm   the same query twice more (every template cached)
# and prints medians with min-max over RUNS runs (default 3).
#
#   benches/embed.sh [LINES] [RUNS]
# SIGFUSE_BENCH_DIR keeps the generated lines and lake between invocations; SIGFUSE_BENCH_BIN
# uses a release binary built beforehand instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-1000000}
runs=${2:-3}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sigfuse-target}"
work="${SIGFUSE_BENCH_DIR:-$(mktemp -d)}"
mkdir -p "$work"
model=$(scripts/fetch-text-encoder.sh)
if [ -n "${SIGFUSE_BENCH_BIN:-}" ]; then
  bin=$SIGFUSE_BENCH_BIN  # a release binary built beforehand
else
  cargo build --release --bin sigfuse >&2
  # A private copy: other worktrees building into the same target directory replace the binary.
  cp "$CARGO_TARGET_DIR/release/sigfuse" "$work/sigfuse"
  bin="$work/sigfuse"
fi
src="$work/template-logs-$lines.jsonl"
[ -s "$src" ] || python3 benches/gen_template_logs.py "$src" "$lines"
if [ ! -d "$work/lake-$lines/logs" ]; then
  "$bin" --lake "$work/lake-$lines" ingest --table logs --format jsonl \
    --map host=pod --map severity=level --map body=message "$src" >&2
fi
lake="$work/lake-$lines"
# With the built-in encoder (cheap): how many distinct template keys the lines have.
"$bin" --lake "$lake" query --format csv \
  "SELECT count(*) AS lines, count(DISTINCT embed_text(body)) AS templates FROM logs"
echo "model: $model; CPU: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

results="$work/results"; : >"$results"
for i in $(seq 1 "$runs"); do
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$bin" serve --lake "$lake" --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
    sleep 0.1
  done
  q="SELECT count(*), sum(embed_text(body)[1]) FROM logs;"
  psql -X -q -h 127.0.0.1 -p "$port" -U sigfuse -d sigfuse -v ON_ERROR_STOP=1 >"$work/psql.out" <<SQL
SET statement_timeout = 0;
\timing on
SET sigfuse.text_encoder = '$model';
SELECT count(*), sum(length(body)) FROM logs;
$q
$q
$q
SQL
  kill "$pid"; wait "$pid" 2>/dev/null || true
  cat "$work/psql.out" >&2
  grep '^Time:' "$work/psql.out" | awk '{print $2}' | paste -sd' ' | sed "s/^/run$i /" | tee -a "$results"
done
python3 - "$results" "$lines" <<'PY'
import statistics, sys
lines = int(sys.argv[2])
cols = {"load": [], "scan": [], "cold": [], "warm": []}
for row in open(sys.argv[1]):
    ms = [float(x) / 1000 for x in row.split()[1:]]
    load, scan, cold, *warm = ms
    cols["load"].append(load); cols["scan"].append(scan); cols["cold"].append(cold)
    cols["warm"].extend(warm)
for name, xs in cols.items():
    med = statistics.median(xs)
    rate = f", {lines / med / 1e3:.0f} k lines/s" if name in ("scan", "cold", "warm") else ""
    print(f"{name:5} median {med:.2f} s (min {min(xs):.2f}, max {max(xs):.2f}, n={len(xs)}){rate}")
PY
