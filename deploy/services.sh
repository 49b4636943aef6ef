# Sourced, not run: starts the backends a distributed node needs, one process each, on free ports
# of this machine: Redis, a Kafka-API broker (nisshi) and a MongoDB-wire server (SecantusDB).
# `deploy/cluster.sh` puts two nodes and haproxy in front of them; `bench/compare.sh --quick` runs
# its durable smoke against them. The caller sets DIR (data and logs), PIDS (an array: every
# process started is appended) and REDIS, NISSHI, SECANTUS (the programs); `svc_backends` sets
# REDIS_PORT, KAFKA_PORT and MONGO_PORT; SVC_WHO names the caller in errors. Stopping them, by PID,
# is the caller's job.

# svc_free_port: a free port well below the kernel's ephemeral range, so that nothing binding port 0
# or connecting out is handed it before the service binds it; and below the 12 000 ports under
# that range, which the API tests hand their own services (a test that stops a Redis and starts it
# again on its port would otherwise meet this cluster's on it).
svc_free_port() {
  python3 -c '
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
top = max(2048, low - 12000)
while True:
    port = random.randrange(max(1024, top - 12000), top)
    try:
        socket.socket().bind(("127.0.0.1", port))
        print(port)
        break
    except OSError:
        pass'
}

# svc_start NAME COMMAND...: runs it in the background, output to DIR/NAME.log.
svc_start() {
  local name=$1
  shift
  "$@" >"$DIR/$name.log" 2>&1 &
  PIDS+=($!)
  echo "$! $name" >>"$DIR/pids"
}

# svc_http_ok PORT PATH: whether GET PATH answers 200 (bash's /dev/tcp: no curl needed).
svc_http_ok() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1"
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
    read -r -t 5 status <&3
    [[ $status == *" 200 "* ]]
  ) 2>/dev/null
}

# svc_wait_up NAME PORT [PATH]: until the port answers (an HTTP path: answers 200), 60 s at most;
# the process started as NAME must still run (one that could not bind its port ends at once, and
# whatever else listens there must not pass for it).
svc_wait_up() {
  local pid
  pid=$(awk -v n="$1" '$2 == n {p = $1} END {print p}' "$DIR/pids")
  for _ in $(seq 600); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "${SVC_WHO:-services}: $1 ended before it answered on port $2 (see $DIR/$1.log)" >&2
      tail -20 "$DIR/$1.log" >&2 || true
      exit 1
    fi
    if [ -n "${3:-}" ]; then
      svc_http_ok "$2" "$3" && return
    else
      (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return
    fi
    sleep 0.1
  done
  echo "${SVC_WHO:-services}: $1 did not come up on port $2 (see $DIR/$1.log)" >&2
  tail -20 "$DIR/$1.log" >&2 || true
  exit 1
}

# svc_backends: Redis, the broker and the store, each answering on its port when this returns.
svc_backends() {
  : >>"$DIR/pids"
  REDIS_PORT=$(svc_free_port)
  KAFKA_PORT=$(svc_free_port)
  MONGO_PORT=$(svc_free_port)
  mkdir -p "$DIR/redis" "$DIR/kafka" "$DIR/mongo"
  svc_start redis "$REDIS" --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$DIR/redis" --save "" --appendonly yes
  # The broker keeps its log in memory here (the engine the tests vet most); Redis and the store
  # keep theirs in DIR.
  svc_start kafka "$NISSHI" broker --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" --storage-engine "memory://nisshi/" \
    --group-initial-rebalance-delay 0s
  svc_start mongo "$SECANTUS" --host 127.0.0.1 --port "$MONGO_PORT" --storage-path "$DIR/mongo" --cache-size 256M
  svc_wait_up redis "$REDIS_PORT"
  svc_wait_up kafka "$KAFKA_PORT"
  svc_wait_up mongo "$MONGO_PORT"
}
