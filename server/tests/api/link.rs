//! One client API over the three transports, so the same scenario runs on each:
//! WebSocket, SSE + POST, and long polling + POST.

use std::collections::VecDeque;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

use crate::sse::SseReader;
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
    Sse(SseReader),
    /// Long polling keeps only its cursor between requests (and, when it asks for them, how
    /// many ephemeral frames it has had since the cursor's event).
    Poll {
        cursor: Option<u64>,
        seen: Option<usize>,
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
    /// The member the server greeted (streams only).
    member: Option<String>,
}

/// What the server said to a sent frame: accepted (with the seq it made) or an error code (with
/// the HTTP status over POST, and the wait for limits).
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Accepted(Option<u64>),
    Refused { status: Option<u16>, code: String, retry_after_ms: Option<u64> },
}

impl Outcome {
    /// A refusal without a retry time.
    pub fn refused(status: Option<u16>, code: &str) -> Outcome {
        Outcome::Refused { status, code: code.into(), retry_after_ms: None }
    }
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
                Inner::Sse(SseReader::new(resp))
            }
            Transport::Poll => Inner::Poll { cursor: after, seen: None },
        };
        let mut link = Link {
            inner,
            queued: VecDeque::new(),
            base: self.base.clone(),
            token: token.into(),
            room: room.into(),
            http: self.http.clone(),
            member: None,
        };
        if transport != Transport::Poll {
            let hello = link.read().await;
            assert_eq!((hello["type"].as_str(), hello["roomId"].as_str()), (Some("CONNECTED"), Some(room)));
            link.member = hello["memberId"].as_str().map(str::to_owned);
        }
        link
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
            let answered = ["\"TALK\"", "\"ACTION\"", "\"ROLL\""].iter().any(|t| text.contains(t))
                || serde_json::from_str::<Value>(&text).is_err();
            ws.send(Message::text(text)).await.unwrap();
            if !answered {
                return Outcome::Accepted(None);
            }
            loop {
                let frame = self.read_ws().await;
                match frame["type"].as_str() {
                    Some("ACK") => return Outcome::Accepted(frame["acceptedSeq"].as_u64()),
                    Some("ERROR") => {
                        let code = frame["code"].as_str().unwrap().into();
                        return Outcome::Refused { status: None, code, retry_after_ms: frame["retryAfterMs"].as_u64() };
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
            let code = body["code"].as_str().unwrap_or("").into();
            Outcome::Refused { status: Some(status), code, retry_after_ms: body["retryAfterMs"].as_u64() }
        }
    }

    /// Joins the room, and returns once the room counts the member in (a WebSocket answers a
    /// JOIN with nothing, so its link asks the room's presence).
    pub async fn join(&mut self) {
        assert!(matches!(self.send(json!({"type": "JOIN"})).await, Outcome::Accepted(_)));
        let (Inner::Ws(_), Some(me)) = (&self.inner, self.member.clone()) else { return };
        let url = format!("{}/api/rooms/{}/presence", self.base, self.room);
        crate::support::eventually(|| async {
            let presence: Value =
                self.http.get(&url).bearer_auth(&self.token).send().await.unwrap().json().await.unwrap();
            let members = presence["members"].as_array().cloned().unwrap_or_default();
            match members.iter().any(|m| m["memberId"] == me.as_str()) {
                true => Ok(()),
                false => Err(format!("not joined yet: {presence}")),
            }
        })
        .await;
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
            Inner::Sse(reader) => reader.next().await,
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
        self.try_poll(timeout_ms).await.unwrap_or_else(|(status, body)| panic!("poll answered {status}: {body}"))
    }

    /// One long poll: its answer (events queued), or the status and body of a refusal.
    pub async fn try_poll(&mut self, timeout_ms: u64) -> Result<Value, (u16, Value)> {
        let Inner::Poll { cursor, seen } = &mut self.inner else { panic!("not a polling link") };
        let mut url = format!("{}/api/rooms/{}/poll?timeout={timeout_ms}", self.base, self.room);
        if let Some(after) = cursor {
            url.push_str(&format!("&after={after}"));
            if let Some(seen) = seen {
                url.push_str(&format!("&seen={seen}"));
            }
        }
        let resp = self.http.get(url).bearer_auth(&self.token).send().await.unwrap();
        let status = resp.status().as_u16();
        let batch: Value = resp.json().await.unwrap_or(Value::Null);
        if status != 200 {
            return Err((status, batch));
        }
        *cursor = Some(batch["next"].as_u64().expect("next is a seq"));
        let events = batch["events"].as_array().unwrap();
        if let Some(seen) = seen {
            for e in events {
                *seen = if e["seq"].is_u64() { 0 } else { *seen + 1 };
            }
        }
        self.queued.extend(events.iter().cloned());
        Ok(batch)
    }

    /// The close code the server ends a WebSocket link with (frames before it are skipped).
    pub async fn close_code(&mut self) -> Option<u16> {
        let Inner::Ws(ws) = &mut self.inner else { panic!("not a WebSocket link") };
        loop {
            match tokio::time::timeout(WAIT, ws.next()).await.expect("the close in time") {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
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

    /// The next server frame, waiting as long as it takes (a WebSocket's pings are answered
    /// meanwhile); None once the server ended the link.
    pub async fn read_untimed(&mut self) -> Option<Value> {
        if let Some(frame) = self.queued.pop_front() {
            return Some(frame);
        }
        let Inner::Ws(ws) = &mut self.inner else { return Some(self.read().await) };
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(&t).unwrap()),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// A polling link from now on also asks for the ephemeral frames (the narrator's chunks) that
    /// came between its polls (`&seen=`).
    pub fn poll_ephemerals(&mut self) {
        if let Inner::Poll { seen, .. } = &mut self.inner {
            seen.get_or_insert(0);
        }
    }

    /// Ends the link (a forced disconnect: the socket or stream is dropped).
    pub fn drop_link(self) {}

    /// Waits, without a time limit, for whatever comes next and drops it (a polling link polls
    /// once); false once the server has ended the link.
    async fn pump(&mut self) -> bool {
        match &mut self.inner {
            Inner::Ws(ws) => matches!(ws.next().await, Some(Ok(_))),
            Inner::Sse(reader) => reader.raw_chunk().await,
            Inner::Poll { .. } => {
                self.poll_once(1000).await;
                true
            }
        }
    }

    /// Keeps the link open in a task of its own, which reads (and drops) whatever comes, keeps
    /// polling, and sends the frames it is handed, in order.
    pub fn hold(mut self) -> Held {
        let (tx, mut rx) = mpsc::unbounded_channel::<Value>();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    frame = rx.recv() => match frame {
                        Some(frame) => {
                            let outcome = self.send(frame.clone()).await;
                            assert!(matches!(outcome, Outcome::Accepted(_)), "{frame} got {outcome:?}");
                        }
                        None => return,
                    },
                    open = self.pump() => assert!(open, "the server ended a held link"),
                }
            }
        });
        Held { tx, task }
    }
}

/// A link kept open by its own task (see [`Link::hold`]).
pub struct Held {
    tx: mpsc::UnboundedSender<Value>,
    task: JoinHandle<()>,
}

impl Held {
    /// Hands a frame to the link's task to send (it fails the test at [`Held::close`] if refused).
    pub fn send(&self, frame: Value) {
        self.tx.send(frame).expect("the held link's task is running");
    }

    /// Sends what was handed over, then ends the link (a dropped socket, stream or poll loop).
    pub async fn close(self) {
        drop(self.tx);
        self.task.await.expect("the held link's task did not fail");
    }
}

/// Instantiates scenarios `async fn(Transport)` as three tests each: WebSocket, SSE + POST, and
/// long polling + POST.
macro_rules! on_every_transport {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use crate::link::Transport;
            #[tokio::test]
            async fn websocket() { super::$scenario(Transport::Ws).await }
            #[tokio::test]
            async fn sse_and_post() { super::$scenario(Transport::Sse).await }
            #[tokio::test]
            async fn long_poll_and_post() { super::$scenario(Transport::Poll).await }
        }
    )*};
}

pub(crate) use on_every_transport;
