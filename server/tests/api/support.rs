//! Spawning the server binary and talking to it like an outside client would.

use std::future::Future;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for one expected frame before failing.
const FRAME_WAIT: Duration = Duration::from_secs(10);

/// A JWT secret the tests know, so they can forge expired and wrongly signed tokens.
pub const JWT_SECRET: &str = "conformance-secret-conformance-secret-0123";

/// A server with a data dir of its own (keep the dir alive as long as the server) and the known
/// JWT secret, plus extra `DUNGEONTALK_*` settings.
pub async fn spawn(env: &[(&str, &str)]) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![("DUNGEONTALK_JWT_SECRET", JWT_SECRET)];
    all.extend_from_slice(env);
    (TestServer::spawn(dir.path(), &all).await, dir)
}

/// Checks `probe` again and again until it answers `Ok`, for at most 10 s; then fails with the
/// last `Err` (what was there instead). For server state that settles a moment after an action.
pub async fn eventually<T, Fut: Future<Output = Result<T, String>>>(mut probe: impl FnMut() -> Fut) -> T {
    let deadline = tokio::time::Instant::now() + FRAME_WAIT;
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(why) if tokio::time::Instant::now() >= deadline => panic!("still not so after 10 s: {why}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// A running `dungeontalk` process with its own data dir (or, from [`TestServer::at`], whatever
/// serves an address: a load balancer in front of several).
pub struct TestServer {
    child: Option<Child>,
    pub base: String,
    pub http: reqwest::Client,
}

impl TestServer {
    /// Starts the binary on a free port with `data_dir` and extra `DUNGEONTALK_*` env settings.
    pub async fn spawn(data_dir: &Path, env: &[(&str, &str)]) -> TestServer {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dungeontalk"));
        cmd.args(["--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("DUNGEONTALK_LOG", "warn")
            // Tests pump messages fast; the rate-limit test sets its own limits.
            .env("DUNGEONTALK_RATE_PER_SEC", "100000")
            .env("DUNGEONTALK_RATE_BURST", "100000")
            // The same for the other kinds of frames; their own tests set real limits.
            .env("DUNGEONTALK_MEMBERSHIP_RATE_PER_SEC", "100000")
            .env("DUNGEONTALK_MEMBERSHIP_BURST", "100000")
            .env("DUNGEONTALK_TYPING_RATE_PER_SEC", "100000")
            .env("DUNGEONTALK_TYPING_BURST", "100000")
            .env("DUNGEONTALK_ROOM_RATE_PER_SEC", "100000")
            .env("DUNGEONTALK_ROOM_BURST", "100000")
            // A closed socket's member goes soon (the linger's own test sets it longer).
            .env("DUNGEONTALK_WS_LINGER_MS", "200")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start dungeontalk");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("server announces its address")
            .unwrap()
            .expect("server printed a line");
        let base = line.rsplit(' ').next().unwrap().to_owned();
        assert!(base.starts_with("http://127.0.0.1:"), "unexpected first line {line}");
        TestServer { child: Some(child), base, http: reqwest::Client::new() }
    }

    /// The server process's id (for reading its memory).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().and_then(Child::id).expect("a running server this test started")
    }

    /// A client of a server the test did not start (it cannot stop or kill it).
    pub fn at(base: String) -> TestServer {
        TestServer { child: None, base, http: reqwest::Client::new() }
    }

    /// Sends SIGTERM (a graceful stop) without waiting for the exit.
    pub fn terminate(&self) {
        let pid = self.pid().to_string();
        let status = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub async fn stop(mut self) {
        self.terminate();
        let child = self.child.as_mut().expect("a server this test started");
        let exit = tokio::time::timeout(Duration::from_secs(20), child.wait()).await.unwrap().unwrap();
        assert!(exit.success(), "graceful shutdown exits 0, got {exit}");
    }

    /// Kills the process at once (SIGKILL): no goodbye to clients or backends.
    pub async fn kill(mut self) {
        let child = self.child.as_mut().expect("a server this test started");
        let pid = child.id().expect("running").to_string();
        let status = std::process::Command::new("kill").args(["-KILL", &pid]).status().unwrap();
        assert!(status.success());
        let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    }

    /// A guest session: (token, memberId).
    pub async fn guest(&self, nickname: &str) -> (String, String) {
        let body: Value = self
            .http
            .post(format!("{}/api/auth/guest", self.base))
            .json(&json!({"nickname": nickname}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (body["accessToken"].as_str().unwrap().into(), body["memberId"].as_str().unwrap().into())
    }

    /// Creates a room and returns its id.
    pub async fn room(&self, token: &str, name: &str) -> String {
        let resp = self
            .http
            .post(format!("{}/api/rooms", self.base))
            .bearer_auth(token)
            .json(&json!({"name": name, "maxCapacity": 0}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        resp.json::<Value>().await.unwrap()["roomId"].as_str().unwrap().into()
    }

    /// `GET` a JSON endpoint with a token.
    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let resp = self.http.get(format!("{}{path}", self.base)).bearer_auth(token).send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }

    /// Open connections of a transport, from `/metrics` (`dungeontalk_connections`).
    pub async fn connections(&self, transport: &str) -> u64 {
        let text = self.http.get(format!("{}/metrics", self.base)).send().await.unwrap().text().await.unwrap();
        let prefix = format!("dungeontalk_connections{{transport=\"{transport}\"}}");
        let line = text.lines().find(|l| l.starts_with(&prefix)).map(str::to_owned);
        line.and_then(|l| l.rsplit(' ').next().and_then(|n| n.parse::<u64>().ok())).unwrap_or(0)
    }

    /// `POST`s a client frame to a room's messages: (status, body).
    pub async fn post_frame(&self, token: &str, room: &str, frame: Value) -> (u16, Value) {
        let url = format!("{}/api/rooms/{room}/messages", self.base);
        let resp = self.http.post(url).bearer_auth(token).json(&frame).send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }

    /// Every stored event of a room that the token's member may see, oldest first.
    pub async fn history(&self, token: &str, room: &str) -> Vec<Value> {
        let (mut all, mut after) = (Vec::new(), 0);
        loop {
            let (status, page) = self.get(&format!("/api/rooms/{room}/messages?after={after}&limit=200"), token).await;
            assert_eq!(status, 200, "{page}");
            all.extend(page["events"].as_array().unwrap().iter().cloned());
            // `next` moves past whispers between others too, so it (not the last event) is the cursor.
            match page["next"].as_u64().unwrap() {
                next if next == after => return all,
                next => after = next,
            }
        }
    }

    /// Logs a token out (with the login's refresh cookie, if given); it must answer 204.
    pub async fn log_out(&self, token: &str, cookie: Option<&str>) {
        let mut req = self.http.post(format!("{}/api/auth/logout", self.base)).bearer_auth(token);
        if let Some(cookie) = cookie {
            req = req.header("Cookie", cookie);
        }
        assert_eq!(req.send().await.unwrap().status(), 204, "logout");
    }

    /// Opens `/ws` for a room, optionally resuming after a seq.
    pub async fn ws(&self, token: &str, room: &str, after: Option<u64>) -> Client {
        let mut url = format!("{}/ws?token={token}&roomId={room}", self.base.replace("http://", "ws://"));
        if let Some(after) = after {
            url.push_str(&format!("&after={after}"));
        }
        let (stream, _) = tokio_tungstenite::connect_async(url).await.expect("websocket handshake");
        let mut client = Client { stream };
        let hello = client.next().await;
        assert_eq!((hello["type"].as_str(), hello["roomId"].as_str()), (Some("CONNECTED"), Some(room)));
        client
    }

    /// The HTTP status a WebSocket handshake gets refused with.
    pub async fn ws_refusal(&self, query: &str) -> u16 {
        let url = format!("{}/ws?{query}", self.base.replace("http://", "ws://"));
        match tokio_tungstenite::connect_async(url).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
            other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
        }
    }
}

/// A WebSocket client speaking the JSON frames.
pub struct Client {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    /// Sends a JSON frame.
    pub async fn send(&mut self, frame: Value) {
        self.send_text(frame.to_string()).await;
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: String) {
        self.stream.send(Message::text(text)).await.unwrap();
    }

    /// Sends any WebSocket message (a raw frame, say).
    pub async fn send_message(&mut self, msg: Message) {
        self.stream.send(msg).await.unwrap();
    }

    /// Joins the room (talking takes a seat); frames are handled in order, so a TALK sent next
    /// finds the member joined. Its JOIN event comes like any other.
    pub async fn join(&mut self) {
        self.send(json!({"type": "JOIN"})).await;
    }

    /// Says something.
    pub async fn talk(&mut self, content: &str) {
        self.send(json!({"type": "TALK", "content": content})).await;
    }

    /// The next JSON frame; fails the test if none comes in time.
    pub async fn next(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(FRAME_WAIT, self.stream.next())
                .await
                .expect("a frame in time")
                .expect("the connection is open")
                .expect("a readable frame");
            if let Message::Text(t) = msg {
                return serde_json::from_str(&t).unwrap();
            }
        }
    }

    /// The next frame of one of `types`, skipping others (e.g. ACKs).
    pub async fn next_of(&mut self, types: &[&str]) -> Value {
        loop {
            let frame = self.next().await;
            if types.contains(&frame["type"].as_str().unwrap_or("")) {
                return frame;
            }
        }
    }

    /// Room events (frames with a seq) until `n` TALKs have arrived, in arrival order.
    pub async fn events_until_talks(&mut self, n: usize) -> Vec<Value> {
        let mut events = Vec::new();
        let mut talks = 0;
        while talks < n {
            let frame = self.next().await;
            if matches!(frame["type"].as_str(), Some("TALK" | "JOIN" | "LEAVE")) {
                talks += usize::from(frame["type"] == "TALK");
                events.push(frame);
            }
        }
        events
    }

    /// The next message of any kind (pings included), within the wait.
    pub async fn next_message(&mut self) -> Option<Message> {
        tokio::time::timeout(FRAME_WAIT, self.stream.next()).await.expect("a message in time").and_then(Result::ok)
    }

    /// The close code the server ends the connection with (frames before it are skipped).
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(FRAME_WAIT, self.stream.next()).await.expect("the close in time") {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Closes the connection politely.
    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

/// The seqs of a list of events.
pub fn seqs(events: &[Value]) -> Vec<u64> {
    events.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}
