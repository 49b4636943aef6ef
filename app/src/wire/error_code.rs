//! Stable machine-readable error codes shared by the server and the UI.

use serde::{Deserialize, Serialize};

/// A stable error code; the HTTP status for each lives in the server's `AppError`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    /// No token in `?token=` or `Authorization: Bearer`.
    #[serde(rename = "auth.missing_token")]
    MissingToken,
    /// Bad signature, wrong algorithm or malformed token.
    #[serde(rename = "auth.invalid_token")]
    InvalidToken,
    /// The token's lifetime is over.
    #[serde(rename = "auth.expired")]
    TokenExpired,
    /// A required request parameter (such as `roomId`) is missing.
    #[serde(rename = "request.missing_param")]
    MissingParam,
    /// A request parameter or body field has a bad value.
    #[serde(rename = "request.invalid")]
    InvalidRequest,
    /// A frame or body is not valid JSON of a known shape.
    #[serde(rename = "chat.bad_frame")]
    BadFrame,
    /// A frame is larger than the configured limit (128 KiB by default).
    #[serde(rename = "chat.frame_too_large")]
    FrameTooLarge,
    /// A message has no content.
    #[serde(rename = "chat.empty")]
    EmptyMessage,
    /// A message is longer than the configured limit (2000 characters by default).
    #[serde(rename = "chat.too_long")]
    MessageTooLong,
    /// The room does not exist.
    #[serde(rename = "room.not_found")]
    RoomNotFound,
    /// No such API endpoint.
    #[serde(rename = "request.not_found")]
    NotFound,
    /// Something failed on the server; details are in its log.
    #[serde(rename = "internal")]
    Internal,
    /// A backend (store, bus) is not available right now.
    #[serde(rename = "unavailable")]
    Unavailable,
}

impl ErrorCode {
    /// The code as it appears on the wire, e.g. `auth.expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MissingToken => "auth.missing_token",
            ErrorCode::InvalidToken => "auth.invalid_token",
            ErrorCode::TokenExpired => "auth.expired",
            ErrorCode::MissingParam => "request.missing_param",
            ErrorCode::InvalidRequest => "request.invalid",
            ErrorCode::BadFrame => "chat.bad_frame",
            ErrorCode::FrameTooLarge => "chat.frame_too_large",
            ErrorCode::EmptyMessage => "chat.empty",
            ErrorCode::MessageTooLong => "chat.too_long",
            ErrorCode::RoomNotFound => "room.not_found",
            ErrorCode::NotFound => "request.not_found",
            ErrorCode::Internal => "internal",
            ErrorCode::Unavailable => "unavailable",
        }
    }
}
