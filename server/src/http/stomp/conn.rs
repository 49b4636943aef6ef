//! One STOMP connection over any pipe (a WebSocket, a SockJS session): reads frames into the
//! session, reads its room subscriptions' feeds in the same task, writes what they and the session
//! queue, keeps heart-beats, and ends with the handshake's token.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::{Duration, Instant};

use dungeontalk_app::wire::stomp::Decoder;
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;

use super::super::alarms::{Alarm, Alarms};
use super::super::deadline::within;
use super::session::{Next, Session};
use crate::auth::Revocation;
use crate::model::Actor;
use crate::state::AppState;

/// What the client sent, as far as the connection cares.
pub enum Incoming {
    /// Bytes of STOMP frames.
    Bytes(Vec<u8>),
    /// A sign of life with no frames in it (a pong).
    Alive,
}

/// The carrier of STOMP frames both ways. `recv` must be cancel-safe.
pub trait Pipe: Send {
    /// What the client sent next; `None` once it is gone.
    fn recv(&mut self) -> impl Future<Output = Option<Incoming>> + Send;
    /// Sends the encoded frames; an error means the client does not take them.
    fn write(&mut self, frames: &mut Vec<Vec<u8>>) -> impl Future<Output = Result<(), ()>> + Send;
    /// Keeps the carrier alive; true when the client is known to be there right now.
    fn ping(&mut self) -> impl Future<Output = bool> + Send;
    /// Closes the carrier; `normal` is false when the client went silent.
    fn close(&mut self, normal: bool) -> impl Future<Output = ()> + Send;
}

/// Serves one STOMP connection until either side ends it.
pub async fn run<P: Pipe>(mut pipe: P, transport: &'static str, state: AppState, actor: Actor, revocation: Revocation) {
    let _counted = state.hub.metrics().connection(transport);
    let ping_every = Duration::from_secs(state.settings.ws_ping_secs);
    let mut s = session(state.clone(), actor, ping_every * 2);
    let connect_by = tokio::time::Instant::now() + Duration::from_secs(state.settings.http_header_timeout_secs);
    let mut heard = Instant::now();
    let mut sent = Instant::now();
    let tick = tokio::time::interval(Duration::from_millis(500));
    let mut alarms = Alarms::new(tick, &state.shutdown, revocation);
    let mut last_ping = Instant::now();
    loop {
        let next = tokio::select! {
            msg = pipe.recv() => {
                heard = Instant::now();
                match msg {
                    // Boxed, as every rare or large wait here: inline, handling a frame (a
                    // SUBSCRIBE reads history, a SEND takes its turn) would size every idle
                    // connection's task for it.
                    Some(Incoming::Bytes(b)) => Box::pin(s.bytes(&b)).await,
                    Some(Incoming::Alive) => Next::Go,
                    None => return,
                }
            }
            out = s.readers.next() => s.out(out),
            Some((done, receipt)) = s.inflight.next() => {
                s.done(done, receipt.as_deref())
            }
            alarm = alarms.next() => match alarm {
                Alarm::Tick => {
                    if !s.connected && tokio::time::Instant::now() > connect_by {
                        s.fatal("no CONNECT", "Send CONNECT first.", None)
                    } else if heard.elapsed() > s.silence {
                        // Gone without a word (its network, not its code): nothing to tell it.
                        Box::pin(pipe.close(false)).await;
                        return;
                    } else {
                        if s.beat.is_some_and(|b| sent.elapsed() >= b) {
                            s.queue.push(b"\n".to_vec());
                        }
                        if last_ping.elapsed() >= ping_every {
                            last_ping = Instant::now();
                            if Box::pin(pipe.ping()).await {
                                heard = Instant::now();
                            }
                        }
                        Next::Go
                    }
                }
                Alarm::Ended(why) => {
                    let e = why.error();
                    s.fatal(e.code.as_str(), &e.message, None)
                }
                Alarm::Stopping => s.fatal("unavailable", "The server is shutting down; connect again.", None),
            },
        };
        // Everything the subscriptions have ready goes out in the same write.
        let next = drain(&mut s, next);
        if !s.queue.is_empty() {
            sent = Instant::now();
            let limit = Duration::from_millis(state.settings.send_timeout_ms);
            // A client that does not take its frames within `send_timeout_ms` is dropped.
            match Box::pin(within(limit, pipe.write(&mut s.queue))).await {
                // Kept, a burst's capacity (up to 256 slots, 6 KiB) would stay with an idle
                // connection: the next wake-up allocates again, as `/ws` does.
                Ok(Ok(())) => s.queue = Vec::new(),
                _ => return,
            }
        }
        if let Next::End = next {
            Box::pin(pipe.close(true)).await;
            return;
        }
    }
}

