//! One client API over the three transports, so the same scenario runs on each:
//! WebSocket, SSE + POST, and long polling + POST.

use std::collections::VecDeque;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

use crate::support::TestServer;

/// How long a test waits for one expected frame before failing.
const WAIT: Duration = Duration::from_secs(10);

/// Which transport a link uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Ws,
    Sse,
    Poll,
}

enum Inner {
    Ws(WebSocketStream<MaybeTlsStream<TcpStream>>),
    Sse {
        resp: reqwest::Response,
        buf: String,
    },
    /// Long polling keeps only its cursor between requests.
    Poll {
        cursor: Option<u64>,
    },
}

/// A client in one room over one transport.
pub struct Link {
    inner: Inner,
    /// Frames read while waiting for something else (an ACK), in order.
    queued: VecDeque<Value>,
    base: String,
    token: String,
    room: String,
    http: reqwest::Client,
}

/// What the server said to a sent frame: accepted (with the seq it made) or an error code.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Accepted(Option<u64>),
    Refused { status: Option<u16>, code: String },
}

impl TestServer {
    /// Opens a link; `after` resumes after a seq, `None` asks for the recent history.
    pub async fn link(&self, transport: Transport, token: &str, room: &str, after: Option<u64>) -> Link {
        let inner = match transport {
            Transport::Ws => {
                let mut url = format!("{}/ws?token={token}&roomId={room}", self.base.replace("http://", "ws://"));
                if let Some(after) = after {
                    url.push_str(&format!("&after={after}"));
                }
                Inner::Ws(tokio_tungstenite::connect_async(url).await.expect("websocket handshake").0)
            }
            Transport::Sse => {
                let mut url = format!("{}/api/rooms/{room}/events?token={token}", self.base);
                if let Some(after) = after {
                    url.push_str(&format!("&after={after}"));
                }
                let resp = self.http.get(url).send().await.unwrap();
                assert_eq!(resp.status(), 200, "SSE handshake");
                assert_eq!(resp.headers()["content-type"], "text/event-stream");
                Inner::Sse { resp, buf: String::new() }
            }
            Transport::Poll => Inner::Poll { cursor: after },
        };
        let mut link = Link {
            inner,
            queued: VecDeque::new(),
            base: self.base.clone(),
            token: token.into(),
            room: room.into(),
            http: self.http.clone(),
        };
        if transport != Transport::Poll {
            let hello = link.read().await;
            assert_eq!((hello["type"].as_str(), hello["roomId"].as_str()), (Some("CONNECTED"), Some(room)));
        }
        link
    }

