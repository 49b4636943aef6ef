//! One WebSocket connection: a reader and a writer on one task.
//!
//! The reader parses frames and starts each in order; a TALK's commit is awaited in the
//! background (up to `ws_pipeline` at once) and its ACK or ERROR goes out in the order the
//! frames came. The writer takes room events from the feed and replies from the reader, queues
//! every one that is ready, then flushes once under one deadline (`send_timeout_ms`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::super::websocket::{CloseFrame, Message, close_code};
use crate::model::Utf8Bytes;
use dungeontalk_app::wire::{ErrorCode, ServerFrame};
use futures_util::stream::{FuturesOrdered, SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};

use super::super::alarms::{Alarm, Alarms};
use super::super::deadline::within;
use super::super::frames::{Acted, PendingActed, Started, parse, start};
use super::super::websocket::{self, WebSocket};
use super::replies::Replies;
use crate::auth::{Ended, Revocation};
use crate::error::AppError;
use crate::hub::feed::{FeedError, Item};
use crate::model::Actor;
use crate::session::Entry;
use crate::state::AppState;

/// Most frames written in one flush.
const BATCH: usize = 256;

fn text(frame: &ServerFrame) -> Message {
    Message::Text(serde_json::to_string(frame).expect("frames always serialize").into())
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) }))
}

/// The close a broken client message deserves, so the client can tell "too big" from a crash.
fn close_for(e: &websocket::Error) -> Message {
    close(e.close_code(), e.close_reason())
}

/// When the client was last heard from (any frame, pongs included), shared by reader and writer.
struct Heard {
    start: Instant,
    ms: AtomicU64,
}

impl Heard {
    fn new() -> Heard {
        Heard { start: Instant::now(), ms: AtomicU64::new(0) }
    }

    fn mark(&self) {
        self.ms.store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn since(&self) -> Duration {
        self.start.elapsed().saturating_sub(Duration::from_millis(self.ms.load(Ordering::Relaxed)))
    }
}

/// Where a connection starts reading.
pub struct Start {
    /// The client's cursor (none: the recent history).
    pub after: Option<u64>,
    /// TALKs go as compact binary frames (`?encoding=compact`).
    pub compact: bool,
}

/// What the reader and the writer of one connection share.
struct Shared {
    actor: Actor,
    /// The room, the seat and the attendance the handshake got.
    entry: Entry,
    replies: Replies,
    heard: Heard,
}

/// What serves one upgraded connection until either side ends it.
///
/// Everything is made here, outside the future, which then only borrows it: the future lives as
/// long as the socket, and an `async fn` would keep its arguments and the locals they are moved
/// into both (the compiler does not overlap them), about 1 KiB more per idle socket.
pub fn run(
    socket: WebSocket,
    state: AppState,
    actor: Actor,
    entry: Entry,
    start: Start,
    revocation: Revocation,
) -> impl Future<Output = ()> + Send + 'static {
    let counted = state.hub.metrics().connection("ws");
    let (sink, stream) = socket.split();
    let replies = Replies::new(state.settings.ws_pipeline.max(1) * 2);
    let shared = Shared { actor, entry, replies, heard: Heard::new() };
    // Pings keep proxies from closing a quiet socket and tell a live client from a vanished one.
    let every = Duration::from_secs(state.settings.ws_ping_secs);
    let ping = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let alarms = Alarms::new(ping, &state.shutdown, revocation);
    let mut writer = Writer { sink, state: state.clone(), alarms, compact: start.compact };
    let mut reader = Reader { stream, state };
    async move {
        tokio::select! {
            _ = writer.run(start, &shared) => {}
            _ = reader.run(&shared) => {}
        }
        // The attendance (in `shared`) ends with the connection, the metric with it.
        drop((counted, shared));
    }
}

struct Reader {
    stream: SplitStream<WebSocket>,
    state: AppState,
}

