#!/usr/bin/env python3
"""The PetShop study's MAD anomaly-traversal baseline, re-implemented from its description so
that `sigfuse eval petshop` can be compared with it on the same issues:

  python3 scripts/petshop_mad_traversal.py DATA_DIR

Per issue: fit a median/MAD detector per node on the scenario's normal period (`noissue`; the
temporal-traffic scenarios, which have none, use every other scenario's), for the target's
metric and statistic only; score the issue's rows with |x - median| / MAD (a constant series
scores |x - mean| with threshold 0; fewer than 10 samples: no detector); take the third row,
or the first later one where the target node is anomalous (score > 5); the root-cause
candidates are the anomalous nodes none of whose callees is anomalous and from which a path of
anomalous nodes leads to the target through callers; each scores the sum of the scores on its
best such path. Prints top-1 and top-3 recall per scenario and target metric.
Standard library only."""
import csv
import json
import os
import statistics
import sys
from collections import defaultdict

THRESHOLD = 5.0


def read_metrics(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    nodes, metrics, stats = rows[0], rows[1], rows[2]
    cols = {}
    for c in range(1, len(nodes)):
        cols[(nodes[c], metrics[c], stats[c])] = c
    data = [r for r in rows[3:] if r and r[0] not in ("", "unix_timestamp")]
    return cols, data


def series(cols, data, metric, stat):
    out = {}
    for (node, m, s), c in cols.items():
        if m == metric and s == stat:
            out[node] = [float(r[c]) if c < len(r) and r[c] != "" else None for r in data]
    return out


def fit(values):
    xs = [v for v in values if v is not None]
    if len(xs) < 10:
        return None
    if statistics.pstdev(xs) == 0:
        mean = statistics.fmean(xs)
        return lambda x: abs(x - mean), 0.0
    med = statistics.median(xs)
    mad = statistics.median([abs(x - med) for x in xs])
    if mad == 0:
        return lambda x: 0.0 if x == med else float("inf"), THRESHOLD
    return lambda x: abs(x - med) / mad, THRESHOLD


def graph(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    callees = defaultdict(set)
    header = rows[0]
    for r in rows[1:]:
        for j in range(1, len(r)):
            if r[j] and float(r[j]) != 0.0:
                callees[r[0]].add(header[j])
    return callees


def analyze(callees, target, metric, stat, normal, issue):
    norm = {}
    for cols, data in normal:
        for node, vs in series(cols, data, metric, stat).items():
            norm.setdefault(node, []).extend(vs)
    detectors = {n: fit(vs) for n, vs in norm.items()}
    cols, data = issue
    cur = series(cols, data, metric, stat)
    scores, flags = {}, {}
    for node, vs in cur.items():
        d = detectors.get(node)
        s = [0.0 if (d is None or v is None) else d[0](v) for v in vs]
        scores[node] = s
        flags[node] = [d is not None and v is not None and x > d[1] for v, x in zip(vs, s)]
    if target not in flags:
        return []
    row = 2
    for i in range(2, len(data)):
        if flags[target][i]:
            row = i
            break
    if not flags[target][row]:
        return []
    anomalous = {n: scores[n][row] for n in flags if flags[n][row]}
    roots = [n for n in anomalous if not (callees.get(n, set()) & set(anomalous))]
    callers = defaultdict(set)
    for a, bs in callees.items():
        for b in bs:
            callers[b].add(a)
    result = {}
    for r in roots:
        # Best all-anomalous simple path r -> ... -> target, walking to callers.
        best = None
        stack = [(r, [r])]
        while stack:
            node, path = stack.pop()
            if node == target:
                s = sum(anomalous[n] for n in set(path))
                best = s if best is None else max(best, s)
                continue
            for nxt in callers.get(node, ()):
                if nxt in anomalous and nxt not in path:
                    stack.append((nxt, path + [nxt]))
        if best is not None:
            result[r] = best
    return sorted(result, key=lambda n: -result[n])


def main(data_dir):
    scenarios = sorted(d for d in os.listdir(data_dir) if os.path.isdir(os.path.join(data_dir, d)))
    normals = {}
    for s in scenarios:
        p = os.path.join(data_dir, s, "noissue", "metrics.csv")
        if os.path.exists(p):
            normals[s] = read_metrics(p)
    tally = defaultdict(lambda: [0, 0, 0])
    for s in scenarios:
        normal = [normals[s]] if s in normals else list(normals.values())
        callees = graph(os.path.join(data_dir, s, "graph.csv"))
        for split in ("train", "test"):
            base = os.path.join(data_dir, s, split)
            if not os.path.isdir(base):
                continue
            for issue in sorted(os.listdir(base)):
                with open(os.path.join(base, issue, "target.json")) as f:
                    t = json.load(f)
                tg = t["target"]
                ranked = analyze(callees, tg["node"], tg["metric"], tg["agg"], normal,
                                 read_metrics(os.path.join(base, issue, "metrics.csv")))
                truth = t["root_cause"]["node"]
                rank = ranked.index(truth) + 1 if truth in ranked else None
                print(f"{s}/{split}/{issue} {tg['metric']} rank {rank} top3 {ranked[:3]}",
                      file=sys.stderr)
                for key in (tg["metric"], "all"):
                    c = tally[(s, key)]
                    c[0] += 1
                    c[1] += rank is not None and rank <= 1
                    c[2] += rank is not None and rank <= 3
    print("scenario             target        issues  top1    top3")
    for (s, k), (n, h1, h3) in sorted(tally.items()):
        print(f"{s:<20} {k:<13} {n:>6}  {100 * h1 / n:>5.1f} % {100 * h3 / n:>5.1f} %")


if __name__ == "__main__":
    main(sys.argv[1])
