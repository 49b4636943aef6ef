//! DungeonTalk's own protocol: a guest token per client, rooms made over REST, and the three
//! transports (`/ws` JSON or compact frames; SSE or long polling to read, POST to send).

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use dungeontalk_app::wire::RoomId;
use dungeontalk_app::wire::compact::decode_talk;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

use super::{Endpoint, Sub, Transport, between, ws_config, ws_frame_bytes};
use crate::probe::Probe;

pub(super) type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Whether subscribers JOIN their room (they do, unless `DTBENCH_NO_JOIN` is set: readers only).
pub(super) fn joins() -> bool {
    std::env::var_os("DTBENCH_NO_JOIN").is_none()
}

/// The rooms of a run (their ids).
pub struct World {
    pub rooms: Vec<String>,
}

/// A new guest's access token.
pub async fn guest(ep: &Endpoint) -> Result<String> {
    guest_named(ep, "bench").await
}

/// A new guest called `nickname`: their access token.
pub async fn guest_named(ep: &Endpoint, nickname: &str) -> Result<String> {
    let body: Value = ep
        .http
        .post(format!("{}/api/auth/guest", ep.base))
        .json(&json!({ "nickname": nickname }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(body["accessToken"].as_str().context("no accessToken")?.to_owned())
}

impl World {
    /// Makes `n` unlimited rooms.
    pub async fn make(ep: &Endpoint, n: usize, tag: &str) -> Result<World> {
        let token = guest(ep).await?;
        let mut rooms = Vec::with_capacity(n);
        for i in 0..n {
            let body: Value = ep
                .http
                .post(format!("{}/api/rooms", ep.base))
                .bearer_auth(&token)
                .json(&json!({"name": format!("{tag}-{i}"), "maxCapacity": 0}))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            rooms.push(body["roomId"].as_str().context("no roomId")?.to_owned());
        }
        Ok(World { rooms })
    }
}

async fn post(ep: &Endpoint, token: &str, room: &str, frame: &Value) -> Result<()> {
    let url = format!("{}/api/rooms/{room}/messages", ep.base);
    let resp = ep.http.post(url).bearer_auth(token).json(frame).send().await?;
    if resp.status() != 202 {
        bail!("POST answered {}: {}", resp.status(), resp.text().await.unwrap_or_default());
    }
    Ok(())
}

/// Opens a room's WebSocket; `join`: send JOIN first (a publisher must: talking takes a seat).
async fn open_ws(ep: &Endpoint, token: &str, room: &str, join: bool) -> Result<Ws> {
    let mut url = format!("{}/ws?token={token}&roomId={room}", ep.ws_base());
    if ep.transport == Transport::WsCompact {
        url.push_str("&encoding=compact");
    }
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(ws_config()), true).await?;
    // CONNECTED comes first: the handshake was accepted.
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.contains("\"CONNECTED\"") => {}
        other => bail!("no CONNECTED frame: {other:?}"),
    }
    if join {
        ws.send(Message::text(r#"{"type":"JOIN"}"#)).await?;
    }
    Ok(ws)
}

/// The body of a TALK frame (or a poll batch element), if the text is one.
pub(super) fn talk_body(text: &str) -> Option<&str> {
    if !text.contains("\"TALK\"") {
        return None;
    }
    between(text, "\"content\":\"")
}

/// Bytes of an HTTP response's status line and headers.
fn head_bytes(resp: &reqwest::Response) -> usize {
    19 + resp.headers().iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum::<usize>()
}

/// A subscriber of a room over the endpoint's transport, joined to it: the guest `who` if given
/// (a client coming back with its token: its JOIN finds it seated), else a new guest.
pub async fn subscribe(
    ep: &Endpoint,
    _world: &World,
    room: &str,
    probe: Arc<Probe>,
    who: Option<String>,
) -> Result<Sub> {
    let token = match who {
        Some(token) => token,
        None => guest(ep).await?,
    };
    let who = Some(token.clone());
    match ep.transport {
        Transport::Ws | Transport::WsCompact => {
            let mut ws = open_ws(ep, &token, room, joins()).await?;
            let room = RoomId(room.to_owned());
            let task = tokio::spawn(async move {
                while let Some(Ok(msg)) = ws.next().await {
                    match msg {
                        Message::Text(t) => {
                            if let Some(body) = talk_body(t.as_str()) {
                                probe.deliver(body, ws_frame_bytes(t.len()));
                            }
                        }
                        Message::Binary(b) => match decode_talk(&b, &room) {
                            Ok(talk) => probe.deliver(&talk.content, ws_frame_bytes(b.len())),
                            Err(e) => eprintln!("dtbench: {e}"),
                        },
                        _ => {}
                    }
                }
            });
            Ok(Sub { task, handshake_bytes: 0, who })
        }
        Transport::Sse => {
            let url = format!("{}/api/rooms/{room}/events?token={token}", ep.base);
            let resp = ep.http.get(url).send().await?.error_for_status()?;
            let handshake = head_bytes(&resp);
            let mut body = resp.bytes_stream();
            // The `connected` event first: the stream is live.
            let mut buf = String::new();
            while !buf.contains("\n\n") {
                let chunk = body.next().await.context("the stream ended")??;
                buf.push_str(&String::from_utf8_lossy(&chunk));
            }
            if joins() {
                post(ep, &token, room, &json!({"type": "JOIN"})).await?;
            }
            let task = tokio::spawn(async move {
                let mut pending = String::new();
                while let Some(Ok(chunk)) = body.next().await {
                    pending.push_str(&String::from_utf8_lossy(&chunk));
                    while let Some(end) = pending.find("\n\n") {
                        let event: String = pending.drain(..end + 2).collect();
                        if let Some(b) = talk_body(&event) {
                            probe.deliver(b, event.len());
                        }
                    }
                }
            });
            Ok(Sub { task, handshake_bytes: handshake, who })
        }
        Transport::Stomp => bail!("STOMP is the stomp module's"),
        Transport::Poll => {
            if joins() {
                post(ep, &token, room, &json!({"type": "JOIN"})).await?;
            }
            let (ep, room) = (ep.clone(), room.to_owned());
            let task = tokio::spawn(async move {
                let mut after: Option<u64> = None;
                loop {
                    let mut url = format!("{}/api/rooms/{room}/poll?timeout=25000", ep.base);
                    if let Some(a) = after {
                        url.push_str(&format!("&after={a}"));
                    }
                    let Ok(resp) = ep.http.get(url).bearer_auth(&token).send().await else { return };
                    let head = head_bytes(&resp);
                    let Ok(text) = resp.text().await else { return };
                    let Ok(batch) = serde_json::from_str::<Value>(&text) else { return };
                    after = batch["next"].as_u64();
                    let events = batch["events"].as_array().map(Vec::as_slice).unwrap_or_default();
                    let share = (text.len() + head) / events.len().max(1);
                    for e in events {
                        if e["type"] == "TALK"
                            && let Some(b) = e["content"].as_str()
                        {
                            probe.deliver(b, share);
                        }
                    }
                }
            });
            Ok(Sub { task, handshake_bytes: 0, who })
        }
    }
}

/// A sender into one room: TALK frames on its own WebSocket, or POSTs (several in flight).
pub enum Publisher {
    Ws { sink: futures_util::stream::SplitSink<Ws, Message>, _drain: Sub },
    Post { ep: Endpoint, token: String, room: String, slots: Arc<Semaphore> },
}

impl Publisher {
    /// Opens one (a member of the room).
    pub async fn open(ep: &Endpoint, _world: &World, room: &str) -> Result<Publisher> {
        let token = guest(ep).await?;
        Ok(match ep.transport {
            Transport::Ws | Transport::WsCompact => {
                let (sink, mut stream) = open_ws(ep, &token, room, true).await?.split();
                // Its own room's events and its ACKs come back on it: read and drop them.
                let task = tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
                Publisher::Ws { sink, _drain: Sub { task, handshake_bytes: 0, who: None } }
            }
            Transport::Stomp => bail!("STOMP is the stomp module's"),
            Transport::Sse | Transport::Poll => {
                post(ep, &token, room, &json!({"type": "JOIN"})).await?;
                let slots = Arc::new(Semaphore::new(16));
                Publisher::Post { ep: ep.clone(), token, room: room.to_owned(), slots }
            }
        })
    }

    /// Sends one TALK with `body` as its content.
    pub async fn send(&mut self, body: String) -> Result<()> {
        let frame = json!({"type": "TALK", "content": body});
        match self {
            Publisher::Ws { sink, .. } => Ok(sink.send(Message::text(frame.to_string())).await?),
            Publisher::Post { ep, token, room, slots } => {
                let permit = slots.clone().acquire_owned().await?;
                let (ep, token, room) = (ep.clone(), token.clone(), room.clone());
                tokio::spawn(async move {
                    if let Err(e) = post(&ep, &token, &room, &frame).await {
                        eprintln!("dtbench: a send failed: {e}");
                    }
                    drop(permit);
                });
                Ok(())
            }
        }
    }
}
