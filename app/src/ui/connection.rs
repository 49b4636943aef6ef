//! The WebSocket link of one chat view: connect, JOIN, read frames, reconnect with resume.
//!
//! Every (re)connect after the first asks for `after=<last seq seen>`, so the server replays
//! exactly what was missed: nothing lost, nothing twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::channel::mpsc::UnboundedReceiver;
use futures::future::{Either, select};
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::Message;
use gloo_net::websocket::futures::WebSocket;
use gloo_timers::future::TimeoutFuture;

use super::api;
use super::chat::{ChatState, Next, Status};
use crate::wire::{ClientFrame, ErrorCode};

/// Backoff bounds between reconnect attempts, in milliseconds.
const BACKOFF_MIN_MS: u32 = 500;
const BACKOFF_MAX_MS: u32 = 8_000;

fn ws_url(room_id: &str, token: &str, after: Option<u64>) -> String {
    let location = web_sys::window().expect("window").location();
    let scheme = if location.protocol().ok().as_deref() == Some("https:") { "wss" } else { "ws" };
    let host = location.host().unwrap_or_default();
    let mut url = format!("{scheme}://{host}/ws?roomId={}&token={}", enc(room_id), enc(token));
    if let Some(after) = after {
        url.push_str(&format!("&after={after}"));
    }
    url
}

fn enc(s: &str) -> String {
    js_sys::encode_uri_component(s).into()
}

fn text(frame: &ClientFrame) -> Message {
    Message::Text(serde_json::to_string(frame).expect("client frames serialize"))
}

/// Keeps the room's connection alive until `stop` is set or the outbox closes.
pub async fn run(
    room_id: String,
    token: String,
    mut outbox: UnboundedReceiver<ClientFrame>,
    state: ChatState,
    stop: Arc<AtomicBool>,
) {
    let mut backoff = BACKOFF_MIN_MS;
    let mut connected_once = false;
    while !stop.load(Ordering::Relaxed) {
        let after = connected_once.then(|| state.last_seq());
        let mut opened = false;
        if let Ok(ws) = WebSocket::open(&ws_url(&room_id, &token, after)) {
            let (mut write, mut read) = ws.split();
            // JOIN on every connect: the server ignores a repeated one. A socket whose handshake
            // failed drops it silently; only the server's CONNECTED frame proves the link is up.
            if write.send(text(&ClientFrame::Join)).await.is_ok() {
                loop {
                    match select(read.next(), outbox.next()).await {
                        Either::Left((Some(Ok(Message::Text(t))), _)) => match state.apply(&t) {
                            Next::Continue => {}
                            Next::Connected => {
                                opened = true;
                                connected_once = true;
                                backoff = BACKOFF_MIN_MS;
                            }
                            Next::Resume => break,
                        },
                        Either::Left((Some(Ok(Message::Bytes(_))), _)) => {}
                        Either::Left(_) => break,
                        Either::Right((Some(frame), _)) => {
                            if write.send(text(&frame)).await.is_err() {
                                break;
                            }
                        }
                        Either::Right((None, _)) => return,
                    }
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                }
            }
        }
        if stop.load(Ordering::Relaxed) {
            return;
        }
        // Refused before it opened: retrying is pointless if the token or the room is the cause.
        if !opened
            && let Err(e) = api::probe_room(&token, &room_id).await
            && (api::is_auth_error(&e) || e.code == ErrorCode::RoomNotFound)
        {
            state.fail(e);
            return;
        }
        state.set_status(Status::Reconnecting);
        TimeoutFuture::new(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX_MS);
    }
}
