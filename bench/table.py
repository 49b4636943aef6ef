#!/usr/bin/env python3
"""Prints the README's comparison table (Markdown) from a results file.

    python3 bench/table.py bench/results/results.json
"""
import json
import sys

r = json.load(open(sys.argv[1] if len(sys.argv) > 1 else "bench/results/results.json"))
idle = {(i["server"], i["transport"]): i["kib_per_connection"] for i in r["idle"]}
storm = {(s["server"], s["transport"]): s for s in r["storm"]}
big = {(f["server"], f["transport"]): f for f in r["fanout"] if f["rooms"] * f["subscribers_per_room"] > 1000}
clients = max((s["clients"] for s in r["storm"]), default=0)

print(f"Machine: {r['machine']}; 100 rooms × 10 subscribers + a sender per room unless noted.\n")
print("| server | transport | max sustained deliveries/s | light load p50 / p99 ms | bytes per delivery "
      f"| KiB per idle connection | 10k connections: max deliveries/s | reconnect storm, {clients} clients: back / caught up ms |")
print("|---|---|---|---|---|---|---|---|")
for f in r["fanout"]:
    if f["rooms"] * f["subscribers_per_room"] != 1000:
        continue
    key = (f["server"], f["transport"])
    light = f["steps"][0]
    kib = f"{idle[key]:.1f}" if key in idle else "–"
    s = storm.get(key)
    st = f"{s['reconnected_ms']:.0f} / {s['caught_up_ms']:.0f}" if s else "–"
    if s and s["failed"]:
        st += f" ({s['failed']} failed)"
    b = big.get(key)
    bg = f"{b['max_sustained'] / 1000:.0f}k" if b else "–"
    print(f"| {f['server']} | {f['transport']} | {f['max_sustained'] / 1000:.0f}k | "
          f"{light['latency']['p50']:.2f} / {light['latency']['p99']:.2f} | {light['bytes_per_delivery']:.0f} | "
          f"{kib} | {bg} | {st} |")
for key, kib in idle.items():
    if not any((f["server"], f["transport"]) == key for f in r["fanout"]):
        print(f"| {key[0]} | {key[1]} (idle only) | – | – | – | {kib:.1f} | – | – |")
