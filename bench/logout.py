#!/usr/bin/env python3
"""Server CPU per logout while many WebSockets of other logins are open.

A logout must end its own connections on every node; what it costs should not grow with the
connections it does not end. Starts a server (release binaries), opens CONNS idle WebSockets, each
with its own guest login, then logs LOGOUTS other guests out one after another and reads the
server's CPU time (/proc/PID/stat) around them, with no connection open and with CONNS open.

    python3 bench/logout.py [BIN_DIR] [CONNS] [LOGOUTS]      (defaults: release dir, 10000, 500)
"""

import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("DUNGEONTALK_CACHE", os.path.expanduser("~/.cache/dungeontalk-target"))
DEFAULT_BIN = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(CACHE, "native")), "release")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)


class Api:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port)

    def call(self, method, path, body=None, token=None, want=200):
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != want:
            sys.exit(f"{method} {path} answered {resp.status}: {data[:200]!r}")
        return json.loads(data) if data else None

    def guest(self):
        return self.call("POST", "/api/auth/guest", {"nickname": "bench"})["accessToken"]


async def open_ws(port, token, room):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /ws?token={token}&roomId={room} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 101 " not in head.split(b"\r\n", 1)[0]:
        sys.exit(f"the WebSocket handshake failed: {head[:200]!r}")
    return reader, writer


async def open_all(port, tokens, room):
    open_now, sockets = asyncio.Semaphore(64), []

    async def one(token):
        async with open_now:
            sockets.append(await open_ws(port, token, room))

    await asyncio.gather(*(one(t) for t in tokens))
    return sockets


def logouts(api, pid, n):
    tokens = [api.guest() for _ in range(n)]
    before = cpu_ticks(pid)
    for token in tokens:
        api.call("POST", "/api/auth/logout", token=token, want=204)
    return (cpu_ticks(pid) - before) / os.sysconf("SC_CLK_TCK")


def main():
    bin_dir = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else DEFAULT_BIN
    conns = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    port = free_port()
    with open(os.path.join(ROOT, "bench", "dungeontalk.args")) as f:
        args = f.read().split()
    with tempfile.TemporaryDirectory() as work:
        server = subprocess.Popen(
            [os.path.join(bin_dir, "dungeontalk"), "--bind", f"127.0.0.1:{port}", "--data-dir", f"{work}/data",
             "--log", "warn", *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            api = Api(port)
            owner = api.guest()
            room = api.call("POST", "/api/rooms", {"name": "logout-bench", "maxCapacity": 0}, token=owner, want=201)["roomId"]
            alone = logouts(api, server.pid, n)
            tokens = [api.guest() for _ in range(conns)]
            loop = asyncio.new_event_loop()
            sockets = loop.run_until_complete(open_all(port, tokens, room))
            time.sleep(1)
            crowded = logouts(api, server.pid, n)
            print(f"{n} logouts: server CPU {1000 * alone / n:.3f} ms each with no connection open, "
                  f"{1000 * crowded / n:.3f} ms each with {len(sockets)} WebSockets of other logins open")
            for _, writer in sockets:
                writer.close()
        finally:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
