#!/usr/bin/env python3
"""Writes N log lines `service<TAB>body` for the template-mining benchmark.

Usage: gen_log_bodies.py LOGHUB_DIR OUT N [SEED]. Each line is a real line of one of the eight
loghub-2k-dev systems (the service is the system), picked at random, with every digit replaced
by a random digit: real structure and template mix, fresh values (so no line repeats an
earlier one verbatim). Deterministic for a seed.
"""
import csv
import os
import random
import re
import sys

src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 7)
lines = []
for system in sorted(os.listdir(src)):
    path = os.path.join(src, system, f"{system}_2k.log_structured.csv")
    if os.path.exists(path):
        with open(path, newline="") as f:
            lines += [(system, r["Content"]) for r in csv.DictReader(f)]
if not lines:
    sys.exit(f"no *_2k.log_structured.csv under {src}")
digit = re.compile(r"\d")
with open(out, "w", buffering=1 << 20) as f:
    for _ in range(n):
        system, body = rng.choice(lines)
        body = digit.sub(lambda _: str(rng.randrange(10)), body).replace("\t", " ").replace("\n", " ")
        f.write(f"{system}\t{body}\n")
