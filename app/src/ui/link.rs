//! The ways the chat view reaches a room: WebSocket, SSE + POST, long polling + POST, and the
//! original client's STOMP over a WebSocket or over SockJS.
//!
//! Each link turns its transport into one stream of [`Incoming`] and one `send`; the connection
//! supervisor does not know which it holds. Dropping a link closes it.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use futures::channel::oneshot;
use futures::future::{Either, select};
use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt};
use gloo_net::http::Request;
use gloo_net::websocket::Message;
use gloo_net::websocket::futures::WebSocket;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::wire::{Accepted, ClientFrame, ErrorBody, ErrorCode, PollBatch, RoomId, ServerFrame, compact};
use stomp::{Carrier, Stomp};

mod sockjs;
mod stomp;

/// Which transport a link uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    WebSocket,
    Sse,
    LongPoll,
    Stomp,
    SockJs,
}

impl Transport {
    /// Every transport, in the switcher's order.
    pub const ALL: [Transport; Transport::COUNT] =
        [Transport::WebSocket, Transport::Sse, Transport::LongPoll, Transport::Stomp, Transport::SockJs];
    /// How many there are.
    pub const COUNT: usize = 5;

    /// The name the switcher shows.
    pub fn label(self) -> &'static str {
        match self {
            Transport::WebSocket => "WebSocket",
            Transport::Sse => "SSE",
            Transport::LongPoll => "Long polling",
            Transport::Stomp => "STOMP",
            Transport::SockJs => "SockJS",
        }
    }

    /// A short stable id (test ids, storage).
    pub fn id(self) -> &'static str {
        match self {
            Transport::WebSocket => "ws",
            Transport::Sse => "sse",
            Transport::LongPoll => "poll",
            Transport::Stomp => "stomp",
            Transport::SockJs => "sockjs",
        }
    }

    /// Its index in [`Transport::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// What a link reports.
pub enum Incoming {
    Frame(ServerFrame),
    /// The link is up (long polling has no hello frame: its first answer is the proof).
    Opened,
    /// The link is down; with the server's reason when it gave one.
    Down(Option<ErrorBody>),
}

/// How a send went.
pub enum Sent {
    Ok,
    /// Delivered, with a word for the sender (e.g. profanity in WARN mode).
    Warned(ErrorBody),
    /// The server refused this frame (it will refuse it again): show why, do not retry.
    Refused(ErrorBody),
    /// The link failed: the frame may not have arrived.
    Failed,
}

enum Kind {
    /// `sink` is `None` when the socket could not even be created (the link reports Down).
    Ws {
        sink: Option<SplitSink<WebSocket, Message>>,
        _stop: oneshot::Sender<()>,
    },
    Sse {
        /// Set once the stream cookie is in place and the `EventSource` is made.
        source: Rc<RefCell<Option<EventSource>>>,
        stopped: Rc<Cell<bool>>,
    },
    Poll {
        abort: web_sys::AbortController,
        stopped: Rc<Cell<bool>>,
    },
    Stomp(Stomp),
}

/// One open (or opening) link to a room.
pub struct Link {
    pub incoming: UnboundedReceiver<Incoming>,
    kind: Kind,
    room_id: String,
    token: String,
}

fn enc(s: &str) -> String {
    js_sys::encode_uri_component(s).into()
}

fn origin_ws() -> String {
    let location = web_sys::window().expect("window").location();
    let scheme = if location.protocol().ok().as_deref() == Some("https:") { "wss" } else { "ws" };
    format!("{scheme}://{}", location.host().unwrap_or_default())
}

fn parse(text: &str) -> Option<Incoming> {
    serde_json::from_str::<ServerFrame>(text).ok().map(Incoming::Frame)
}

