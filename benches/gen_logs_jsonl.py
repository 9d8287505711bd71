#!/usr/bin/env python3
"""Writes N JSON-lines log records shaped like an application's structured logs.

Usage: gen_logs_jsonl.py OUT N [SEED]. Deterministic for a seed; ~200 bytes a line.
"""
import json
import random
import sys

out, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 7)
services = ["frontend", "cart", "checkout", "payment", "shipping", "catalog", "auth", "search"]
levels = ["INFO"] * 80 + ["DEBUG"] * 12 + ["WARN"] * 6 + ["ERROR"] * 2
templates = [
    "GET /api/{s}/{i} 200 in {ms} ms",
    "Connection to 10.0.{a}.{b}:5432 refused, retrying in {ms} ms",
    "Cache miss for key user:{i}",
    "Processed order {i} for customer {j} total {ms}.{a} USD",
    "Slow query on table items took {ms} ms",
]
t0 = 1_717_372_800_000  # 2024-06-03T00:00:00Z, milliseconds
with open(out, "w", buffering=1 << 20) as f:
    for k in range(n):
        ts = t0 + k * 7  # about 6 hours per 3M lines
        s = services[k % len(services)]
        body = rng.choice(templates).format(
            s=s, i=rng.randrange(100000), j=rng.randrange(5000), ms=rng.randrange(1, 900),
            a=rng.randrange(256), b=rng.randrange(256))
        rec = {
            "timestamp": f"{ts // 1000}.{ts % 1000:03d}",
            "service": s,
            "pod": f"{s}-7f9c6d5b8-{k % 3}",
            "level": rng.choice(levels),
            "message": body,
            "trace_id": f"{rng.getrandbits(128):032x}",
            "span_id": f"{rng.getrandbits(64):016x}",
        }
        f.write(json.dumps(rec, separators=(",", ":")))
        f.write("\n")
