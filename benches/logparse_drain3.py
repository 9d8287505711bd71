#!/usr/bin/env python3
"""Template-mining throughput of the Python drain3 package (PyPI) on `service<TAB>body` lines.

Usage: logparse_drain3.py FILE. One TemplateMiner per service with drain3's default
configuration (no masking rules: its fastest setting). Prints `drain3 <lines/s> <clusters>`;
reading the file is not timed.
"""
import logging
import sys
import time

from drain3 import TemplateMiner

logging.disable(logging.CRITICAL)
rows = []
with open(sys.argv[1]) as f:
    for line in f:
        svc, _, body = line.rstrip("\n").partition("\t")
        rows.append((svc, body))
miners = {}
t0 = time.perf_counter()
for svc, body in rows:
    m = miners.get(svc)
    if m is None:
        m = miners[svc] = TemplateMiner()
    m.add_log_message(body)
dt = time.perf_counter() - t0
clusters = sum(len(m.drain.clusters) for m in miners.values())
print(f"drain3 {len(rows) / dt:.0f} {clusters}")
