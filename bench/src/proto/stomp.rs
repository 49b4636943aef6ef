//! DungeonTalk's STOMP 1.2 at `/ws-chat` (what the original stomp.js client speaks): CONNECT,
//! SUBSCRIBE to `/sub/chat/room/{roomId}`, SEND to `/pub/chat/send` with the original JSON. Each
//! MESSAGE carries the same JSON as `/ws`, so the probe reads it the same way.

use std::sync::Arc;

use anyhow::{Result, bail};
use dungeontalk_app::wire::stomp::{Command, Frame};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use super::dt::{Ws, guest, joins, talk_body};
use super::{Endpoint, Sub, ws_config, ws_frame_bytes};
use crate::probe::Probe;

/// A frame as one WebSocket text message (the codec the server and the browser share).
fn message(frame: Frame) -> Message {
    Message::text(String::from_utf8(frame.encode()).expect("the frames sent here are UTF-8"))
}

fn chat(room: &str, kind: &str, content: &str) -> Message {
    let body = json!({"type": kind, "roomId": room, "content": content}).to_string();
    message(Frame::new(Command::Send).header("destination", "/pub/chat/send").body(body))
}

/// Connects (no heart-beats: the run is short and the probe reads all the time) and subscribes
/// to the room; `join`: takes a seat, as a publisher must.
async fn open(ep: &Endpoint, token: &str, room: &str, join: bool) -> Result<Ws> {
    let url = format!("{}/ws-chat?token={token}&roomId={room}", ep.ws_base());
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(ws_config()), true).await?;
    ws.send(message(Frame::new(Command::Connect).header("accept-version", "1.2").header("heart-beat", "0,0"))).await?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.starts_with("CONNECTED\n") => {}
        other => bail!("no CONNECTED frame: {other:?}"),
    }
    let destination = format!("/sub/chat/room/{room}");
    ws.send(message(Frame::new(Command::Subscribe).header("id", "r").header("destination", destination))).await?;
    if join {
        ws.send(chat(room, "JOIN", "")).await?;
    }
    Ok(ws)
}

/// A subscriber of a room over STOMP.
pub async fn subscribe(ep: &Endpoint, room: &str, probe: Arc<Probe>) -> Result<Sub> {
    let token = guest(ep).await?;
    let mut ws = open(ep, &token, room, joins()).await?;
    let task = tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Text(t) = msg
                && t.starts_with("MESSAGE\n")
                && let Some(body) = talk_body(t.as_str())
            {
                probe.deliver(body, ws_frame_bytes(t.len()));
            }
        }
    });
    Ok(Sub { task, handshake_bytes: 0, who: None })
}

/// A sender into one room over its own STOMP connection.
pub struct Publisher {
    sink: futures_util::stream::SplitSink<Ws, Message>,
    room: String,
    _drain: Sub,
}

impl Publisher {
    /// Opens one (a member of the room).
    pub async fn open(ep: &Endpoint, room: &str) -> Result<Publisher> {
        let token = guest(ep).await?;
        let (sink, mut stream) = open(ep, &token, room, true).await?.split();
        // The room's events come back on it too: read and drop them.
        let task = tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
        Ok(Publisher { sink, room: room.to_owned(), _drain: Sub { task, handshake_bytes: 0, who: None } })
    }

    /// Sends one TALK with `body` as its content.
    pub async fn send(&mut self, body: String) -> Result<()> {
        Ok(self.sink.send(chat(&self.room, "TALK", &body)).await?)
    }
}