impl Link {
    /// Starts opening a link for `member`; `after` resumes after a seq, `None` asks for the
    /// recent history.
    pub fn open(transport: Transport, room_id: &str, token: &str, member: &str, after: Option<u64>) -> Link {
        let (tx, incoming) = unbounded();
        let resume = after.map_or(String::new(), |a| format!("&after={a}"));
        let kind = match transport {
            Transport::WebSocket => {
                // Compact: a TALK in a third of its JSON's bytes (wire::compact).
                let url =
                    format!("{}/ws?roomId={}&token={}&encoding=compact{resume}", origin_ws(), enc(room_id), enc(token));
                open_ws(&url, RoomId(room_id.to_owned()), tx)
            }
            Transport::Sse => {
                // The token goes in the cookie, not the URL (URLs end up in logs and histories).
                let url = format!("/api/rooms/{}/events?as={}{resume}", enc(room_id), enc(member));
                open_sse(url, token.to_owned(), tx)
            }
            Transport::LongPoll => open_poll(room_id, token, after, tx),
            Transport::Stomp => Kind::Stomp(Stomp::open(Carrier::WebSocket, room_id, token, after, tx)),
            Transport::SockJs => Kind::Stomp(Stomp::open(Carrier::SockJs, room_id, token, after, tx)),
        };
        Link { incoming, kind, room_id: room_id.into(), token: token.into() }
    }

    /// Sends a frame: on the socket for WebSocket, a STOMP SEND for STOMP and SockJS, as
    /// `POST …/messages` otherwise.
    pub async fn send(&mut self, frame: &ClientFrame) -> Sent {
        if let Kind::Stomp(stomp) = &self.kind {
            return stomp.send(frame);
        }
        let text = serde_json::to_string(frame).expect("client frames serialize");
        if let Kind::Ws { sink, .. } = &mut self.kind {
            let Some(sink) = sink else { return Sent::Failed };
            return if sink.send(Message::Text(text)).await.is_ok() { Sent::Ok } else { Sent::Failed };
        }
        let url = format!("/api/rooms/{}/messages", enc(&self.room_id));
        let req = Request::post(&url)
            .header("Authorization", &format!("Bearer {}", self.token))
            .header("Content-Type", "application/json")
            .body(text);
        let Ok(resp) = (match req {
            Ok(req) => req.send().await,
            Err(e) => Err(e),
        }) else {
            return Sent::Failed;
        };
        match resp.status() {
            202 => match resp.json::<Accepted>().await.ok().and_then(|a| a.warning) {
                Some(w) => Sent::Warned(w),
                None => Sent::Ok,
            },
            400..=499 => match resp.json::<ErrorBody>().await {
                Ok(e) => Sent::Refused(e),
                Err(_) => Sent::Failed,
            },
            _ => Sent::Failed,
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        match &self.kind {
            // Dropping the stop sender ends the reader, which drops the socket (or the session).
            Kind::Ws { .. } | Kind::Stomp(_) => {}
            Kind::Sse { source, stopped } => {
                stopped.set(true);
                if let Some(s) = source.borrow_mut().take() {
                    s.close();
                }
            }
            Kind::Poll { abort, stopped } => {
                stopped.set(true);
                abort.abort();
            }
        }
    }
}

fn open_ws(url: &str, room: RoomId, tx: UnboundedSender<Incoming>) -> Kind {
    let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
    let Ok(ws) = WebSocket::open(url) else {
        let _ = tx.unbounded_send(Incoming::Down(None));
        return Kind::Ws { sink: None, _stop: stop_tx };
    };
    let (sink, mut read) = ws.split();
    spawn_local(async move {
        loop {
            match select(read.next(), &mut stop_rx).await {
                Either::Left((Some(Ok(Message::Text(t))), _)) => {
                    if let Some(i) = parse(&t) {
                        let _ = tx.unbounded_send(i);
                    }
                }
                Either::Left((Some(Ok(Message::Bytes(b))), _)) => {
                    // Only a TALK comes as a binary frame. One that does not decode would be a
                    // message lost: reconnect instead, resuming after the last seq shown.
                    let Ok(talk) = compact::decode_talk(&b, &room) else {
                        let _ = tx.unbounded_send(Incoming::Down(None));
                        return;
                    };
                    let _ = tx.unbounded_send(Incoming::Frame(ServerFrame::Talk(talk)));
                }
                Either::Left(_) => {
                    let _ = tx.unbounded_send(Incoming::Down(None));
                    return;
                }
                Either::Right(_) => return,
            }
        }
    });
    Kind::Ws { sink: Some(sink), _stop: stop_tx }
}

/// An `EventSource` and the listeners that feed `tx`; they live as long as the source.
struct EventSource {
    source: web_sys::EventSource,
    _listeners: Vec<Closure<dyn FnMut(web_sys::Event)>>,
}

impl EventSource {
    fn close(&self) {
        self.source.close();
    }
}

fn open_sse(url: String, token: String, tx: UnboundedSender<Incoming>) -> Kind {
    let source = Rc::new(RefCell::new(None));
    let stopped = Rc::new(Cell::new(false));
    let (slot, stop) = (source.clone(), stopped.clone());
    spawn_local(async move {
        // The cookie first: the stream's URL names the member, never the token.
        if super::api::stream_cookie(&token).await.is_err() {
            let _ = tx.unbounded_send(Incoming::Down(None));
            return;
        }
        if stop.get() {
            return;
        }
        match listen(&url, tx.clone()) {
            Some(s) => *slot.borrow_mut() = Some(s),
            None => {
                let _ = tx.unbounded_send(Incoming::Down(None));
            }
        }
    });
    Kind::Sse { source, stopped }
}

fn listen(url: &str, tx: UnboundedSender<Incoming>) -> Option<EventSource> {
    let source = web_sys::EventSource::new(url).ok()?;
    let mut listeners = Vec::new();
    for name in ["connected", "talk", "join", "leave", "presence", "typing", "resync", "error"] {
        let (tx, source2) = (tx.clone(), source.clone());
        let listener = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
            let data = ev.dyn_ref::<web_sys::MessageEvent>().and_then(|m| m.data().as_string());
            match data.as_deref().and_then(parse) {
                Some(incoming) => {
                    let _ = tx.unbounded_send(incoming);
                }
                // The browser's own `error` (no data): the stream broke. We reconnect ourselves,
                // with our own backoff and a probe of why, so stop the browser's retry.
                None if data.is_none() => {
                    source2.close();
                    let _ = tx.unbounded_send(Incoming::Down(None));
                }
                None => {}
            }
        });
        let _ = source.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
        listeners.push(listener);
    }
    Some(EventSource { source, _listeners: listeners })
}

