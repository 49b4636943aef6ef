#!/usr/bin/env python3
"""Checks a comparison's results (bench/compare.sh runs it): every server and transport was
measured, every message of the lightest step reached every subscriber exactly once (and at
every load that passed), the idle and storm numbers are there, and the JSON and SVG files parse.

Latency is printed and plotted, never asserted here: the CI smoke run is a debug build on a
shared machine, where a p99 limit would only measure the neighbours.

    python3 bench/check.py bench/results [--durable]

`--durable`: the run measured the durable path too (`dungeontalk-durable`), so it must be there.
"""
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

args = [a for a in sys.argv[1:] if a != "--durable"]
out = Path(args[0] if args else "bench/results")
results = json.loads((out / "results.json").read_text())
problems = []

want = {("dungeontalk", t) for t in ("ws", "ws-compact", "sse", "poll", "stomp")}
want |= {(s, t) for s in ("socketio", "socketioxide") for t in ("ws", "poll")} | {("bare", "ws")}
if "--durable" in sys.argv[1:]:
    want.add(("dungeontalk-durable", "ws"))
seen = {(f["server"], f["transport"]) for f in results["fanout"]}
problems += [f"no fan-out run for {s} {t}" for s, t in sorted(want - seen)]

for f in results["fanout"]:
    name = f"{f['server']} {f['transport']} ({f['rooms']}x{f['subscribers_per_room']})"
    first = f["steps"][0] if f["steps"] else None
    if not first or not first["sent"] or first["lost"] or first["duplicates"]:
        problems.append(f"{name}: the lightest step did not deliver everything once: {f['steps'][:1]}")
    for s in f["steps"]:
        if s["delivered"] + s["lost"] != s["expected"]:
            problems.append(f"{name} @ {s['rate']}: delivered + lost != expected")
        if s["passed"] and (s["lost"] or s["duplicates"] or s["delivered"] != s["expected"]):
            problems.append(f"{name} @ {s['rate']}: passed with a loss or a duplicate")
        if s["duplicates"]:
            problems.append(f"{name} @ {s['rate']}: {s['duplicates']} duplicates")

for i in results["idle"]:
    if i["connections"] <= 0 or i["rss_after_kib"] <= 0:
        problems.append(f"idle {i['server']} {i['transport']}: no measurement")
notes = []
for s in results["storm"]:
    if not s["failed"]:
        continue
    what = f"storm {s['server']}: {s['failed']} of {s['clients']} clients could not reconnect"
    # A peer that cannot take the full run's crowd at once is a result; ours failing, or anyone
    # failing the smoke run's few dozen clients, is a problem.
    if s["server"].startswith("dungeontalk") or s["clients"] <= 1000:
        problems.append(what)
    else:
        notes.append(what)
if not results["idle"] or not results["storm"]:
    problems.append("idle or storm results are missing")

for name in ("latency-cdf.svg", "throughput.svg", "memory.svg", "comparison.svg"):
    try:
        root = ET.parse(out / name).getroot()
        if not root.tag.endswith("svg"):
            problems.append(f"{name} is not an SVG")
    except Exception as e:  # noqa: BLE001 - any parse failure is a problem to report
        problems.append(f"{name}: {e}")

if problems:
    print("bench check FAILED:\n  " + "\n  ".join(problems))
    sys.exit(1)
for note in notes:
    print(f"bench check: note: {note}")
print(f"bench check: {len(results['fanout'])} fan-out runs, every delivery counted once; plots parse")
