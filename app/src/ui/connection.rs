//! The chat view's connection supervisor: one link at a time over the chosen transport,
//! reconnecting with backoff, switching transport on demand, and never losing a message.
//!
//! Every (re)connect after the first asks for `after=<last seq seen>`, so the server replays
//! exactly what was missed. A switch is make-before-break: the old link stays open until the new
//! one is up, so the server never sees the member leave. Messages stay pending until their echo
//! arrives and are sent again on every new link; the server stores a repeated `messageId` once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::channel::mpsc::UnboundedReceiver;
use futures::{FutureExt, StreamExt};
use gloo_timers::future::TimeoutFuture;

use super::api;
use super::chat::{ChatState, Next, Status, UNAVAILABLE_RETRY_MS};
use super::link::{Incoming, Link, Sent, Transport};
use crate::wire::{ClientFrame, ErrorBody, ErrorCode};

/// Backoff bounds between reconnect attempts, in milliseconds.
const BACKOFF_MIN_MS: u32 = 500;
const BACKOFF_MAX_MS: u32 = 8_000;
/// How often an open view tells the server the player is still here (the chat session lives
/// 30 minutes without a message or a heartbeat).
const HEARTBEAT_MS: u32 = 60_000;
/// Most times one message is sent again after `chat.rate_limited`.
const RATE_RETRIES: u32 = 5;

enum Event {
    Link(Option<Incoming>),
    Outbox(Option<ClientFrame>),
    Switch(Option<Transport>),
    Heartbeat,
}

/// What ended a link.
enum End {
    Down(Option<ErrorBody>),
    Switch(Transport),
    Stop,
}

/// The link being replaced during a switch: open until the new one is up, then closed.
struct Retiring(Option<Link>);

impl Retiring {
    fn hold(&mut self, link: Link) {
        self.0 = Some(link);
    }

    fn close(&mut self) {
        self.0 = None;
    }
}

/// The inputs of the supervisor.
pub struct Inputs {
    pub outbox: UnboundedReceiver<ClientFrame>,
    pub switches: UnboundedReceiver<Transport>,
}

/// Keeps the room's link alive until `stop` is set or the view's channels close.
pub async fn run(room_id: String, mut inputs: Inputs, state: ChatState, stop: Arc<AtomicBool>) {
    let mut backoff = BACKOFF_MIN_MS;
    let mut connected_once = false;
    let mut previous = Retiring(None);
    while !stop.load(Ordering::Relaxed) {
        let token = state.session.token();
        let transport = state.transport();
        let after = connected_once.then(|| state.last_seq());
        let mut link = Link::open(transport, &room_id, &token, &state.session.member_id(), after);
        let mut opened = false;
        let mut heartbeat = TimeoutFuture::new(HEARTBEAT_MS).fuse();
        // After `chat.rate_limited` (which does not say which message it refused) pending
        // messages go out one at a time, each once the one before is echoed: a token arriving
        // between two sends must not put a later message first. This is the one out now.
        let mut draining: Option<ClientFrame> = None;
        let end = loop {
            let event = futures::select! {
                i = link.incoming.next() => Event::Link(i),
                f = inputs.outbox.next() => Event::Outbox(f),
                t = inputs.switches.next() => Event::Switch(t),
                _ = heartbeat => Event::Heartbeat,
            };
            if stop.load(Ordering::Relaxed) {
                break End::Stop;
            }
            match event {
                Event::Link(Some(Incoming::Frame(frame))) => match state.apply(frame) {
                    Next::Continue => {}
                    Next::Connected => {
                        if !opened && !on_open(&mut link, &state).await {
                            break End::Down(None);
                        }
                        (opened, connected_once, backoff) = (true, true, BACKOFF_MIN_MS);
                        previous.close(); // the new link is up: now the old one may close
                        state.reload_members();
                    }
                    Next::Resume => break End::Down(None),
                    // Renewed (or signed out) below, then reconnected at once: no visible gap.
                    Next::Ended(e) => break End::Down(Some(e)),
                    Next::RetryPending(ms) => {
                        TimeoutFuture::new(ms.min(60_000) as u32).await;
                        draining = state.pending_frames().into_iter().next();
                        if let Some(frame) = &draining
                            && !deliver(&mut link, &state, frame).await
                        {
                            break End::Down(None);
                        }
                    }
                    Next::Rejoin(resend) => {
                        if !deliver(&mut link, &state, &ClientFrame::Join).await {
                            break End::Down(None);
                        }
                        // One at a time, as after a rate limit: the refusal named no message.
                        draining = resend.then(|| state.pending_frames().into_iter().next()).flatten();
                        if let Some(frame) = &draining
                            && !deliver(&mut link, &state, frame).await
                        {
                            break End::Down(None);
                        }
                    }
                },
                Event::Link(Some(Incoming::Opened)) => {
                    state.set_status(Status::Connected);
                    if !on_open(&mut link, &state).await {
                        break End::Down(None);
                    }
                    (opened, connected_once, backoff) = (true, true, BACKOFF_MIN_MS);
                    previous.close();
                    state.reload_members();
                }
                Event::Heartbeat => {
                    heartbeat = TimeoutFuture::new(HEARTBEAT_MS).fuse();
                    if opened && !deliver(&mut link, &state, &ClientFrame::Heartbeat).await {
                        break End::Down(None);
                    }
                }
                Event::Link(Some(Incoming::Down(e))) => break End::Down(e),
                Event::Link(None) => break End::Down(None),
                Event::Outbox(Some(frame)) => {
                    // Before the link is up (or while draining) a message waits in `pending`.
                    let waits = draining.is_some() && matches!(frame, ClientFrame::Talk { .. });
                    if opened && !waits && !deliver(&mut link, &state, &frame).await {
                        break End::Down(None);
                    }
                }
                Event::Outbox(None) | Event::Switch(None) => break End::Stop,
                Event::Switch(Some(t)) if t == transport => {}
                Event::Switch(Some(t)) => break End::Switch(t),
            }
            // The message out while draining was echoed (or refused for good): send the next.
            if let Some(out) = &draining {
                let head = state.pending_frames().into_iter().next();
                if head.as_ref() != Some(out) {
                    draining = head;
                    if let Some(frame) = &draining
                        && !deliver(&mut link, &state, frame).await
                    {
                        break End::Down(None);
                    }
                }
            }
        };
        match end {
            End::Stop => return,
            End::Switch(t) => {
                state.set_transport(t);
                state.set_status(Status::Connecting);
                if opened {
                    previous.hold(link);
                }
                continue;
            }
            End::Down(err) => {
                drop(link);
                previous.close();
                // Refused before it opened: retrying is pointless if the token or the room is the cause.
                let err = match err {
                    Some(e) => Some(e),
                    None if !opened => api::probe_room(&token, &room_id).await.err(),
                    None => None,
                };
                if let Some(e) = err {
                    // A registered member's access token is short-lived: renew it and go on.
                    if e.code == ErrorCode::TokenExpired && state.session.renew().await.is_some() {
                        continue;
                    }
                    if api::is_auth_error(&e)
                        || matches!(e.code, ErrorCode::RoomNotFound | ErrorCode::RoomForbidden | ErrorCode::RoomFull)
                    {
                        state.fail(e);
                        return;
                    }
                }
            }
        }
        if stop.load(Ordering::Relaxed) {
            return;
        }
        state.set_status(Status::Reconnecting);
        TimeoutFuture::new(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX_MS);
    }
}

