//! What a WebSocket carries, as the transports read and write it: whole messages, text as the
//! shared [`Utf8Bytes`] a stored event already is, so writing one to many sockets copies nothing.

use bytes::Bytes;

use crate::model::Utf8Bytes;

/// One WebSocket message (fragments already joined).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Text(Utf8Bytes),
    Binary(Bytes),
    Ping(Bytes),
    Pong(Bytes),
    /// A close, with its code and reason when it has them.
    Close(Option<CloseFrame>),
}

/// A close frame's code and reason (RFC 6455 §5.5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    pub code: u16,
    pub reason: Utf8Bytes,
}

/// The close codes the server sends (RFC 6455 §7.4.1).
pub mod close_code {
    /// The purpose of the connection was fulfilled.
    pub const NORMAL: u16 = 1000;
    /// The server is going away (shutdown, or the client stopped answering).
    pub const AWAY: u16 = 1001;
    /// The peer broke the protocol.
    pub const PROTOCOL: u16 = 1002;
    /// Data the endpoint cannot take (a binary frame where text is expected).
    pub const UNSUPPORTED: u16 = 1003;
    /// A text message that is not UTF-8.
    pub const INVALID: u16 = 1007;
    /// A message that breaks the server's policy.
    pub const POLICY: u16 = 1008;
    /// A message bigger than the server takes.
    pub const SIZE: u16 = 1009;
    /// The server met an error it cannot go on from.
    pub const ERROR: u16 = 1011;
    /// The server is restarting.
    pub const RESTART: u16 = 1012;
    /// The server is overloaded; try again later.
    pub const AGAIN: u16 = 1013;
}
