#!/usr/bin/env python3
"""The server's live heap per idle WebSocket (or SSE stream), split by what each step adds.

    python3 bench/heap.py [BIN_DIR] [N] [ws|sse|stomp] [-- extra dungeontalk flags]

Starts a release `dungeontalk` on a free port, then in N/100 rooms of 100: makes N guests, opens
N `/ws` sockets (raw handshakes, nothing read after CONNECTED), sends each socket's JOIN (every
socket then receives its room's JOINs and presence). With `sse`, N room event streams instead
(raw requests, nothing read after `connected`; a stream has no JOIN step). With `stomp`, N
`/ws-chat` connections: CONNECT (no heart-beats), then SUBSCRIBE to the room and JOIN. After each step it reads jemalloc's live
bytes from /metrics (`dungeontalk_heap_bytes{kind="allocated"}`). Live bytes do not move with
the allocator's page reuse or this machine's noise the way RSS does (`dtbench idle` measures
RSS, beside the peers): use this one to see what a change to per-connection state saves.
"""
import base64, json, os, re, socket, subprocess, sys, tempfile, time, urllib.request

args = sys.argv[1:]
extra = args[args.index("--") + 1:] if "--" in args else []
args = args[:args.index("--")] if "--" in args else args
cache = os.environ.get("CARGO_TARGET_DIR") or os.path.join(
    os.environ.get("DUNGEONTALK_CACHE", os.path.expanduser("~/.cache/dungeontalk-target")), "native")
bin_dir = args[0] if args and args[0] else os.path.join(cache, "release")
n = int(args[1]) if len(args) > 1 else 2000
transport = args[2] if len(args) > 2 else "ws"

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

port = free_port(); base = f"http://127.0.0.1:{port}"
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "dungeontalk.args")) as f:
    unlimited = f.read().split()
# The store's page cache (`store_cache_bytes`, 64 MiB) fills with the JOINs' pages: a bounded cost
# of the store, not of a connection, and at a few thousand sockets it would read as kilobytes each.
small_cache = ["--store-cache-bytes", str(1 << 20)]
server = subprocess.Popen([os.path.join(bin_dir, "dungeontalk"), "--bind", f"127.0.0.1:{port}", "--data-dir",
                           tempfile.mkdtemp(), "--log", "warn", *unlimited, *small_cache, *extra],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def call(method, path, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token: headers["authorization"] = "Bearer " + token
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(base + path, data, headers, method=method)) as r:
        return json.loads(r.read() or b"null")

def allocated():
    text = urllib.request.urlopen(base + "/metrics").read().decode()
    return int(float(re.search(r'dungeontalk_heap_bytes\{kind="allocated"\} (\S+)', text).group(1)))

def drain(sockets):
    """Takes what the sockets were sent, so no socket holds a backlog on the server."""
    for s in sockets:
        s.setblocking(False)
        try:
            while s.recv(1 << 20): pass
        except BlockingIOError: pass

def heap(sockets=()):
    """Live bytes once they stop falling, the sockets read meanwhile: what a step leaves in flight
    (the store's journal waiting for its applier, frames on their way) is given back over
    seconds, and is not what an idle connection keeps."""
    time.sleep(3)
    drain(sockets)
    last = allocated()
    for _ in range(15):
        time.sleep(2)
        drain(sockets)
        now = allocated()
        if now > last - max(last // 200, 64 * 1024):
            return min(now, last)
        last = now
    return last

def masked(text):
    payload, mask = text.encode(), os.urandom(4)
    n = len(payload)
    head = bytes([0x81, 0x80 | n]) if n < 126 else bytes([0x81, 0x80 | 126, n >> 8, n & 0xFF])
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))

try:
    for _ in range(200):
        try: urllib.request.urlopen(base + "/healthz"); break
        except OSError: time.sleep(0.1)
    owner = call("POST", "/api/auth/guest", {"nickname": "owner"})["accessToken"]
    rooms = [call("POST", "/api/rooms", {"name": f"heap-{i}", "maxCapacity": 0}, owner)["roomId"]
             for i in range((n + 99) // 100)]
    start = heap()
    tokens = [call("POST", "/api/auth/guest", {"nickname": "idle"})["accessToken"] for _ in range(n)]
    guests = heap()
    sockets = []
    for i, token in enumerate(tokens):
        s = socket.create_connection(("127.0.0.1", port))
        if transport == "sse":
            s.sendall(f"GET /api/rooms/{rooms[i // 100]}/events?token={token} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        else:
            key = base64.b64encode(os.urandom(16)).decode()
            path, proto = ("/ws-chat", "Sec-WebSocket-Protocol: v12.stomp\r\n") if transport == "stomp" else ("/ws", "")
            s.sendall(f"GET {path}?token={token}&roomId={rooms[i // 100]} HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{proto}\r\n".encode())
            if transport == "stomp":
                got = b""
                while b"\r\n\r\n" not in got:
                    got += s.recv(65536)
                s.sendall(masked("CONNECT\naccept-version:1.2\nheart-beat:0,0\n\n\0"))
        got = b""
        while b"CONNECTED" not in got:
            got += s.recv(65536)
        sockets.append(s)
    opened = heap()
    kib = lambda a, b: (b - a) / n / 1024
    if transport == "sse":
        print(f"{n} idle SSE streams, live heap KiB each:  guest {kib(start, guests):.2f}  "
              f"stream {kib(guests, opened):.2f}  total {kib(start, opened):.2f}")
        sys.exit(0)
    for i, s in enumerate(sockets):
        if transport == "stomp":
            room = rooms[i // 100]
            s.sendall(masked(f"SUBSCRIBE\nid:r\ndestination:/sub/chat/room/{room}\n\n\0"))
            join = json.dumps({"type": "JOIN", "roomId": room})
            s.sendall(masked(f"SEND\ndestination:/pub/chat/send\ncontent-length:{len(join)}\n\n{join}\0"))
        else:
            s.sendall(masked('{"type":"JOIN"}'))
    joined = heap(sockets)
    print(f"{n} idle {'/ws-chat (STOMP)' if transport == 'stomp' else '/ws'}, live heap KiB each:  guest {kib(start, guests):.2f}  socket {kib(guests, opened):.2f}  "
          f"join {kib(opened, joined):.2f}  total {kib(start, joined):.2f}")
finally:
    server.terminate(); server.wait()
