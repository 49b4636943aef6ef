//! Socket.IO 4 (Engine.IO protocol v4), enough of it for a room broadcast: connect to the default
//! namespace, `join` a room, send `talk` `{room, text}`, receive `talk` text; answer pings. Over
//! WebSocket, or over HTTP long polling (packets separated by 0x1e, sends by POST).

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::{Endpoint, Sub, Transport, between, ws_config, ws_frame_bytes};
use crate::probe::Probe;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const TALK: &str = "[\"talk\",\"";

/// A `join` with ack id 1: the server answers `431…` once the socket is in the room, so no
/// message sent after the subscriber is counted ready can beat its join.
fn join_packet(room: &str) -> String {
    format!("421{}", json!(["join", room]))
}

fn talk_packet(room: &str, body: &str) -> String {
    format!("42{}", json!(["talk", {"room": room, "text": body}]))
}

async fn open_ws(ep: &Endpoint, room: &str) -> Result<Ws> {
    let url = format!("{}/socket.io/?EIO=4&transport=websocket", ep.ws_base());
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(ws_config()), true).await?;
    expect(&mut ws, "0").await?;
    ws.send(Message::text("40")).await?;
    expect(&mut ws, "40").await?;
    ws.send(Message::text(join_packet(room))).await?;
    expect(&mut ws, "431").await?;
    Ok(ws)
}

/// Waits for a packet starting with `prefix`, answering pings meanwhile (some servers ping at once).
async fn expect(ws: &mut Ws, prefix: &str) -> Result<()> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.starts_with(prefix) => return Ok(()),
            Some(Ok(Message::Text(t))) if t.as_str() == "2" => ws.send(Message::text("3")).await?,
            other => bail!("expected {prefix}…, got {other:?}"),
        }
    }
}

/// A long-polling session: its sid and base URL.
#[derive(Clone)]
struct Polling {
    ep: Endpoint,
    url: String,
}

impl Polling {
    async fn open(ep: &Endpoint, room: &str) -> Result<Polling> {
        let first = format!("{}/socket.io/?EIO=4&transport=polling", ep.base);
        let open = ep.http.get(&first).send().await?.error_for_status()?.text().await?;
        let sid = between(&open, "\"sid\":\"").context("no sid in the open packet")?.to_owned();
        let p = Polling { ep: ep.clone(), url: format!("{first}&sid={sid}") };
        p.post("40").await?;
        // The server may ping (`2`) before it confirms the namespace: answer and read again.
        let mut connected = p.get().await?.0;
        for _ in 0..3 {
            if !connected.iter().all(|packet| packet == "2") {
                break;
            }
            p.post("3").await?;
            connected = p.get().await?.0;
        }
        if !connected.iter().any(|packet| packet.starts_with("40")) {
            bail!("no namespace connect: {connected:?}");
        }
        p.post(&join_packet(room)).await?;
        for _ in 0..5 {
            let (packets, _) = p.get().await?;
            if packets.iter().any(|packet| packet.starts_with("431")) {
                return Ok(p);
            }
            if packets.iter().any(|packet| packet == "2") {
                p.post("3").await?;
            }
        }
        bail!("the join was not acknowledged")
    }

    async fn post(&self, body: &str) -> Result<()> {
        self.ep.http.post(&self.url).body(body.to_owned()).send().await?.error_for_status()?;
        Ok(())
    }

    /// One poll: its packets and the bytes it took.
    async fn get(&self) -> Result<(Vec<String>, usize)> {
        let resp = self.ep.http.get(&self.url).send().await?.error_for_status()?;
        let head = 19 + resp.headers().iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum::<usize>();
        let text = resp.text().await?;
        let bytes = head + text.len();
        Ok((text.split('\u{1e}').map(str::to_owned).collect(), bytes))
    }

    /// Polls until the session ends, answering pings; `on` gets each packet and its byte share.
    async fn run(self, mut on: impl FnMut(&str, usize)) {
        while let Ok((packets, bytes)) = self.get().await {
            let share = bytes / packets.len().max(1);
            for p in &packets {
                if p == "2" {
                    if self.post("3").await.is_err() {
                        return;
                    }
                } else if p == "1" {
                    return;
                } else {
                    on(p, share);
                }
            }
        }
    }
}

/// A subscriber of a Socket.IO room.
pub async fn subscribe(ep: &Endpoint, room: &str, probe: Arc<Probe>) -> Result<Sub> {
    let task = match ep.transport {
        Transport::Ws => {
            let mut ws = open_ws(ep, room).await?;
            tokio::spawn(async move {
                while let Some(Ok(msg)) = ws.next().await {
                    let Message::Text(t) = msg else { continue };
                    if t.as_str() == "2" {
                        if ws.send(Message::text("3")).await.is_err() {
                            return;
                        }
                    } else if let Some(body) = between(t.as_str(), TALK) {
                        probe.deliver(body, ws_frame_bytes(t.len()));
                    }
                }
            })
        }
        Transport::Poll => {
            let session = Polling::open(ep, room).await?;
            tokio::spawn(session.run(move |packet, share| {
                if let Some(body) = between(packet, TALK) {
                    probe.deliver(body, share);
                }
            }))
        }
        Transport::Sse | Transport::Stomp | Transport::WsCompact => {
            bail!("Socket.IO has no {:?} transport", ep.transport)
        }
    };
    Ok(Sub { task, handshake_bytes: 0, who: None })
}

/// A sender into a Socket.IO room (a member of it: what the room sends is read and dropped).
pub struct Publisher {
    tx: mpsc::UnboundedSender<String>,
    _task: Sub,
}

impl Publisher {
    /// Opens one.
    pub async fn open(ep: &Endpoint, room: &str) -> Result<Publisher> {
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let room = room.to_owned();
        let task = match ep.transport {
            Transport::Ws => {
                let mut ws = open_ws(ep, &room).await?;
                tokio::spawn(async move {
                    loop {
                        tokio::select! {
                            body = rx.recv() => match body {
                                Some(b) => if ws.send(Message::text(talk_packet(&room, &b))).await.is_err() { return },
                                None => return,
                            },
                            msg = ws.next() => match msg {
                                Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                                    if ws.send(Message::text("3")).await.is_err() { return }
                                }
                                Some(Ok(_)) => {}
                                _ => return,
                            },
                        }
                    }
                })
            }
            Transport::Poll => {
                let session = Polling::open(ep, &room).await?;
                let sender = session.clone();
                tokio::spawn(async move {
                    let drain = tokio::spawn(session.run(|_, _| {}));
                    while let Some(b) = rx.recv().await {
                        if sender.post(&talk_packet(&room, &b)).await.is_err() {
                            break;
                        }
                    }
                    drain.abort();
                })
            }
            Transport::Sse | Transport::Stomp | Transport::WsCompact => {
                bail!("Socket.IO has no {:?} transport", ep.transport)
            }
        };
        Ok(Publisher { tx, _task: Sub { task, handshake_bytes: 0, who: None } })
    }

    /// Sends a body as a `talk` event.
    pub async fn send(&mut self, body: String) -> Result<()> {
        self.tx.send(body).map_err(|_| anyhow::anyhow!("the Socket.IO connection closed"))
    }
}