/// On a fresh link: JOIN (the server ignores a repeated one), then every message still pending.
async fn on_open(link: &mut Link, state: &ChatState) -> bool {
    deliver(link, state, &ClientFrame::Join).await && resend_pending(link, state).await
}

/// Sends every message still waiting for its echo, oldest first.
async fn resend_pending(link: &mut Link, state: &ChatState) -> bool {
    for frame in state.pending_frames() {
        if !deliver(link, state, &frame).await {
            return false;
        }
    }
    true
}

/// Sends one frame; false when the link failed (the frame stays pending if it is a message).
async fn deliver(link: &mut Link, state: &ChatState, frame: &ClientFrame) -> bool {
    for _ in 0..RATE_RETRIES {
        match link.send(frame).await {
            Sent::Ok => return true,
            Sent::Warned(w) => {
                state.toasts.show(w);
                return true;
            }
            // Too fast: not refused for good; wait as told and send it again.
            Sent::Refused(e) if e.code == ErrorCode::RateLimited => {
                let wait = e.retry_after_ms.unwrap_or(1_000).min(60_000) as u32;
                state.toasts.show(e);
                TimeoutFuture::new(wait).await;
            }
            // A backend is down: nothing was stored; wait, then send it again (it stays pending
            // for the next link if the outage lasts).
            Sent::Refused(e) if e.code == ErrorCode::Unavailable => {
                state.toasts.show(e);
                TimeoutFuture::new(UNAVAILABLE_RETRY_MS as u32).await;
            }
            // Our seat went: take it again, then send this again.
            Sent::Refused(e) if e.code == ErrorCode::NotJoined && *frame != ClientFrame::Join => {
                if !matches!(link.send(&ClientFrame::Join).await, Sent::Ok) {
                    state.refused(frame, e);
                    return true;
                }
            }
            // The token ran out: the link goes down and the reconnect renews it.
            Sent::Refused(e) if api::is_auth_error(&e) => return false,
            Sent::Refused(e) => {
                state.refused(frame, e);
                return true;
            }
            Sent::Failed => return false,
        }
    }
    true // still pending: the next link sends it again
}
