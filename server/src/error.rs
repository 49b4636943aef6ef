//! The HTTP layer's one error type: a stable code, a message for people, and a real status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dungeontalk_app::wire::{ErrorBody, ErrorCode, ServerFrame};

use crate::hub::HubError;

/// An error answered to a client as `{code, message}` with the status of its code.
#[derive(Debug, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
}

impl AppError {
    /// An error with a message written for the person using the UI.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> AppError {
        AppError { code, message: message.into() }
    }

    /// The same error as a frame on an open connection.
    pub fn to_frame(&self) -> ServerFrame {
        ServerFrame::Error { code: self.code, message: self.message.clone(), retry_after_ms: None }
    }
}

/// The HTTP status that goes with each stable code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::MissingToken | ErrorCode::MissingParam | ErrorCode::InvalidRequest => StatusCode::BAD_REQUEST,
        ErrorCode::BadFrame | ErrorCode::EmptyMessage | ErrorCode::MessageTooLong => StatusCode::BAD_REQUEST,
        ErrorCode::InvalidToken | ErrorCode::TokenExpired => StatusCode::UNAUTHORIZED,
        ErrorCode::RoomNotFound | ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::FrameTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl From<HubError> for AppError {
    fn from(e: HubError) -> AppError {
        match e {
            HubError::Invalid(code, message) => AppError::new(code, message),
            HubError::Store(err) => {
                // Internal detail goes to the log, never to the client.
                tracing::error!(error = %err, "store failure");
                AppError::new(ErrorCode::Unavailable, "The message store is not available; try again.")
            }
            HubError::Stopped => AppError::new(ErrorCode::Unavailable, "The server is shutting down."),
        }
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> AppError {
        HubError::from(e).into()
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorBody { code: self.code, message: self.message };
        (status_of(self.code), Json(body)).into_response()
    }
}