    /// Opens an SSE stream with extra headers, for `Last-Event-ID` and cookie checks.
    pub async fn sse_with(&self, room: &str, query: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self.http.get(format!("{}/api/rooms/{room}/events?{query}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }
}

impl Link {
    /// Sends a client frame; over WebSocket a TALK waits for its ACK or ERROR, as POST does.
    pub async fn send(&mut self, frame: Value) -> Outcome {
        self.send_text(frame.to_string()).await
    }

    /// Sends raw text as a frame.
    pub async fn send_text(&mut self, text: String) -> Outcome {
        if let Inner::Ws(ws) = &mut self.inner {
            let answered = text.contains("\"TALK\"") || serde_json::from_str::<Value>(&text).is_err();
            ws.send(Message::text(text)).await.unwrap();
            if !answered {
                return Outcome::Accepted(None);
            }
            loop {
                let frame = self.read_ws().await;
                match frame["type"].as_str() {
                    Some("ACK") => return Outcome::Accepted(frame["acceptedSeq"].as_u64()),
                    Some("ERROR") => {
                        return Outcome::Refused { status: None, code: frame["code"].as_str().unwrap().into() };
                    }
                    _ => self.queued.push_back(frame),
                }
            }
        }
        let url = format!("{}/api/rooms/{}/messages", self.base, self.room);
        let resp = self.http.post(url).bearer_auth(&self.token).body(text).send().await.unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status == 202 {
            Outcome::Accepted(body["seq"].as_u64())
        } else {
            Outcome::Refused { status: Some(status), code: body["code"].as_str().unwrap_or("").into() }
        }
    }

    /// Joins the room.
    pub async fn join(&mut self) {
        assert!(matches!(self.send(json!({"type": "JOIN"})).await, Outcome::Accepted(_)));
    }

    /// Says something with a fresh messageId; returns the seq it got.
    pub async fn talk(&mut self, content: &str) -> u64 {
        let frame = json!({"type": "TALK", "content": content, "messageId": Uuid::now_v7()});
        match self.send(frame).await {
            Outcome::Accepted(Some(seq)) => seq,
            other => panic!("talk refused: {other:?}"),
        }
    }

    /// Room events (TALK/JOIN/LEAVE) until `n` TALKs have arrived, in arrival order.
    pub async fn events_until_talks(&mut self, n: usize) -> Vec<Value> {
        let mut events = Vec::new();
        let mut talks = 0;
        while talks < n {
            let frame = self.read().await;
            if matches!(frame["type"].as_str(), Some("TALK" | "JOIN" | "LEAVE")) {
                talks += usize::from(frame["type"] == "TALK");
                events.push(frame);
            }
        }
        events
    }

    /// The next frame of one of `types`, skipping others (presence, typing, ACKs).
    pub async fn read_of(&mut self, types: &[&str]) -> Value {
        loop {
            let frame = self.read().await;
            if types.contains(&frame["type"].as_str().unwrap_or("")) {
                return frame;
            }
        }
    }

    /// The next server frame on this link (for polling: the next event of a poll batch).
    pub async fn read(&mut self) -> Value {
        if let Some(frame) = self.queued.pop_front() {
            return frame;
        }
        match &mut self.inner {
            Inner::Ws(_) => self.read_ws().await,
            Inner::Sse { .. } => self.read_sse().await,
            Inner::Poll { .. } => loop {
                self.poll_once(5_000).await;
                if let Some(frame) = self.queued.pop_front() {
                    return frame;
                }
            },
        }
    }

    /// One long poll; queues its events and returns the raw answer.
    pub async fn poll_once(&mut self, timeout_ms: u64) -> Value {
        let Inner::Poll { cursor } = &mut self.inner else { panic!("not a polling link") };
        let mut url = format!("{}/api/rooms/{}/poll?timeout={timeout_ms}", self.base, self.room);
        if let Some(after) = cursor {
            url.push_str(&format!("&after={after}"));
        }
        let resp = self.http.get(url).bearer_auth(&self.token).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let batch: Value = resp.json().await.unwrap();
        *cursor = Some(batch["next"].as_u64().expect("next is a seq"));
        self.queued.extend(batch["events"].as_array().unwrap().iter().cloned());
        batch
    }

    async fn read_ws(&mut self) -> Value {
        let Inner::Ws(ws) = &mut self.inner else { unreachable!() };
        loop {
            let msg = tokio::time::timeout(WAIT, ws.next()).await.expect("a frame in time").expect("open").unwrap();
            if let Message::Text(t) = msg {
                return serde_json::from_str(&t).unwrap();
            }
        }
    }

    async fn read_sse(&mut self) -> Value {
        let Inner::Sse { resp, buf } = &mut self.inner else { unreachable!() };
        loop {
            if let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                if let Some(frame) = parse_sse_block(&block) {
                    return frame;
                }
                continue;
            }
            let chunk = tokio::time::timeout(WAIT, resp.chunk()).await.expect("an event in time").unwrap();
            buf.push_str(std::str::from_utf8(&chunk.expect("the stream is open")).unwrap());
        }
    }

    /// Ends the link (a forced disconnect: the socket or stream is dropped).
    pub fn drop_link(self) {}
}

/// An SSE event block as its frame, checking `event:` and `id:` agree with the frame.
pub fn parse_sse_block(block: &str) -> Option<Value> {
    let (mut id, mut name, mut data) = (None, None, None);
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("id: ") {
            id = Some(v.parse::<u64>().unwrap());
        } else if let Some(v) = line.strip_prefix("event: ") {
            name = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("data: ") {
            data = Some(serde_json::from_str::<Value>(v).unwrap());
        }
    }
    let frame = data?;
    let kind = frame["type"].as_str().unwrap().to_lowercase();
    assert_eq!(name.as_deref(), Some(kind.as_str()), "the event name is the lower-case type");
    if matches!(kind.as_str(), "talk" | "join" | "leave") {
        assert_eq!(id, frame["seq"].as_u64(), "a room event's id: is its seq");
    } else {
        assert_eq!(id, None, "only room events have an id: (a notification never moves the resume point)");
    }
    Some(frame)
}
