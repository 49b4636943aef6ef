#!/usr/bin/env bash
# Reproduces the transport comparison in one run on this machine: builds the release binaries,
# starts each server fresh (DungeonTalk embedded, Socket.IO 4 on Node, socketioxide, the bare
# broadcast peer), drives the same load with dtbench, and writes bench/results/results.json and
# the SVG plots next to it. About 15 minutes on 2 cores.
#   bash bench/compare.sh            the full comparison
#   bash bench/compare.sh --quick    small numbers, seconds (the CI smoke run uses the same path)
# The durable path (a node with Kafka as its log, MongoDB as its store, Redis beside them) is
# measured too, as the server `dungeontalk-durable`, when these name real services:
#   DTBENCH_KAFKA_BROKERS=HOST:PORT DTBENCH_MONGODB_URI=mongodb://HOST:PORT DTBENCH_REDIS_URL=redis://HOST:PORT
# (each run gets a topic, consumer group and database of its own). The quick run starts this
# machine's test stand-ins for them (deploy/services.sh: nisshi, SecantusDB, redis-server) to check
# the counting through that path, never its speed: SecantusDB is a test double.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=.ci/cpu-features.sh
source .ci/cpu-features.sh
QUICK=${1:-}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${DUNGEONTALK_CACHE:-$HOME/.cache/dungeontalk-target}/native}
OUT=${DTBENCH_OUT:-bench/results}
PROFILE=release
[ "$QUICK" = --quick ] && PROFILE=debug
BIN=$CARGO_TARGET_DIR/$PROFILE
say() { printf '\033[1m[compare]\033[0m %s\n' "$*"; }

PACKAGES=(-p dungeontalk -p dungeontalk-bench -p bench-peer-bare -p bench-peer-socketioxide)
if [ "$QUICK" != --quick ]; then
  bash .ci/setup tools >/dev/null
  say "building release binaries"
  cargo build --release --locked "${PACKAGES[@]}"
else
  cargo build --locked "${PACKAGES[@]}"
fi
if [ ! -d bench/peers/socketio/node_modules/socket.io ]; then
  say "npm: installing the Socket.IO peer (socket.io 4.8.1)"
  (cd bench/peers/socketio && npm ci --silent --no-audit --no-fund)
fi
mkdir -p "$OUT"
rm -f "$OUT/results.json"

PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
  echo "nothing listens on $1" >&2; return 1
}

# The load generator, not the server's limits, must set the pace (bench/dungeontalk.args).
mapfile -t DT_ARGS < bench/dungeontalk.args
SERVER_PID=
# start NAME PORT: starts one server, fresh, on PORT.
start() {
  local name=$1 port=$2
  case $name in
    dungeontalk)
      "$BIN/dungeontalk" --bind "127.0.0.1:$port" --data-dir "$(mktemp -d)" --log warn "${DT_ARGS[@]}" >/dev/null &;;
    socketio) node bench/peers/socketio/server.js --port "$port" >/dev/null &;;
    socketioxide) "$BIN/bench-peer-socketioxide" --bind "127.0.0.1:$port" >/dev/null &;;
    bare) "$BIN/bench-peer-bare" --bind "127.0.0.1:$port" >/dev/null &;;
    dungeontalk-durable) start_durable "$port";;
  esac
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_port "$port"
  [ "$name" != dungeontalk-durable ] || ready "$port"
}
stop() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }

kind_of() { case $1 in dungeontalk*) echo dt;; socketio|socketioxide) echo sio;; bare) echo bare;; esac; }

# shellcheck source=deploy/services.sh
source deploy/services.sh
DURABLE=
if [ "$QUICK" = --quick ]; then
  DIR=$(mktemp -d -t dtbench-services.XXXXXX)
  TOOLS=${DUNGEONTALK_TOOLS:-$HOME/.cache/dungeontalk-tools}
  REDIS=${DUNGEONTALK_REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}
  NISSHI=${DUNGEONTALK_NISSHI:-$TOOLS/nisshi/bin/nisshi}
  SECANTUS=${DUNGEONTALK_SECANTUS:-$TOOLS/secantus/bin/secantusd-py}
  SVC_WHO=compare
  say "starting the durable path's test stand-ins (Redis, nisshi, SecantusDB)"
  svc_backends
  DTBENCH_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
  DTBENCH_MONGODB_URI=mongodb://127.0.0.1:$MONGO_PORT
  DTBENCH_REDIS_URL=redis://127.0.0.1:$REDIS_PORT
fi
if [ -n "${DTBENCH_KAFKA_BROKERS:-}" ] && [ -n "${DTBENCH_MONGODB_URI:-}" ] && [ -n "${DTBENCH_REDIS_URL:-}" ]; then
  DURABLE=1
