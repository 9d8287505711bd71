#!/usr/bin/env bash
# Scoring speed of the baseline detector (issue 5) on a warm demo lake of one day, 40 services:
#   q_windows  signal_windows over the day, one-minute windows (about 59,000 rows): the input
#   q_score    those rows, held in memory (CREATE TABLE w AS …, untimed), scored:
#              anomaly_score(model, named_struct(<every feature column>))
#   q_root     root_cause(model, …) over a 10-minute incident, from the lake (its windows, the
#              call graph from a spans self-join, and the ranking)
# after `CREATE MODEL bench KIND baseline` on the day's first 12 hours (timed once).
# Each query runs RUNS + 1 times in one `sigfuse query --timing --format none` process; the
# first run is dropped (warm-up), the rest give median and min–max (planning to last row).
#
#   benches/detect.sh [RUNS]        (default 7; SIGFUSE_BIN, SIGFUSE_BENCH_DIR as in peers.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sigfuse-target}"
bin="${SIGFUSE_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --release --bin sigfuse >&2
  bin="$CARGO_TARGET_DIR/release/sigfuse"
fi
runs=${1:-7}
work="${SIGFUSE_BENCH_DIR:-$(mktemp -d)}"
lake="$work/demo-lake-24h-40"
[ -d "$lake/spans" ] || "$bin" demo --hours 24 --services 40 --lake "$lake" >&2
echo "lake: $lake ($(du -shL "$lake" | cut -f1)); $("$bin" --version); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

q() { "$bin" --lake "$lake" query --format csv "$1" 2>/dev/null | tail -n +2; }
start=$(q "SELECT CAST(date_trunc('hour', min(ts)) AS VARCHAR) FROM metrics")
since="TIMESTAMP '$start'"
half="$since + INTERVAL '12 hours'"
day="$since + INTERVAL '1 day'"
incident="$since + INTERVAL '13 hours'"
features="'service', service, 'log_lines', log_lines, 'log_trace', log_trace, 'log_debug', log_debug,
  'log_info', log_info, 'log_warn', log_warn, 'log_error', log_error, 'log_fatal', log_fatal,
  'log_templates', log_templates, 'log_templates_distinct', log_templates_distinct,
  'spans', spans, 'span_errors', span_errors, 'error_ratio', error_ratio,
  'latency_mean_ms', latency_mean_ms, 'latency_p50_ms', latency_p50_ms,
  'latency_p95_ms', latency_p95_ms, 'latency_p99_ms', latency_p99_ms,
  'span_inbound_gap_ms', span_inbound_gap_ms, 'span_callees', span_callees,
  'span_operations', span_operations, 'metric_samples', metric_samples, 'metrics', metrics,
  'host_metrics', host_metrics, 'events', events, 'event_kinds', event_kinds,
  'event_change_recency', event_change_recency"

t0=$(date +%s.%N)
"$bin" --lake "$lake" query "DROP MODEL IF EXISTS bench; CREATE MODEL bench KIND baseline AS
  SELECT * FROM signal_windows(INTERVAL '1 minute', INTERVAL '1 minute', $since, $half)" 2>&1 |
  grep -v INFO >&2 || true
t1=$(date +%s.%N)
echo "CREATE MODEL bench (12 h x 40 services): $(echo "$t1 - $t0" | bc) s, whole process"

windows="SELECT * FROM signal_windows(INTERVAL '1 minute', INTERVAL '1 minute', $since, $day)"
declare -A setup=([q_score]="CREATE TABLE w AS $windows;")
declare -A sql=(
  [q_windows]="$windows"
  [q_score]="SELECT service, window_start, anomaly_score('bench', named_struct($features)) AS score FROM w"
  [q_root]="SELECT * FROM root_cause('bench', $incident, $incident + INTERVAL '10 minutes')"
)
for name in q_windows q_score q_root; do
  script="${setup[$name]:-}"
  for _ in $(seq 0 "$runs"); do script="$script ${sql[$name]};"; done
  # Drop the setup's time line (if any) and the warm-up run's.
  skip=$((2 + $([ -n "${setup[$name]:-}" ] && echo 1 || echo 0)))
  out=$("$bin" --lake "$lake" query --timing --format none "$script" 2>&1)
  rows=$(echo "$out" | sed -n 's/^(\([0-9]*\) rows)$/\1/p' | tail -1)
  times=$(echo "$out" | sed -n 's/^Time: \([0-9.]*\) ms.*$/\1/p' | tail -n +$skip | sort -n)
  n=$(echo "$times" | wc -l)
  median=$(echo "$times" | sed -n "$(( (n + 1) / 2 ))p")
  echo "$name: $rows rows, median $median ms (min $(echo "$times" | head -1), max $(echo "$times" | tail -1)), $n runs"
done
