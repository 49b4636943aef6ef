#!/usr/bin/env bash
# Server CPU per delivery at one steady load: what a change to the delivery path costs, in a form
# this machine's noise does not move much. Throughput and latency swing by tens of percent between
# runs here (the VM loses up to half its CPU to steal); the CPU time the server itself uses per
# delivered frame does not. Compare two builds in alternating runs.
#   bash bench/cost.sh [BIN_DIR] [ROOMS] [SUBS] [MSGS_PER_SEC] [SECS]
#   bash bench/cost.sh "" 100 100 200      10k WebSockets, 20k deliveries/s (release binaries)
#   TRANSPORT=stomp bash bench/cost.sh      another transport (ws, sse, poll, stomp; default ws)
# Prints deliveries/s, the server's CPU share, µs of server CPU per delivery, and the step's
# latency (from dtbench's JSON). Uses /proc/PID/stat and the server's own deliveries counter.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-${CARGO_TARGET_DIR:-${DUNGEONTALK_CACHE:-$HOME/.cache/dungeontalk-target}/native}/release}
ROOMS=${2:-100}; SUBS=${3:-10}; RATE=${4:-2000}; SECS=${5:-10}
GRACE_MS=1500
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mapfile -t DT_ARGS < bench/dungeontalk.args
"$BIN/dungeontalk" --bind "127.0.0.1:$PORT" --data-dir "$WORK/data" --log warn "${DT_ARGS[@]}" >/dev/null 2>&1 &
PID=$!
MON=
trap 'kill $PID ${MON:-} 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
# One sample a second: wall clock, the server's CPU ticks (user + system), deliveries so far.
(while kill -0 "$PID" 2>/dev/null; do
  d=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^dungeontalk_deliveries_total/{s+=$2} END{print s+0}')
  echo "$(date +%s.%N) $(awk '{print $14+$15}' "/proc/$PID/stat") $d"
  sleep 1
done) >"$WORK/samples" &
MON=$!
"$BIN/dtbench" fanout --kind dt --transport "${TRANSPORT:-ws}" --url "http://127.0.0.1:$PORT" --server dungeontalk \
  --rooms "$ROOMS" --subs "$SUBS" --rates "$RATE" --step-secs "$SECS" --grace-ms "$GRACE_MS" \
  --out "$WORK/run.json" >/dev/null 2>&1
END=$(date +%s.%N)
python3 - "$WORK/samples" "$WORK/run.json" "$END" "$SECS" "$GRACE_MS" "$(getconf CLK_TCK)" <<'PY'
import json, sys
samples, run, end, secs, grace, hz = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]) / 1000, float(sys.argv[6])
rows = [tuple(map(float, l.split())) for l in open(samples) if len(l.split()) == 3]
# Whole sample intervals inside the step, its first second skipped (the crowd's joins settle).
lo, hi = end - grace - secs + 1.0, end - grace
steady = [(b[1] - a[1], b[2] - a[2]) for a, b in zip(rows, rows[1:]) if a[0] >= lo and b[0] <= hi]
if not steady:
    sys.exit("cost.sh: no whole second inside the step; give it more seconds")
cpu = sum(t for t, _ in steady) / hz
n = sum(d for _, d in steady)
step = json.load(open(run))["fanout"][0]["steps"][0]
lat = step["latency"]
print(f"{n / len(steady):.0f} deliveries/s  server CPU {100 * cpu / len(steady):.0f} %  "
      f"{cpu * 1e6 / max(n, 1):.2f} us/delivery  p50 {lat['p50']:.2f} ms  p99 {lat['p99']:.2f} ms  lost {step['lost']}")
PY
