#!/usr/bin/env bash
# Measures the game master on this machine: starts a fresh release server with the local model
# (`gm = local`), measures chat echo in a room with no game running, then plays two 10-turn games
# at once (three players each, matched through the queue) while chat goes on, and prints the
# first words' latency after each turn closes (p50, p99), the model's tokens/s, the server's RSS
# and chat p99 beside the games. Writes bench/results/game.json, bench/results/game.svg, and
# docs/sample-game.md (the first game as the local narrator played it, unedited).
#   bash bench/game.sh           the measurement (a few minutes; builds release once)
#   bash bench/game.sh --quick   the CI smoke run: debug build, script narrator, 2 turns, no files
#   bash bench/game.sh --cluster two nodes over Redis, the broker and the MongoDB-wire server (this
#                                machine's stand-ins, deploy/services.sh): the second player of each
#                                game reads it on the other node, and each chunk's hop is measured
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=.ci/cpu-features.sh
source .ci/cpu-features.sh
QUICK=${1:-}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${DUNGEONTALK_CACHE:-$HOME/.cache/dungeontalk-target}/native}
say() { printf '\033[1m[game-bench]\033[0m %s\n' "$*"; }
MODEL=${DUNGEONTALK_GM_MODEL_PATH:-${DUNGEONTALK_TOOLS:-$HOME/.cache/dungeontalk-tools}/models/smollm2-135m-instruct-q4_1.gguf}

if [ "$QUICK" = --quick ]; then
  PROFILE=debug OUT=$(mktemp -d) GM=script TURNS=2 BASELINE=2
  cargo build --locked -p dungeontalk -p dungeontalk-bench
elif [ "$QUICK" = --cluster ]; then
  PROFILE=release OUT=bench/results GM=local TURNS=10 BASELINE=10
  cargo build --release --locked -p dungeontalk -p dungeontalk-bench
else
  PROFILE=release OUT=bench/results GM=local TURNS=10 BASELINE=20
  [ -f "$MODEL" ] || { echo "no model at $MODEL: run bash .ci/setup tools" >&2; exit 1; }
  say "building release binaries"
  cargo build --release --locked -p dungeontalk -p dungeontalk-bench
fi
BIN=$CARGO_TARGET_DIR/$PROFILE
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DATA=$(mktemp -d)
LOG=$(mktemp)
mapfile -t DT_ARGS < bench/dungeontalk.args
export DUNGEONTALK_GM=$GM DUNGEONTALK_GM_MODEL_PATH=$MODEL DUNGEONTALK_GAME_TURNS=$TURNS DUNGEONTALK_MATCH_SIZE=3
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$DATA"' EXIT INT TERM
wait_ready() {
  for _ in $(seq 1 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1"; printf 'GET /readyz HTTP/1.0\r\n\r\n' >&3; head -1 <&3 | grep -q " 200") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "the node on $1 is not ready" >&2; return 1
}
EXTRA=()
if [ "$QUICK" = --cluster ]; then
  # shellcheck source=deploy/services.sh
  source deploy/services.sh
  DIR=$DATA SVC_WHO=game-bench
  TOOLS=${DUNGEONTALK_TOOLS:-$HOME/.cache/dungeontalk-tools}
  REDIS=${DUNGEONTALK_REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}
  NISSHI=${DUNGEONTALK_NISSHI:-$TOOLS/nisshi/bin/nisshi}
  SECANTUS=${DUNGEONTALK_SECANTUS:-$TOOLS/secantus/bin/secantusd-py}
  svc_backends
  export DUNGEONTALK_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT DUNGEONTALK_KAFKA_TOPIC=game_bench
  export DUNGEONTALK_MONGODB_URI=mongodb://127.0.0.1:$MONGO_PORT/game_bench DUNGEONTALK_REDIS_URL=redis://127.0.0.1:$REDIS_PORT
  DUNGEONTALK_JWT_SECRET=$(head -c 32 /dev/urandom | base64 -w0)
  export DUNGEONTALK_JWT_SECRET
  PORT_B=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  DUNGEONTALK_NODE_ID=b "$BIN/dungeontalk" --bind "127.0.0.1:$PORT_B" --data-dir "$(mktemp -d)" --log info "${DT_ARGS[@]}" >"$LOG.b" 2>&1 &
  PIDS+=($!)
  EXTRA=(--url-b "http://127.0.0.1:$PORT_B")
  export DUNGEONTALK_NODE_ID=a
fi
"$BIN/dungeontalk" --bind "127.0.0.1:$PORT" --data-dir "$DATA/node" --log info "${DT_ARGS[@]}" >"$LOG" 2>&1 &
PID=$!
PIDS+=("$PID")
wait_ready "$PORT"
[ -z "${PORT_B:-}" ] || wait_ready "$PORT_B"

TRANSCRIPT=$(mktemp)
"$BIN/dtbench" game --url "http://127.0.0.1:$PORT" --pid "$PID" --games 2 --baseline-secs "$BASELINE" \
  --out "$OUT/game.json" --transcript "$TRANSCRIPT" "${EXTRA[@]}"
grep -m1 "game master:" "$LOG" || true
if [ "$QUICK" = --cluster ]; then
  exit 0
fi
if [ "$QUICK" = --quick ]; then
  grep -q "## The end" "$TRANSCRIPT" || { echo "the game did not reach its end" >&2; exit 1; }
  exit 0
fi
"$BIN/dtbench" plot --results "$OUT/game.json" --dir "$OUT/game-plots" >/dev/null
mv "$OUT/game-plots/game.svg" "$OUT/game.svg" && rm -rf "$OUT/game-plots"
{
  echo "# A sample game"
  echo
  echo "Three players, ten turns, narrated by the \`local\` game master (SmolLM2-135M-Instruct, Q4_1,"
  echo "in the server process) as it played on $(date -u +%Y-%m-%d) on this machine ($(nproc) cores)."
  echo "Written by \`bash bench/game.sh\`, which played it; unedited. The players' moves and rolls are"
  echo "the benchmark's canned ones; the dice, the outcomes and the arc come from the game's seeded plan,"
  echo "and each sentence after a player's name is the model's."
  echo
  cat "$TRANSCRIPT"
} > docs/sample-game.md
rm -f "$TRANSCRIPT"
say "wrote docs/sample-game.md, $OUT/game.json, $OUT/game.svg"
