#!/usr/bin/env bash
# Wire benchmark: `sigfuse serve` beside PostgreSQL (Debian's server package), same machine, one
# run, the same client (pgbench) for both.
#
#   benches/wire.sh [SECONDS] [ROWS] [RUNS]   (defaults: 10 s per latency point, 10,000,000 rows,
#                                             3 streaming runs)
#
# Latency: pgbench runs `SELECT 1` over 1, 8 and 32 connections for SECONDS each and logs every
# transaction; p50/p99 come from those logs (pgbench logs some sub-20 µs transactions as 0 µs,
# which pulls a fast server's p50 down), the average from pgbench's own report (elapsed time
# per transaction and connection). Then `SELECT now()` over 1 connection: a statement that is
# not constant, planned every time. Streaming: a 5-column table of ROWS rows is created
# in each server (PostgreSQL: a heap table; sigfuse: an in-memory table, `CREATE TABLE … AS`),
# then `SELECT * FROM t5` is run RUNS times by one pgbench client (libpq reads the whole result);
# rows/s and MB/s (text DataRow bytes, measured by PostgreSQL) from the median run.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
rows=${2:-10000000}
runs=${3:-3}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sigfuse-target}"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/postgres" ]; then
  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
cargo build --release --bin sigfuse >&2
bin="$CARGO_TARGET_DIR/release/sigfuse"
work=$(mktemp -d)
chmod 755 "$work"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_port=$(free_port)
sf_port=$(free_port)
sf_pid=
cleanup() {
  [ -n "$sf_pid" ] && kill "$sf_pid" 2>/dev/null || true
  su postgres -c "$pgbin/pg_ctl -D $work/pg stop -m immediate" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/pg" && chown postgres "$work/pg"
su postgres -c "$pgbin/initdb -D $work/pg -A trust -U bench" >/dev/null
su postgres -c "$pgbin/pg_ctl -D $work/pg -o '-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=100' -l $work/pg/log start -w" >/dev/null
"$bin" --lake "$work/lake" serve --listen "127.0.0.1:$sf_port" --trust-role admin \
  --max-connections 100 2>"$work/sigfuse.log" &
sf_pid=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$sf_port") 2>/dev/null && break
  sleep 0.1
done
pg() { psql -X -q -h 127.0.0.1 -p "$pg_port" -U bench -d postgres "$@"; }
sf() { psql -X -q -h 127.0.0.1 -p "$sf_port" -U sigfuse -d sigfuse "$@"; }
echo "PostgreSQL $(pg -Atc 'SHOW server_version'); sigfuse $(sf -Atc 'SELECT version()' | cut -d' ' -f2-4); $(nproc) cores" >&2

echo 'SELECT 1;' >"$work/select1.sql"
# Not constant (now() is stable): planned every time, the cost of any statement's planning.
echo 'SELECT now();' >"$work/now.sql"
echo 'SELECT * FROM t5;' >"$work/stream.sql"
results="$work/results"
: >"$results"
latency() { # name port user db clients [script]
  local name=$1 port=$2 user=$3 db=$4 c=$5 script=${6:-select1.sql} j
  j=$(( c < 2 ? 1 : 2 ))
  rm -f "$work"/pgbench_log.*
  (cd "$work" && pgbench -n -h 127.0.0.1 -p "$port" -U "$user" -f "$script" -c "$c" -j "$j" \
    -T "$secs" --log --log-prefix=pgbench_log "$db" >"$work/pgbench.out" 2>"$work/pgbench.err") ||
    { cat "$work/pgbench.err" >&2; exit 1; }
  cat "$work"/pgbench_log.* | python3 -c '
import statistics, sys
lat = sorted(int(l.split()[2]) for l in sys.stdin)
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] / 1000
avg = [l.split("=")[1].split()[0] for l in open(sys.argv[4]) if l.startswith("latency average")]
avg = avg[0] if avg else "?"
print(f"latency {sys.argv[1]} {sys.argv[3]} c={sys.argv[2]} n={len(lat)} p50={p(0.50):.3f}ms "
      f"p99={p(0.99):.3f}ms average={avg}ms")
' "$name" "$c" "$script" "$work/pgbench.out" | tee -a "$results"
}
for c in 1 8 32; do
  latency postgres "$pg_port" bench postgres "$c"
  latency sigfuse "$sf_port" sigfuse sigfuse "$c"
done
latency postgres "$pg_port" bench postgres 1 now.sql
latency sigfuse "$sf_port" sigfuse sigfuse 1 now.sql

pg -c "CREATE TABLE t5 AS SELECT g::int8 AS id, g * 0.5::float8 AS x, 'service-' || (g % 40) AS s, g % 2 = 0 AS b, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 millisecond' AS ts FROM generate_series(1, $rows) g"
sf -c "CREATE TABLE t5 AS SELECT CAST(g AS BIGINT) AS id, CAST(g AS DOUBLE) * 0.5 AS x, concat('service-', g % 40) AS s, g % 2 = 0 AS b, to_timestamp_millis(1704067200000 + g) AS ts FROM generate_series(1, $rows) AS t(g)"
# Bytes of the DataRow messages in text format: type byte, length, column count, then a length
# and the text of each column.
bytes=$(pg -Atc "SELECT sum(7 + 5 * 4 + octet_length(id::text) + octet_length(x::text) + octet_length(s) + 1 + octet_length(ts::text)) FROM t5")
stream() { # name port user db
  local name=$1 port=$2 user=$3 db=$4
  rm -f "$work"/pgbench_log.*
  (cd "$work" && pgbench -n -h 127.0.0.1 -p "$port" -U "$user" -f stream.sql -c 1 -t "$runs" \
    --log --log-prefix=pgbench_log "$db" >/dev/null 2>"$work/pgbench.err") ||
    { cat "$work/pgbench.err" >&2; exit 1; }
  cat "$work"/pgbench_log.* | python3 -c '
import statistics, sys
secs = sorted(int(l.split()[2]) / 1e6 for l in sys.stdin)
rows, size = int(sys.argv[2]), int(sys.argv[3])
med = statistics.median(secs)
print(f"stream {sys.argv[1]} rows={rows} median={med:.2f}s (min {secs[0]:.2f}, max {secs[-1]:.2f}) "
      f"{rows / med / 1e6:.2f} M rows/s {size / med / 2**20:.0f} MB/s")
' "$name" "$rows" "$bytes" | tee -a "$results"
}
stream postgres "$pg_port" bench postgres
stream sigfuse "$sf_port" sigfuse sigfuse
echo "sigfuse peak RSS: $(grep VmHWM /proc/$sf_pid/status | awk '{print $2 / 1024 " MiB"}')"
