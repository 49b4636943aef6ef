//! The bare broadcast peer: `GET /ws?room=<name>`; every text frame goes to everyone in the room.

use std::sync::Arc;

use anyhow::Result;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use super::{Endpoint, Sub, ws_config, ws_frame_bytes};
use crate::probe::Probe;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(ep: &Endpoint, room: &str) -> Result<Ws> {
    let url = format!("{}/ws?room={room}", ep.ws_base());
    Ok(tokio_tungstenite::connect_async_with_config(url, Some(ws_config()), true).await?.0)
}

/// A subscriber of a bare room.
pub async fn subscribe(ep: &Endpoint, room: &str, probe: Arc<Probe>) -> Result<Sub> {
    let mut ws = open(ep, room).await?;
    let task = tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Text(t) = msg {
                probe.deliver(t.as_str(), ws_frame_bytes(t.len()));
            }
        }
    });
    Ok(Sub { task, handshake_bytes: 0, who: None })
}

/// A publisher into a bare room (it drains what the room sends back to it).
pub struct Publisher {
    sink: futures_util::stream::SplitSink<Ws, Message>,
    _drain: super::Sub,
}

impl Publisher {
    /// Opens one.
    pub async fn open(ep: &Endpoint, room: &str) -> Result<Publisher> {
        let (sink, mut stream) = open(ep, room).await?.split();
        let task = tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
        Ok(Publisher { sink, _drain: super::Sub { task, handshake_bytes: 0, who: None } })
    }

    /// Sends a body as a text frame.
    pub async fn send(&mut self, body: String) -> Result<()> {
        Ok(self.sink.send(Message::text(body)).await?)
    }
}
