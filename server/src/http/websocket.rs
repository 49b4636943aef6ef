//! The WebSocket protocol (RFC 6455), server side, for `/ws`, `/ws-chat` and SockJS.
//!
//! Our own rather than axum's (tungstenite): a room event is one shared buffer for every
//! subscriber, and this socket writes those buffers as they are (one vectored write per flush)
//! and keeps no read or write buffer while idle, where tungstenite copies every frame into a
//! per-socket buffer that keeps the capacity of its largest burst. Text messages are the
//! model's shared `Utf8Bytes`, the very buffers stored events are kept in.

mod frame;
mod message;
mod socket;
mod upgrade;

#[cfg(test)]
mod rfc_tests;
#[cfg(test)]
mod test_client;

pub use message::{CloseFrame, Message, close_code};
pub use socket::{Limits, Socket};
pub use upgrade::{Upgrade, Upgraded};

/// A socket over an upgraded server connection: what the transports get.
pub type WebSocket = Socket<Upgraded>;

/// Why a socket stopped reading; each maps to the close code the client is told.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("message too big")]
    TooBig,
    #[error("invalid UTF-8")]
    Utf8,
    #[error("protocol error: {0}")]
    Protocol(&'static str),
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
    #[error("the socket is closed")]
    Closed,
}

impl Error {
    /// The close code that tells the client why (RFC 6455 §7.4.1).
    pub fn close_code(&self) -> u16 {
        match self {
            Error::TooBig => close_code::SIZE,
            Error::Utf8 => close_code::INVALID,
            Error::Protocol(_) => close_code::PROTOCOL,
            Error::Io(_) | Error::Closed => close_code::ERROR,
        }
    }

    /// The close frame's reason for the client.
    pub fn close_reason(&self) -> &'static str {
        match self {
            Error::TooBig => "message too big",
            Error::Utf8 => "invalid UTF-8",
            Error::Protocol(_) => "protocol error",
            Error::Io(_) | Error::Closed => "read error",
        }
    }
}
