//! RFC 6455's corner cases, after the Autobahn test suite's sections (its Python cannot run
//! here): our socket runs as Autobahn's testee, an echo server, and a raw client writes
//! hand-made frames and reads back the server's frames and close codes.

use std::time::Duration;

use super::{CloseFrame, Message};
use crate::model::Utf8Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};
use tokio::task::JoinHandle;

use super::test_client::{client_close, read_server_frame};
use super::{Limits, Socket};

mod framing;
mod payloads;

/// Room for section 1's 64 KiB messages; section 9 sets its own limit.
const LIMITS: Limits = Limits { max_message: 1 << 17, read_chunk: 4096, write_chunk: 4096 };

/// Long enough for any case here; a server that never answers fails the case instead of hanging.
const PATIENCE: Duration = Duration::from_secs(5);

/// One frame from the server: (first byte, payload).
type Frame = (u8, Vec<u8>);

/// The testee: echoes text and binary messages and, when the client breaks the protocol, tells
/// it why and hangs up, as the transports do.
async fn echo(mut socket: Socket<DuplexStream>) {
    while let Some(next) = socket.next().await {
        match next {
            Ok(msg @ (Message::Text(_) | Message::Binary(_))) => {
                if socket.send(msg).await.is_err() {
                    return;
                }
            }
            // The socket itself answers pings and echoes the client's close.
            Ok(_) => {}
            Err(e) => {
                let reason = Utf8Bytes::from_static(e.close_reason());
                let _ = socket.send(Message::Close(Some(CloseFrame { code: e.close_code(), reason }))).await;
                return;
            }
        }
    }
}

/// The client's end of a connection to the echo server.
struct Peer {
    read: ReadHalf<DuplexStream>,
    write: WriteHalf<DuplexStream>,
    server: JoinHandle<()>,
}

impl Peer {
    fn connect(limits: Limits) -> Peer {
        let (server, client) = tokio::io::duplex(1 << 20);
        let server = tokio::spawn(echo(Socket::new(server, limits)));
        let (read, write) = tokio::io::split(client);
        Peer { read, write, server }
    }

    async fn send(&mut self, bytes: &[u8]) {
        // A server that has hung up already is no failure here: what it sent before says why.
        let _ = self.write.write_all(bytes).await;
    }

    /// The server's next frame; `None` once it has hung up.
    async fn frame(&mut self) -> Option<Frame> {
        tokio::time::timeout(PATIENCE, read_server_frame(&mut self.read)).await.expect("the server answers")
    }

    /// Every frame the server sends until it hangs up.
    async fn rest(mut self) -> Vec<Frame> {
        let mut frames = Vec::new();
        while let Some(frame) = self.frame().await {
            frames.push(frame);
        }
        self.server.await.expect("the echo server does not panic");
        frames
    }
}

/// Everything the server sends back for `bytes` (written at once), until it hangs up.
async fn answer(bytes: &[u8]) -> Vec<Frame> {
    answer_within(LIMITS, bytes).await
}

async fn answer_within(limits: Limits, bytes: &[u8]) -> Vec<Frame> {
    let mut peer = Peer::connect(limits);
    peer.send(bytes).await;
    peer.rest().await
}

/// The client's closing handshake with 1000, which ends a case that went well.
fn bye() -> Vec<u8> {
    client_close(1000, b"")
}

/// A server text frame.
fn text(s: &str) -> Frame {
    (0x81, s.as_bytes().to_vec())
}

/// A server close frame with `code` and no reason (an echo of the client's close).
fn closed(code: u16) -> Frame {
    (0x88, code.to_be_bytes().to_vec())
}

/// Asserts the server echoed nothing and failed the connection with `code`.
async fn fails_with(bytes: &[u8], code: u16) {
    let frames = answer(bytes).await;
    assert_close(&frames, code);
    assert_eq!(frames.len(), 1, "nothing but the close: {frames:?}");
}

/// Asserts the server's last frame is a close with `code` (and a reason saying why).
fn assert_close(frames: &[Frame], code: u16) {
    let Some((0x88, body)) = frames.last() else { panic!("the server ends with a close: {frames:?}") };
    assert!(body.len() >= 2, "the close has a code: {frames:?}");
    assert_eq!(u16::from_be_bytes([body[0], body[1]]), code, "close code, after {frames:?}");
    assert!(std::str::from_utf8(&body[2..]).is_ok(), "the close reason is text");
}
