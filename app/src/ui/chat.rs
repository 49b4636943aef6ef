//! The chat view's state: lines in seq order, the link's status and transport, messages waiting
//! for their echo, and the echo latency measured per transport.

use leptos::prelude::*;
use uuid::Uuid;

use super::link::Transport;
use super::{SessionCtx, api};
use crate::wire::{ClientFrame, ErrorBody, MemberId, ServerFrame};

pub use super::chat_view::ChatRoom;

/// The link's state as the status badge shows it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Status {
    Connecting,
    Connected,
    Reconnecting,
    /// Refused for good (bad token, no such room): no more retries.
    Offline,
}

/// One line of the conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub seq: u64,
    pub own: bool,
    pub who: String,
    pub text: String,
    pub time: String,
    pub system: bool,
}

/// A message sent but not yet seen echoed by the room.
#[derive(Clone, Debug)]
struct Pending {
    id: Uuid,
    frame: ClientFrame,
    sent_at: f64,
    transport: Transport,
}

/// Echo latencies kept per transport (the newest ones).
pub const LATENCY_SAMPLES: usize = 500;

/// The view's signals, shared with the connection task (all `Copy`).
#[derive(Clone, Copy)]
pub struct ChatState {
    pub lines: RwSignal<Vec<Line>>,
    last_seq: RwSignal<u64>,
    pub status: RwSignal<Status>,
    pub notice: RwSignal<Option<String>>,
    pub transport: RwSignal<Transport>,
    /// Milliseconds from send to echo, per transport (index: `Transport::index`).
    pub latency: RwSignal<[Vec<f64>; 3]>,
    pending: StoredValue<Vec<Pending>>,
    session: SessionCtx,
    me: StoredValue<MemberId>,
}

fn clock(rfc3339: &str) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(rfc3339));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

/// Milliseconds since the page loaded, sub-millisecond precise.
fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

/// A fresh UUIDv7 (time-ordered, random from the browser's CSPRNG): a message's idempotency key.
pub fn new_message_id() -> Uuid {
    let mut random = [0u8; 10];
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut random);
    }
    uuid::Builder::from_unix_timestamp_millis(js_sys::Date::now() as u64, &random).into_uuid()
}

impl ChatState {
    /// A fresh state for the signed-in member.
    pub fn new(session: SessionCtx, me: MemberId, transport: Transport) -> ChatState {
        ChatState {
            lines: RwSignal::new(Vec::new()),
            last_seq: RwSignal::new(0),
            status: RwSignal::new(Status::Connecting),
            notice: RwSignal::new(None),
            transport: RwSignal::new(transport),
            latency: RwSignal::new([Vec::new(), Vec::new(), Vec::new()]),
            pending: StoredValue::new(Vec::new()),
            session,
            me: StoredValue::new(me),
        }
    }

    /// The highest seq shown so far (0 before any).
    pub fn last_seq(&self) -> u64 {
        self.last_seq.try_get_untracked().unwrap_or(0)
    }

    /// The transport in use.
    pub fn transport(&self) -> Transport {
        self.transport.try_get_untracked().unwrap_or(Transport::WebSocket)
    }

    /// Records the transport in use.
    pub fn set_transport(&self, t: Transport) {
        self.transport.try_set(t);
    }

    /// Shows the link's status.
    pub fn set_status(&self, status: Status) {
        self.status.try_set(status);
    }

    /// Stops for good with the server's reason; an auth error signs the player out.
    pub fn fail(&self, e: ErrorBody) {
        self.status.try_set(Status::Offline);
        if api::is_auth_error(&e) {
            self.session.sign_out();
        }
        self.notice.try_set(Some(e.message));
    }

    /// A new message: pending until its echo; returns the frame to send.
    pub fn compose(&self, content: String) -> ClientFrame {
        let id = new_message_id();
        let frame = ClientFrame::Talk { content, message_id: Some(id), receiver_id: None };
        let p = Pending { id, frame: frame.clone(), sent_at: now_ms(), transport: self.transport() };
        self.pending.try_update_value(|v| v.push(p));
        frame
    }

    /// Messages still waiting for their echo, oldest first (sent again on a new link).
    pub fn pending_frames(&self) -> Vec<ClientFrame> {
        self.pending.try_with_value(|v| v.iter().map(|p| p.frame.clone()).collect()).unwrap_or_default()
    }

    /// The server refused a frame for good: stop retrying it and say why.
    pub fn refused(&self, frame: &ClientFrame, e: ErrorBody) {
        if let ClientFrame::Talk { message_id: Some(id), .. } = frame {
            self.pending.try_update_value(|v| v.retain(|p| p.id != *id));
        }
        self.notice.try_set(Some(e.message));
    }

    fn echoed(&self, id: Uuid) {
        let Some(p) =
            self.pending.try_update_value(|v| v.iter().position(|p| p.id == id).map(|i| v.remove(i))).flatten()
        else {
            return;
        };
        let ms = now_ms() - p.sent_at;
        self.latency.try_update(|l| {
            let samples = &mut l[p.transport.index()];
            if samples.len() == LATENCY_SAMPLES {
                samples.remove(0);
            }
            samples.push(ms);
        });
    }

    /// Applies a server frame and tells the connection what to do next.
    pub fn apply(&self, frame: ServerFrame) -> Next {
        let me = self.me.try_get_value();
        let line = match frame {
            ServerFrame::Talk(t) => {
                let own = me.as_ref() == Some(&t.sender_id);
                if own {
                    self.echoed(t.message_id);
                }
                let (who, text, time) = (t.sender_nickname, t.content, clock(&t.created_at));
                Line { seq: t.seq, own, who, text, time, system: false }
            }
            ServerFrame::Join(m) => system_line(m.seq, format!("{} joined", m.nickname), &m.created_at),
            ServerFrame::Leave(m) => system_line(m.seq, format!("{} left", m.nickname), &m.created_at),
            ServerFrame::Error { message, .. } => {
                self.notice.try_set(Some(message));
                return Next::Continue;
            }
            ServerFrame::Connected { .. } => {
                self.set_status(Status::Connected);
                return Next::Connected;
            }
            ServerFrame::Resync { .. } => return Next::Resume,
            ServerFrame::Ack { .. } => return Next::Continue,
        };
        // Seq order is the truth: anything at or below the last seq shown is a duplicate.
        if line.seq > self.last_seq() {
            self.last_seq.try_set(line.seq);
            self.lines.try_update(|l| l.push(line));
        }
        Next::Continue
    }
}

/// What the connection does after a frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Next {
    Continue,
    /// The server accepted the handshake.
    Connected,
    /// The server sent RESYNC: reconnect and resume from the last seq shown.
    Resume,
}

fn system_line(seq: u64, text: String, created_at: &str) -> Line {
    Line { seq, own: false, who: String::new(), text, time: clock(created_at), system: true }
}

/// Median and 99th percentile of some samples (nearest rank), if there are any.
pub fn median_p99(samples: &[f64]) -> Option<(f64, f64)> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    Some((rank(0.5), rank(0.99)))
}
