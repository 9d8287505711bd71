#!/usr/bin/env python3
"""Template-mining throughput of the Python drain3 package (PyPI) on `service<TAB>body` lines.

Usage: logparse_drain3.py FILE [--masked]. One TemplateMiner per service. Default: drain3's
default configuration (no masking). `--masked`: the masking instructions drain3's own source
suggests (masking.py: ID, IP, SEQ, HEX, NUM), closest to what sigfuse's miner does. Prints
`drain3 <lines/s> <clusters>` (or `drain3-masked …`); reading the file is not timed.
"""
import logging
import sys
import time

from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

logging.disable(logging.CRITICAL)
masked = "--masked" in sys.argv[2:]
rows = []
with open(sys.argv[1]) as f:
    for line in f:
        svc, _, body = line.rstrip("\n").partition("\t")
        rows.append((svc, body))


def new_miner():
    if not masked:
        return TemplateMiner()
    config = TemplateMinerConfig()
    b, e = r"((?<=[^A-Za-z0-9])|^)", r"((?=[^A-Za-z0-9])|$)"
    config.masking_instructions = [
        MaskingInstruction(b + r"(([0-9a-f]{2,}:){3,}([0-9a-f]{2,}))" + e, "ID"),
        MaskingInstruction(b + r"(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})" + e, "IP"),
        MaskingInstruction(b + r"([0-9a-f]{6,} ?){3,}" + e, "SEQ"),
        MaskingInstruction(b + r"([0-9A-F]{4} ?){4,}" + e, "SEQ"),
        MaskingInstruction(b + r"(0x[a-f0-9A-F]+)" + e, "HEX"),
        MaskingInstruction(b + r"([\-\+]?\d+)" + e, "NUM"),
    ]
    return TemplateMiner(config=config)


miners = {}
t0 = time.perf_counter()
for svc, body in rows:
    m = miners.get(svc)
    if m is None:
        m = miners[svc] = new_miner()
    m.add_log_message(body)
dt = time.perf_counter() - t0
clusters = sum(len(m.drain.clusters) for m in miners.values())
print(f"{'drain3-masked' if masked else 'drain3'} {len(rows) / dt:.0f} {clusters}")
