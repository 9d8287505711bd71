#!/usr/bin/env python3
"""Writes N JSON-lines log records drawn from T templates (default 1000) for the embed_text bench.

Usage: gen_template_logs.py OUT N [T] [SEED]. Deterministic for a seed.

Each template is a component (40) x an event shape (25) with 1-3 variables of the kinds
sigfuse's template key masks (IPv4[:port], integers, durations, UUIDs, hex ids, paths), so the
lines of one template share one key. Template frequencies are Zipf-like (weight 1/rank), as in
real logs: a few templates dominate, and with 1M lines every one of 1000 appears (~130+ times).
"""
import json
import random
import sys
import uuid

out, n = sys.argv[1], int(sys.argv[2])
t_count = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 11)

components = [
    f"{svc}-{part}"
    for svc in ["payment", "cart", "checkout", "auth", "search", "catalog", "shipping", "ledger"]
    for part in ["db", "cache", "worker", "api", "queue"]
]
events = [
    "connection to {ip} refused, retrying in {ms}ms",
    "request {uuid} failed with status {code}",
    "wrote {n} bytes to {path}",
    "lease {hex} expired after {n}s",
    "health check failed: upstream {ip} timed out after {ms}ms",
    "user {n} logged in from {ip}",
    "cache miss for key {hex}, loading from {path}",
    "slow query took {ms}ms, rows examined {n}",
    "retry {n} of 5 for job {uuid}",
    "disk usage at {n}% on {path}",
    "GC pause of {ms}ms, heap {n} MB",
    "rejected request from {ip}: rate limit {n} per second exceeded",
    "opened {n} connections to {ip}",
    "checksum mismatch for block {hex} in {path}",
    "transaction {uuid} committed in {ms}ms",
    "failed to parse config {path}: line {n}",
    "TLS handshake with {ip} failed",
    "queue depth {n} above threshold {code}",
    "evicted {n} entries from the cache in {ms}ms",
    "worker {n} restarted after crash, exit code {code}",
    "token {hex} refused: expired {n} seconds ago",
    "DNS lookup for upstream failed, using {ip}",
    "scheduled job {uuid} finished with {n} errors",
    "snapshot written to {path} in {ms}ms",
    "NullPointerException in handler {n}\n\tat com.shop.Handler.run(Handler.java:{code})\n\tat java.lang.Thread.run(Thread.java:{code})",
]
templates = [f"{c}: {e}" for e in events for c in components][:t_count]
weights = [1.0 / (rank + 1) for rank in range(len(templates))]
rng.shuffle(templates)


def hex_id():
    while True:
        h = f"{rng.getrandbits(64):016x}"
        if any(c.isdigit() for c in h) and any(c.isalpha() for c in h):
            return h


levels = ["INFO"] * 80 + ["DEBUG"] * 12 + ["WARN"] * 6 + ["ERROR"] * 2
t0 = 1_717_372_800_000  # 2024-06-03T00:00:00Z, milliseconds
picks = rng.choices(range(len(templates)), weights=weights, k=n)
with open(out, "w", buffering=1 << 20) as f:
    for k, t in enumerate(picks):
        ts = t0 + k * 7
        body = templates[t].format(
            ip=f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            + (f":{rng.randrange(1024, 65535)}" if rng.random() < 0.5 else ""),
            ms=rng.randrange(1, 5000), n=rng.randrange(100000), code=rng.randrange(100, 600),
            uuid=uuid.UUID(int=rng.getrandbits(128)), hex=hex_id(),
            path=f"/var/lib/{templates[t].split('-')[0]}/{rng.randrange(1000)}.dat")
        rec = {
            "timestamp": f"{ts // 1000}.{ts % 1000:03d}",
            "service": templates[t].split("-")[0],
            "pod": f"pod-{k % 3}",
            "level": rng.choice(levels),
            "message": body,
        }
        f.write(json.dumps(rec, separators=(",", ":")))
        f.write("\n")
print(len(templates), "templates", file=sys.stderr)