/// A new connection's session, before its CONNECT.
fn session(state: AppState, actor: Actor, silence: Duration) -> Session {
    Session {
        decoder: Decoder::new(state.settings.max_frame_bytes),
        state,
        actor,
        connected: false,
        subs: HashSet::new(),
        readers: Default::default(),
        errors: None,
        errors_sent: 0,
        transactions: HashMap::new(),
        queue: Vec::new(),
        inflight: FuturesOrdered::new(),
        beat: None,
        silence,
    }
}

/// Queues what the subscriptions have ready after a wake-up that came to `next`, up to a write's
/// worth; stops at the first thing that ends the connection (then nothing more is taken).
fn drain(s: &mut Session, mut next: Next) -> Next {
    while matches!(next, Next::Go) && s.queue.len() < 256 {
        match s.readers.ready() {
            Some(out) => next = s.out(out),
            None => break,
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use dungeontalk_app::wire::{ErrorCode, MemberId};

    use super::super::subs::{Out, Reading};
    use super::*;
    use crate::error::AppError;

    fn reading(items: Vec<Out>) -> Reading {
        Box::pin(futures_util::stream::iter(items))
    }

    fn messages(n: usize) -> Vec<Out> {
        (0..n).map(|_| Out::Message(b"MESSAGE\n".to_vec())).collect()
    }

    fn ended(id: &str) -> Out {
        Out::Ended(Box::new((id.into(), AppError::new(ErrorCode::RoomFull, "The room is full."))))
    }

    /// The commands of the queued frames, in order.
    fn commands(s: &Session) -> Vec<String> {
        s.queue.iter().map(|f| String::from_utf8_lossy(f).lines().next().unwrap_or("").to_owned()).collect()
    }

    /// A connected-to-nothing session of its own state (kept alive by the returned dir).
    async fn fresh() -> (Session, tempfile::TempDir) {
        let (state, dir) = crate::tests::state(Default::default()).await;
        let actor = Actor { member_id: MemberId("m1".into()), nickname: "Aria".into() };
        (session(state, actor, Duration::from_secs(60)), dir)
    }

    #[tokio::test]
    async fn a_subscription_ending_among_ready_frames_ends_a_connection_without_an_errors_queue() {
        let (mut s, _dir) = fresh().await;
        s.readers.add("a".into(), reading(messages(1).into_iter().chain([ended("a")]).collect()));
        s.readers.add("b".into(), reading(messages(3)));
        let next = drain(&mut s, Next::Go);
        assert!(matches!(next, Next::End), "the subscription's end is the connection's end");
        assert_eq!(commands(&s), ["MESSAGE", "MESSAGE", "ERROR"], "nothing taken after the ERROR");

        // With an errors queue the refusal is a MESSAGE there and the rest still goes out.
        let (mut s, _dir) = fresh().await;
        s.errors = Some("errs".into());
        s.readers.add("a".into(), reading(vec![ended("a")]));
        s.readers.add("b".into(), reading(messages(2)));
        assert!(matches!(drain(&mut s, Next::Go), Next::Go));
        assert_eq!(commands(&s), ["MESSAGE", "MESSAGE", "MESSAGE"]);
    }
}