/// How long a parked poll may wait on the server (below the server's cap and typical proxies').
const POLL_TIMEOUT_MS: u32 = 25_000;

fn open_poll(room_id: &str, token: &str, after: Option<u64>, tx: UnboundedSender<Incoming>) -> Kind {
    let abort = web_sys::AbortController::new().expect("AbortController");
    let stopped = Rc::new(Cell::new(false));
    let (signal, stop) = (abort.signal(), stopped.clone());
    let (room_id, bearer) = (enc(room_id), format!("Bearer {token}"));
    spawn_local(async move {
        let mut cursor = after;
        let mut first = true;
        while !stop.get() {
            // The first poll answers at once: it is the link's proof of life.
            let timeout = if first { 0 } else { POLL_TIMEOUT_MS };
            let after = cursor.map_or(String::new(), |a| format!("&after={a}"));
            let url = format!("/api/rooms/{room_id}/poll?timeout={timeout}{after}");
            let resp = Request::get(&url).header("Authorization", &bearer).abort_signal(Some(&signal)).send().await;
            if stop.get() {
                return;
            }
            let down = match resp {
                Ok(resp) if resp.ok() => match resp.json::<PollBatch>().await {
                    Ok(batch) => {
                        if std::mem::take(&mut first) {
                            let _ = tx.unbounded_send(Incoming::Opened);
                        }
                        cursor = Some(batch.next);
                        for frame in batch.events {
                            let _ = tx.unbounded_send(Incoming::Frame(frame));
                        }
                        continue;
                    }
                    Err(_) => None,
                },
                Ok(resp) => Some(resp.json::<ErrorBody>().await.unwrap_or(ErrorBody::new(
                    ErrorCode::Unavailable,
                    format!("The server answered {}.", resp.status()),
                ))),
                Err(_) => None,
            };
            let _ = tx.unbounded_send(Incoming::Down(down));
            return;
        }
    });
    Kind::Poll { abort, stopped }
}
