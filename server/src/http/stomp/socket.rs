//! The WebSocket pipe: STOMP frames as text messages, pings for liveness.

use crate::http::websocket::{CloseFrame, Message, close_code};
use crate::model::Utf8Bytes;
use futures_util::{SinkExt, StreamExt};

use super::conn::{Incoming, Pipe};

/// A WebSocket carrying STOMP frames unframed (`/ws-chat`, `/ws-chat/websocket`).
pub struct Socket(pub crate::http::websocket::WebSocket);

impl Pipe for Socket {
    async fn recv(&mut self) -> Option<Incoming> {
        match self.0.next().await {
            Some(Ok(Message::Text(t))) => Some(Incoming::Bytes(t.as_bytes().to_vec())),
            Some(Ok(Message::Binary(b))) => Some(Incoming::Bytes(b.to_vec())),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => None,
            Some(Ok(_)) => Some(Incoming::Alive),
        }
    }

    async fn write(&mut self, frames: &mut Vec<Vec<u8>>) -> Result<(), ()> {
        for bytes in frames.drain(..) {
            // Frames are JSON bodies and text headers: text messages, as stomp.js expects.
            let msg = match String::from_utf8(bytes) {
                Ok(text) => Message::Text(text.into()),
                Err(e) => Message::Binary(e.into_bytes().into()),
            };
            self.0.feed(msg).await.map_err(|_| ())?;
        }
        self.0.flush().await.map_err(|_| ())
    }

    async fn ping(&mut self) -> bool {
        let _ = self.0.send(Message::Ping(axum::body::Bytes::from_static(b"dt"))).await;
        false
    }

    async fn close(&mut self, normal: bool) {
        let (code, reason) = if normal { (close_code::NORMAL, "") } else { (close_code::AWAY, "no heart-beat") };
        let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
        let _ = self.0.send(Message::Close(Some(frame))).await;
    }
}
