//! One STOMP connection over a WebSocket: reads frames into the session, writes what it and the
//! subscriptions queue, keeps heart-beats and pings, and ends with the handshake's token.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, close_code};
use dungeontalk_app::wire::stomp::Decoder;
use futures_util::stream::FuturesOrdered;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use super::session::{Next, Session};
use crate::auth::Revocation;
use crate::model::Actor;
use crate::state::AppState;

/// Serves one upgraded `/ws-chat` connection until either side ends it.
pub async fn run(socket: WebSocket, state: AppState, actor: Actor, mut revocation: Revocation) {
    let _counted = state.hub.metrics().connection("stomp");
    let (mut sink, mut stream) = socket.split();
    let (out_tx, mut out_rx) = mpsc::channel(state.settings.outgoing_queue_len.max(1));
    let ping_every = Duration::from_secs(state.settings.ws_ping_secs);
    let mut s = Session {
        decoder: Decoder::new(state.settings.max_frame_bytes),
        state: state.clone(),
        actor,
        connected: false,
        subs: HashMap::new(),
        errors: None,
        errors_sent: 0,
        transactions: HashMap::new(),
        out_tx,
        queue: Vec::new(),
        inflight: FuturesOrdered::new(),
        beat: None,
        silence: ping_every * 2,
    };
    let connect_by = tokio::time::Instant::now() + Duration::from_secs(state.settings.http_header_timeout_secs);
    let mut heard = Instant::now();
    let mut sent = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut last_ping = Instant::now();
    loop {
        let next = tokio::select! {
            msg = stream.next() => {
                heard = Instant::now();
                match msg {
                    Some(Ok(Message::Text(t))) => s.bytes(t.as_bytes()).await,
                    Some(Ok(Message::Binary(b))) => s.bytes(&b).await,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => Next::Go,
                }
            }
            Some(out) = out_rx.recv() => s.out(out),
            Some((done, receipt)) = s.inflight.next() => {
                s.done(done, receipt.as_deref())
            }
            _ = tick.tick() => {
                if !s.connected && tokio::time::Instant::now() > connect_by {
                    s.fatal("no CONNECT", "Send CONNECT first.", None)
                } else if heard.elapsed() > s.silence {
                    // Gone without a word (its network, not its code): nothing to tell it.
                    let _ = sink.send(close(close_code::AWAY, "no heart-beat")).await;
                    return;
                } else {
                    if s.beat.is_some_and(|b| sent.elapsed() >= b) {
                        s.queue.push(b"\n".to_vec());
                    }
                    if last_ping.elapsed() >= ping_every {
                        last_ping = Instant::now();
                        let _ = sink.feed(Message::Ping(axum::body::Bytes::from_static(b"dt"))).await;
                    }
                    Next::Go
                }
            }
            why = revocation.ended() => {
                let e = why.error();
                s.fatal(e.code.as_str(), &e.message, None)
            }
            _ = state.shutdown.cancelled() => s.fatal("unavailable", "The server is shutting down; connect again.", None),
        };
        // Everything a subscription has ready goes out in the same write.
        while s.queue.len() < 256 {
            match out_rx.try_recv() {
                Ok(out) => {
                    s.out(out);
                }
                Err(_) => break,
            }
        }
        if !s.queue.is_empty() {
            sent = Instant::now();
            if write(&mut sink, &mut s.queue, &state).await.is_err() {
                return;
            }
        }
        if let Next::End = next {
            let _ = sink.send(close(close_code::NORMAL, "")).await;
            return;
        }
    }
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) }))
}

/// Writes the queued frames with one flush; a client that does not take them within
/// `send_timeout_ms` is dropped.
async fn write(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    queue: &mut Vec<Vec<u8>>,
    state: &AppState,
) -> Result<(), ()> {
    let limit = Duration::from_millis(state.settings.send_timeout_ms);
    let all = async {
        for bytes in queue.drain(..) {
            // Frames are JSON bodies and text headers: text messages, as stomp.js expects.
            let msg = match String::from_utf8(bytes) {
                Ok(text) => Message::Text(text.into()),
                Err(e) => Message::Binary(e.into_bytes().into()),
            };
            sink.feed(msg).await?;
        }
        sink.flush().await
    };
    match tokio::time::timeout(limit, all).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}