impl Reader {
    async fn run(&mut self, shared: &Shared) {
        let pipeline = self.state.settings.ws_pipeline.max(1);
        // Made at the first frame: it allocates at once, and most sockets never send one.
        let mut inflight: Option<FuturesOrdered<PendingActed>> = None;
        loop {
            let busy = inflight.as_ref().map_or(0, FuturesOrdered::len);
            tokio::select! {
                msg = self.stream.next(), if busy < pipeline => {
                    shared.heard.mark();
                    match msg {
                    Some(Ok(Message::Text(t))) => {
                        // Boxed: an idle connection's task holds only its waiting state, not
                        // room for this one (idle sockets are most sockets).
                        let started = Box::pin(self.start(t, shared)).await;
                        inflight.get_or_insert_with(FuturesOrdered::new).push_back(started);
                    }
                    Some(Ok(Message::Binary(_))) => {
                        let e = AppError::new(ErrorCode::BadFrame, "Send JSON text frames, not binary.");
                        let refused: PendingActed = Box::pin(std::future::ready(Err(e)));
                        inflight.get_or_insert_with(FuturesOrdered::new).push_back(refused);
                    }
                    Some(Ok(Message::Close(_))) | None => return,
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        // Tell the client why, then let the writer end the connection.
                        Box::pin(shared.replies.send(close_for(&e))).await;
                        return std::future::pending().await;
                    }
                    }
                },
                Some(done) = next_done(&mut inflight) => {
                    if inflight.as_ref().is_some_and(FuturesOrdered::is_empty) {
                        inflight = None;
                    }
                    for reply in replies_for(done) {
                        // Boxed: waiting for room in the queue is rare, and inline it would size
                        // every idle socket's task for it (128 bytes).
                        Box::pin(shared.replies.send(reply)).await;
                    }
                }
            }
        }
    }

    /// Starts one frame; what it comes to is awaited in order with the others.
    async fn start(&self, text: Utf8Bytes, shared: &Shared) -> PendingActed {
        let max = self.state.settings.max_frame_bytes;
        if text.len() > max {
            let msg = format!("Frames may be at most {} KiB; this one has {} bytes.", max / 1024, text.len());
            return Box::pin(std::future::ready(Err(AppError::new(ErrorCode::FrameTooLarge, msg))));
        }
        let started = match parse(text.as_bytes()) {
            Ok(frame) => start(&self.state, &shared.entry.room, &shared.actor, frame).await,
            Err(e) => Err(e),
        };
        match started {
            Ok(Started::Pending(p)) => p,
            Ok(Started::Done(acted)) => Box::pin(std::future::ready(Ok(acted))),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }
}

/// The next of a reader's frames to come to something (none while it has none in flight).
async fn next_done(inflight: &mut Option<FuturesOrdered<PendingActed>>) -> Option<Result<Acted, AppError>> {
    match inflight {
        Some(f) => f.next().await,
        None => None,
    }
}

/// What the sender hears about one of its frames: ACK (and WARNING), or ERROR.
fn replies_for(done: Result<Acted, AppError>) -> Vec<Message> {
    match done {
        Ok(acted) => {
            let mut out = Vec::new();
            if let (Some(message_id), Some(accepted_seq)) = (acted.message_id, acted.seq) {
                out.push(text(&ServerFrame::Ack { message_id, accepted_seq }));
            }
            if let Some(w) = acted.warning {
                out.push(text(&ServerFrame::Warning { code: w.code, message: w.message }));
            }
            out
        }
        Err(e) => vec![text(&e.to_frame())],
    }
}

/// The writer ended the connection (closed it, or the client would not take data in time).
struct Closed;

struct Writer {
    sink: SplitSink<WebSocket, Message>,
    state: AppState,
    /// Pings, shutdown, and the end of the handshake's token (the connection ends then).
    alarms: Alarms,
    /// TALKs go as compact binary frames.
    compact: bool,
}

