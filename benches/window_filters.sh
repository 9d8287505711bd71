#!/usr/bin/env bash
# signal_windows under filters on the windows (docs/benchmarks.md, "What changed", session 15):
# each query runs RUNS + 1 times in one `sigfuse query --timing` process, the first (cold) run
# dropped; prints the median total time with min–max. Alternate two builds (BIN) to compare them.
#
#   benches/window_filters.sh BIN LAKE [RUNS]   (LAKE: `sigfuse demo --hours 1 --services 40`)
set -euo pipefail
bin=$1 lake=$2 runs=${3:-9}
# The lake's first hour, from its folder names (logs/date=…/hour=…).
day=$(ls "$lake/logs" | sort | head -1 | cut -d= -f2)
hour=$(ls "$lake/logs/date=$day" | sort | head -1 | cut -d= -f2)
at() { echo "TIMESTAMP '$day $hour:$1:00'"; }
cols="service, window_start, log_lines, log_error, spans, latency_p95_ms, span_callees, metric_samples, metrics, events"
from="FROM signal_windows(INTERVAL '1 minute')"
service=$("$bin" --lake "$lake" query --format csv \
  "SELECT service FROM logs GROUP BY service ORDER BY count(*) DESC LIMIT 1" | tail -1)
declare -A q=(
  [A_last_5_minutes]="SELECT $cols $from WHERE window_start >= $(at 55)"
  [B_one_service_10_minutes]="SELECT $cols $from WHERE service = '$service' AND window_start >= $(at 50)"
  [C_templates_one_service_10_minutes]="SELECT service, window_start, log_lines, log_templates_distinct $from WHERE service = '$service' AND window_start >= $(at 50)"
  [D_no_filter]="SELECT $cols $from"
)
for name in $(printf '%s\n' "${!q[@]}" | sort); do
  all=""
  for _ in $(seq $((runs + 1))); do all="$all${q[$name]};"; done
  "$bin" --lake "$lake" query --timing --format none "$all" 2>&1 | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' |
    tail -n +2 | sort -n | awk -v n="$name" '{a[NR]=$1} END {printf "%-36s median %.1f ms (%.1f-%.1f), %d runs\n", n, a[int((NR+1)/2)], a[1], a[NR], NR}'
done
