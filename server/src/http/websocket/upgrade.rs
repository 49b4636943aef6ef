//! The opening handshake: an extractor that checks an HTTP/1.1 upgrade request, and the
//! `101 Switching Protocols` answer that hands the connection to a [`Socket`].

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, Version};
use axum::response::Response;
use base64::Engine as _;
use dungeontalk_app::wire::ErrorCode;
use hyper_util::rt::TokioIo;
use sha1::{Digest, Sha1};

use super::{Limits, Socket};
use crate::error::AppError;

/// The connection a socket runs over once upgraded.
pub type Upgraded = TokioIo<hyper::upgrade::Upgraded>;

/// A checked WebSocket handshake, not answered yet.
pub struct Upgrade {
    key: HeaderValue,
    offered: Vec<HeaderValue>,
    protocol: Option<HeaderValue>,
    on_upgrade: hyper::upgrade::OnUpgrade,
    limits: Limits,
}

fn refuse(msg: &str) -> AppError {
    AppError::new(ErrorCode::InvalidRequest, format!("Not a WebSocket handshake: {msg}."))
}

fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        if parts.version != Version::HTTP_11 || parts.method != Method::GET {
            return Err(refuse("a WebSocket opens with an HTTP/1.1 GET"));
        }
        let headers = &parts.headers;
        if !has_token(headers, header::CONNECTION, "upgrade") || !has_token(headers, header::UPGRADE, "websocket") {
            return Err(refuse("Connection: Upgrade and Upgrade: websocket are required"));
        }
        if headers.get(header::SEC_WEBSOCKET_VERSION).map(|v| v.as_bytes()) != Some(b"13") {
            return Err(refuse("Sec-WebSocket-Version must be 13"));
        }
        let key = headers.get(header::SEC_WEBSOCKET_KEY).ok_or_else(|| refuse("Sec-WebSocket-Key is missing"))?.clone();
        let offered = headers
            .get_all(header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .flat_map(|v| v.as_bytes().split(|&b| b == b','))
            .filter_map(|p| HeaderValue::from_bytes(p.trim_ascii()).ok())
            .collect();
        let on_upgrade = parts
            .extensions
            .remove::<hyper::upgrade::OnUpgrade>()
            .ok_or_else(|| refuse("this connection cannot be upgraded"))?;
        let limits = Limits { max_message: 1 << 20, read_chunk: 4096, write_chunk: 4096 };
        Ok(Upgrade { key, offered, protocol: None, on_upgrade, limits })
    }
}

impl Upgrade {
    /// The socket's sizes.
    pub fn limits(mut self, limits: Limits) -> Upgrade {
        self.limits = limits;
        self
    }

    /// Chooses the first of `ours` that the client offered as its subprotocol.
    pub fn protocols(mut self, ours: &[&'static str]) -> Upgrade {
        self.protocol = ours
            .iter()
            .find(|p| self.offered.iter().any(|o| o.as_bytes() == p.as_bytes()))
            .map(|p| HeaderValue::from_static(p));
        self
    }

    /// Answers `101` and, once the client has it, runs `callback` with the socket on its own
    /// task.
    pub fn on_upgrade<F, Fut>(self, callback: F) -> Response
    where
        F: FnOnce(Socket<Upgraded>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Upgrade { key, protocol, on_upgrade, limits, .. } = self;
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(io) => callback(Socket::new(TokioIo::new(io), limits)).await,
                Err(e) => tracing::debug!(error = %e, "a WebSocket upgrade failed"),
            }
        });
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept(key.as_bytes()));
        if let Some(p) = protocol {
            headers.insert(header::SEC_WEBSOCKET_PROTOCOL, p);
        }
        response
    }
}

/// `Sec-WebSocket-Accept`: proof that the server read the client's key (RFC 6455 §4.2.2).
fn accept(key: &[u8]) -> HeaderValue {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let b64 = base64::engine::general_purpose::STANDARD.encode(sha1.finalize());
    HeaderValue::from_str(&b64).expect("base64 is a valid header value")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_accept_key_is_the_rfc_example() {
        // RFC 6455 §1.3.
        assert_eq!(super::accept(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }
}