fi
RUN_TAG=dtbench_$(date +%s)_$$
RUNS=0
# A node of the durable path, fresh: its own topic, consumer group and database.
start_durable() {
  local port=$1 db
  RUNS=$((RUNS + 1))
  db=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' \
    "$DTBENCH_MONGODB_URI" "${RUN_TAG}_$RUNS")
  DUNGEONTALK_KAFKA_BROKERS=$DTBENCH_KAFKA_BROKERS DUNGEONTALK_KAFKA_TOPIC="${RUN_TAG}_$RUNS" \
    DUNGEONTALK_KAFKA_STORE_GROUP="${RUN_TAG}_$RUNS" DUNGEONTALK_MONGODB_URI=$db \
    DUNGEONTALK_REDIS_URL=$DTBENCH_REDIS_URL DUNGEONTALK_JWT_SECRET=$(head -c 32 /dev/urandom | base64 -w0) \
    "$BIN/dungeontalk" --bind "127.0.0.1:$port" --data-dir "$(mktemp -d)" --log warn "${DT_ARGS[@]}" >/dev/null &
}
# ready PORT: until GET /readyz answers 200 (the durable node has its topic and store), 60 s at most.
ready() {
  for _ in $(seq 1 600); do
    svc_http_ok "$1" /readyz && return 0
    sleep 0.1
  done
  echo "the durable node on $1 is not ready" >&2; return 1
}

if [ "$QUICK" = --quick ]; then
  ROOMS=4; SUBS=5; RATES=20,40; STEP=1; IDLE=50; STORM=40; BIG=""; BIG_RATES=""
else
  ROOMS=100; SUBS=10; RATES=1000,5000,10000,15000,20000,25000,30000,40000,50000,70000,100000; STEP=4; IDLE=2000; STORM=10000
  BIG=100; BIG_RATES=100,250,500,750,1000,1500,2000
fi

# One dtbench run, at most RUN_LIMIT seconds: a run that hangs (a server that stops answering)
# must not stall the comparison. The full comparison goes on without that result and says so;
# the CI smoke run fails.
RUN_LIMIT=${DTBENCH_RUN_LIMIT:-480}
dtbench() {
  timeout "$RUN_LIMIT" "$BIN/dtbench" "$@" && return 0
  [ "$QUICK" = --quick ] && { say "dtbench $1 failed"; return 1; }
  say "no result (failed or ran past ${RUN_LIMIT}s): dtbench $*"
}

# fanout SERVER TRANSPORT ROOMS SUBS RATES
fanout() {
  local port; port=$(free_port)
  start "$1" "$port"
  dtbench fanout --kind "$(kind_of "$1")" --transport "$2" --url "http://127.0.0.1:$port" --server "$1" \
    --rooms "$3" --subs "$4" --rates "$5" --step-secs "$STEP" --out "$OUT/results.json"
  stop
}
idle() {
  local port; port=$(free_port)
  start "$1" "$port"
  dtbench idle --kind "$(kind_of "$1")" --transport "$2" --url "http://127.0.0.1:$port" --server "$1" \
    --conns "$IDLE" --pid "$SERVER_PID" --out "$OUT/results.json"
  stop
}
storm() {
  local port; port=$(free_port)
  start "$1" "$port"
  dtbench storm --kind "$(kind_of "$1")" --transport "$2" --url "http://127.0.0.1:$port" --server "$1" \
    --clients "$STORM" --rooms "$ROOMS" --out "$OUT/results.json"
  stop
}

for t in ws ws-compact sse poll stomp; do fanout dungeontalk $t $ROOMS $SUBS $RATES; done
for t in ws poll; do fanout socketio $t $ROOMS $SUBS $RATES; done
for t in ws poll; do fanout socketioxide $t $ROOMS $SUBS $RATES; done
fanout bare ws $ROOMS $SUBS $RATES
if [ -n "$DURABLE" ]; then
  fanout dungeontalk-durable ws $ROOMS $SUBS $RATES
else
  say "the durable path is not measured: set DTBENCH_KAFKA_BROKERS, DTBENCH_MONGODB_URI and DTBENCH_REDIS_URL"
fi
if [ -n "$BIG" ]; then
  # 10k connections: 100 rooms × 100.
  for s in dungeontalk socketioxide bare; do fanout $s ws $ROOMS $BIG $BIG_RATES; done
fi
for s in dungeontalk socketio socketioxide bare; do idle $s ws; done
idle dungeontalk sse
idle dungeontalk stomp
for s in dungeontalk socketio socketioxide bare; do storm $s ws; done
"$BIN/dtbench" plot --results "$OUT/results.json" --dir "$OUT"
python3 bench/check.py "$OUT" ${DURABLE:+--durable}
say "results: $OUT/results.json and the SVG plots in $OUT"
