#!/usr/bin/env bash
# A local DungeonTalk cluster, one process each: Redis, a Kafka-API broker (nisshi), a
# MongoDB-wire server (SecantusDB), two dungeontalk nodes, and haproxy in front of them on one port.
#   bash deploy/cluster.sh [--port 8080]
# `bash .ci/setup cluster` installs what is missing, builds, and runs this. Ctrl-C (or SIGTERM)
# stops every process it started, by PID, and waits for each. The programs (env, else the defaults
# `bash .ci/setup tools` installs): DUNGEONTALK_BIN, DUNGEONTALK_NISSHI, DUNGEONTALK_SECANTUS,
# DUNGEONTALK_REDIS_SERVER, DUNGEONTALK_HAPROXY. Data and logs go to DUNGEONTALK_CLUSTER_DIR (default:
# a new temporary folder); its `pids` file lists every process started.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=8080
while [ $# -gt 0 ]; do
  case $1 in
    --port) PORT=$2; shift 2 ;;
    *) sed -n '2,10p' "$0"; exit 2 ;;
  esac
done

TOOLS=${DUNGEONTALK_TOOLS:-$HOME/.cache/dungeontalk-tools}
CACHE=${DUNGEONTALK_CACHE:-$HOME/.cache/dungeontalk-target}
BIN=${DUNGEONTALK_BIN:-${CARGO_TARGET_DIR:-$CACHE/native}/release/dungeontalk}
NISSHI=${DUNGEONTALK_NISSHI:-$TOOLS/nisshi/bin/nisshi}
SECANTUS=${DUNGEONTALK_SECANTUS:-$TOOLS/secantus/bin/secantusd-py}
REDIS=${DUNGEONTALK_REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}
HAPROXY=${DUNGEONTALK_HAPROXY:-$(command -v haproxy || echo /usr/sbin/haproxy)}
for tool in "$BIN" "$NISSHI" "$SECANTUS" "$REDIS" "$HAPROXY"; do
  [ -x "$tool" ] || { echo "cluster: $tool is missing (run: bash .ci/setup cluster)" >&2; exit 1; }
done

DIR=${DUNGEONTALK_CLUSTER_DIR:-$(mktemp -d -t dungeontalk-cluster.XXXXXX)}
mkdir -p "$DIR"
: >"$DIR/pids"
PIDS=()

say() { printf '\033[1m[cluster]\033[0m %s\n' "$*"; }

stop() {
  trap - INT TERM EXIT
  say "stopping ${#PIDS[@]} processes"
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # Whatever has not ended after 10 s is killed.
  for _ in $(seq 100); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

SVC_WHO=cluster
# shellcheck source=deploy/services.sh
source deploy/services.sh
svc_backends

# Every node signs and checks tokens with one secret; it never leaves the cluster folder.
SECRET_FILE="$DIR/jwt-secret"
[ -s "$SECRET_FILE" ] || head -c 48 /dev/urandom | base64 -w0 >"$SECRET_FILE"
chmod 600 "$SECRET_FILE"

NODE_PORTS=()
for n in 1 2; do
  port=$(svc_free_port)
  NODE_PORTS+=("$port")
  mkdir -p "$DIR/node$n"
  svc_start "node$n" env \
    DUNGEONTALK_CONFIG=deploy/node.toml \
    DUNGEONTALK_BIND="127.0.0.1:$port" \
    DUNGEONTALK_DATA_DIR="$DIR/node$n" \
    DUNGEONTALK_NODE_ID="node$n" \
    DUNGEONTALK_JWT_SECRET="$(cat "$SECRET_FILE")" \
    DUNGEONTALK_REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
    DUNGEONTALK_KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT" \
    DUNGEONTALK_MONGODB_URI="mongodb://127.0.0.1:$MONGO_PORT/dungeontalk" \
    "$BIN"
done
for n in 1 2; do svc_wait_up "node$n" "${NODE_PORTS[$((n - 1))]}" /readyz; done

svc_start lb env DT_LB_ADDR="127.0.0.1:$PORT" DT_NODE1_ADDR="127.0.0.1:${NODE_PORTS[0]}" \
  DT_NODE2_ADDR="127.0.0.1:${NODE_PORTS[1]}" "$HAPROXY" -db -f deploy/haproxy.cfg
svc_wait_up lb "$PORT" /readyz

say "running (data and logs in $DIR):"
printf '  %-8s %-22s pid %s\n' \
  haproxy "127.0.0.1:$PORT" "${PIDS[5]}" \
  node1 "127.0.0.1:${NODE_PORTS[0]}" "${PIDS[3]}" \
  node2 "127.0.0.1:${NODE_PORTS[1]}" "${PIDS[4]}" \
  redis "127.0.0.1:$REDIS_PORT" "${PIDS[0]}" \
  kafka "127.0.0.1:$KAFKA_PORT" "${PIDS[1]}" \
  mongodb "127.0.0.1:$MONGO_PORT" "${PIDS[2]}"
say "open http://127.0.0.1:$PORT in two browsers; Ctrl-C stops everything"
echo "ready" >"$DIR/ready"

# Runs until a signal; a node that dies (kill -9 for the demo) leaves the rest running.
while :; do sleep 1; done
