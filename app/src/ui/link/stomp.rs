//! STOMP 1.2 at `/ws-chat`, the original client's protocol, over a browser WebSocket or over
//! SockJS: the same codec as the server (`wire::stomp`), one room subscription (with
//! `resume-after` to resume) and `/user/queue/errors`, whose refusals become `Error` frames as
//! on `/ws`.

use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use futures::channel::oneshot;
use futures::future::{Either, select};
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::Message;
use gloo_net::websocket::futures::WebSocket;
use leptos::task::spawn_local;

use super::{Incoming, Sent, enc, origin_ws};
use crate::wire::stomp::{Command, Decoder, Frame, Item};
use crate::wire::{ClientFrame, ErrorBody, ErrorCode, ServerFrame};

/// The receipt that says the room subscription is in place.
const SUBSCRIBED: &str = "room";
/// Largest frame this client reads (the server sends far smaller).
const MAX_FRAME: usize = 1 << 20;

/// What carries the frames.
#[derive(Clone, Copy)]
pub enum Carrier {
    WebSocket,
    SockJs,
}

/// A STOMP link: frames go out through a writer task; dropping it ends both tasks.
pub struct Stomp {
    frames: UnboundedSender<Vec<u8>>,
    room_id: String,
    _stop: oneshot::Sender<()>,
}

impl Stomp {
    /// Starts connecting; `after` resumes after a seq, `None` asks for the recent history.
    pub fn open(
        carrier: Carrier,
        room_id: &str,
        token: &str,
        after: Option<u64>,
        tx: UnboundedSender<Incoming>,
    ) -> Stomp {
        let (frames, queued) = unbounded();
        let (stop_tx, stop) = oneshot::channel();
        for f in hello(room_id, after) {
            let _ = frames.unbounded_send(f);
        }
        match carrier {
            Carrier::WebSocket => over_websocket(room_id, token, queued, Reader::new(tx), stop),
            Carrier::SockJs => super::sockjs::open(token, queued, Reader::new(tx.clone()), tx, stop),
        }
        Stomp { frames, room_id: room_id.to_owned(), _stop: stop_tx }
    }

    /// Queues a frame as the original's `SEND /pub/chat/send`; refusals come back on the errors
    /// subscription, as `Error` frames.
    pub fn send(&self, frame: &ClientFrame) -> Sent {
        let mut body = serde_json::to_value(frame).expect("client frames serialize");
        body["roomId"] = self.room_id.clone().into();
        let send = Frame::new(Command::Send)
            .header("destination", "/pub/chat/send")
            .header("content-type", "application/json")
            .body(body.to_string());
        if self.frames.unbounded_send(send.encode()).is_ok() { Sent::Ok } else { Sent::Failed }
    }
}

fn hello(room_id: &str, after: Option<u64>) -> Vec<Vec<u8>> {
    // No STOMP heart-beats: the WebSocket's pings (or SockJS's own) keep the line alive.
    let connect = Frame::new(Command::Connect).header("accept-version", "1.2").header("heart-beat", "0,0");
    let errors = Frame::new(Command::Subscribe).header("id", "e").header("destination", "/user/queue/errors");
    let mut room = Frame::new(Command::Subscribe)
        .header("id", "r")
        .header("destination", format!("/sub/chat/room/{room_id}"))
        .header("receipt", SUBSCRIBED);
    if let Some(after) = after {
        room = room.header("resume-after", after.to_string());
    }
    vec![connect.encode(), errors.encode(), room.encode()]
}

/// Turns the server's bytes into what the link reports.
pub struct Reader {
    decoder: Decoder,
    tx: UnboundedSender<Incoming>,
}

impl Reader {
    fn new(tx: UnboundedSender<Incoming>) -> Reader {
        Reader { decoder: Decoder::new(MAX_FRAME), tx }
    }

    /// Reports that the link is down (once: the caller stops reading).
    pub fn down(&self, why: Option<ErrorBody>) {
        let _ = self.tx.unbounded_send(Incoming::Down(why));
    }

    /// Handles received bytes; false once the link is over.
    pub fn bytes(&mut self, bytes: &[u8]) -> bool {
        let Ok(items) = self.decoder.push(bytes) else {
            self.down(None);
            return false;
        };
        for item in items {
            let Item::Frame(f) = item else { continue };
            let report = match f.command {
                Command::Receipt if f.get("receipt-id") == Some(SUBSCRIBED) => Incoming::Opened,
                Command::Message if f.get("subscription") == Some("r") => {
                    match serde_json::from_slice::<ServerFrame>(&f.body) {
                        Ok(frame) => Incoming::Frame(frame),
                        Err(_) => continue,
                    }
                }
                Command::Message if f.get("subscription") == Some("e") => {
                    let Ok(e) = serde_json::from_slice::<ErrorBody>(&f.body) else { continue };
                    if f.get("receipt-id") == Some(SUBSCRIBED) {
                        // The room itself was refused (forbidden, full, gone).
                        self.down(Some(e));
                        return false;
                    }
                    Incoming::Frame(ServerFrame::Error {
                        code: e.code,
                        message: e.message,
                        retry_after_ms: e.retry_after_ms,
                    })
                }
                Command::Error => {
                    let code = f.get("message").and_then(|m| serde_json::from_value::<ErrorCode>(m.into()).ok());
                    let message = String::from_utf8_lossy(&f.body).into_owned();
                    self.down(code.map(|code| ErrorBody::new(code, message)));
                    return false;
                }
                _ => continue,
            };
            let _ = self.tx.unbounded_send(report);
        }
        true
    }
}

fn over_websocket(
    room_id: &str,
    token: &str,
    mut queued: UnboundedReceiver<Vec<u8>>,
    mut reader: Reader,
    mut stop: oneshot::Receiver<()>,
) {
    let url = format!("{}/ws-chat?roomId={}&token={}", origin_ws(), enc(room_id), enc(token));
    let Ok(ws) = WebSocket::open_with_protocol(&url, "v12.stomp") else {
        reader.down(None);
        return;
    };
    let (mut sink, mut read) = ws.split();
    spawn_local(async move {
        // Waits for the socket to open, then sends in order; ends when the link is dropped.
        while let Some(bytes) = queued.next().await {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if sink.send(Message::Text(text)).await.is_err() {
                return;
            }
        }
    });
    spawn_local(async move {
        loop {
            let bytes = match select(read.next(), &mut stop).await {
                Either::Left((Some(Ok(Message::Text(t))), _)) => t.into_bytes(),
                Either::Left((Some(Ok(Message::Bytes(b))), _)) => b,
                Either::Left(_) => {
                    reader.down(None);
                    return;
                }
                Either::Right(_) => return,
            };
            if !reader.bytes(&bytes) {
                return;
            }
        }
    });
}