impl Writer {
    async fn run(&mut self, start: Start, shared: &Shared) {
        let actor = &shared.actor;
        let settings = self.state.settings.clone();
        let hub = self.state.hub.clone();
        // A temporary: a named frame would stay in this future (~190 bytes) for the socket's life.
        let mut batch = vec![text(&ServerFrame::Connected {
            room_id: shared.entry.room.room_id.clone(),
            member_id: actor.member_id.clone(),
            nickname: actor.nickname.clone(),
        })];
        let mut feed = match Box::pin(shared.entry.read(&self.state, actor, start.after)).await {
            Ok(feed) => feed,
            Err(e) => {
                batch.push(text(&e.to_frame()));
                let _ = Box::pin(self.write(&mut batch)).await;
                return;
            }
        };
        // Boxed like every write: inline, the largest wait of this future would be this one.
        if Box::pin(self.write(&mut batch)).await.is_err() {
            return;
        }
        let delivered = hub.metrics().deliveries.with_label_values(&["ws"]);
        let every = Duration::from_secs(settings.ws_ping_secs);
        loop {
            let mut ending = false;
            tokio::select! {
                alarm = self.alarms.next() => match alarm {
                    Alarm::Tick if shared.heard.since() > every * 2 => {
                        // Two pings went unanswered: the client is gone (its network, not its code).
                        batch.push(close(close_code::AWAY, "no pong"));
                        ending = true;
                    }
                    Alarm::Tick => batch.push(Message::Ping(axum::body::Bytes::from_static(b"dt"))),
                    Alarm::Stopping => {
                        batch.push(close(close_code::AWAY, "server shutting down"));
                        ending = true;
                    }
                    Alarm::Ended(why) => {
                        batch.push(text(&why.error().to_frame()));
                        let reason = if why == Ended::Expired { "token expired" } else { "logged out" };
                        batch.push(close(close_code::POLICY, reason));
                        ending = true;
                    }
                },
                item = feed.next() => match item {
                    Ok(item) => self.event(item, &mut batch),
                    Err(FeedError::Closed) => return,
                    Err(e @ FeedError::RoomFull(_)) => {
                        // No seat in a full room: nothing more to read here.
                        batch.push(text(&AppError::from(e).to_frame()));
                        batch.push(close(close_code::POLICY, "room full"));
                        ending = true;
                    }
                    Err(e) => {
                        // The client resumes later with its cursor.
                        batch.push(text(&AppError::from(e).to_frame()));
                        ending = true;
                    }
                },
                reply = shared.replies.recv() => {
                    ending = matches!(reply, Message::Close(_));
                    batch.push(reply);
                },
            }
            // Everything else that is ready goes out with it, in one write.
            while !ending && batch.len() < BATCH && feed.ready() {
                match feed.next().now_or_never() {
                    Some(Ok(item)) => self.event(item, &mut batch),
                    _ => break,
                }
            }
            while !ending && batch.len() < BATCH {
                match shared.replies.try_recv() {
                    Some(m) => {
                        ending = matches!(m, Message::Close(_));
                        batch.push(m);
                    }
                    None => break,
                }
            }
            let events = batch.iter().filter(|m| matches!(m, Message::Text(_) | Message::Binary(_))).count() as u64;
            if Box::pin(self.write(&mut batch)).await.is_err() || ending {
                return;
            }
            delivered.inc_by(events);
        }
    }

    fn event(&self, item: Item, batch: &mut Vec<Message>) {
        match item {
            Item::Event(event) => batch.push(match self.compact.then(|| event.compact()).flatten() {
                Some(bytes) => Message::Binary(bytes),
                None => Message::Text(event.json.clone()),
            }),
            // The client fell a whole ring behind: it fetches the gap, we go on live.
            Item::Lagged { after } => {
                self.state.hub.metrics().resyncs.inc();
                batch.push(text(&ServerFrame::Resync { after }));
            }
        }
    }

    /// Writes a batch with one flush; a client that does not take it within `send_timeout_ms` is
    /// dropped.
    async fn write(&mut self, batch: &mut Vec<Message>) -> Result<(), Closed> {
        let limit = Duration::from_millis(self.state.settings.send_timeout_ms);
        let sink = &mut self.sink;
        let all = async {
            for m in batch.drain(..) {
                sink.feed(m).await?;
            }
            sink.flush().await
        };
        let written = within(limit, all).await;
        // Kept between wake-ups it would hold 4+ slots (~200 bytes) per idle socket, and idle
        // sockets are most sockets: the next wake-up allocates it again.
        *batch = Vec::new();
        match written {
            Ok(Ok(())) => Ok(()),
            _ => Err(Closed),
        }
    }
}
