//! The HTTP layer's one error type: a stable code, a message for people, and a real status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dungeontalk_app::wire::{ErrorBody, ErrorCode, ServerFrame};

use crate::hub::HubError;
use crate::hub::feed::FeedError;
use crate::log::LogError;
use crate::model::Refusal;

/// An error answered to a client as `{code, message}` with the status of its code.
#[derive(Debug, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// For limits: when trying again can succeed.
    pub retry_after_ms: Option<u64>,
}

impl AppError {
    /// An error with a message written for the person using the UI.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> AppError {
        AppError { code, message: message.into(), retry_after_ms: None }
    }

    /// The same error, saying when a retry can succeed.
    pub fn retry_after(mut self, ms: u64) -> AppError {
        self.retry_after_ms = Some(ms);
        self
    }

    /// The same error as a frame on an open connection.
    pub fn to_frame(&self) -> ServerFrame {
        ServerFrame::Error { code: self.code, message: self.message.clone(), retry_after_ms: self.retry_after_ms }
    }
}

/// The HTTP status that goes with each stable code (the table is in the wire crate).
pub fn status_of(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl From<Refusal> for AppError {
    fn from(r: Refusal) -> AppError {
        AppError { code: r.code, message: r.message, retry_after_ms: r.retry_after_ms }
    }
}

impl From<HubError> for AppError {
    fn from(e: HubError) -> AppError {
        // Internal detail goes to the log, never to the client.
        match e {
            HubError::Invalid(code, message) => AppError::new(code, message),
            HubError::Refused(refusal) => refusal.into(),
            HubError::Store(err) => err.into(),
            HubError::Log(err) => err.into(),
            HubError::Cluster(err) => err.into(),
        }
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> AppError {
        tracing::error!(error = %e, "store failure");
        AppError::new(ErrorCode::Unavailable, "The message store is not available; try again.")
    }
}

impl From<crate::cluster::ClusterError> for AppError {
    fn from(e: crate::cluster::ClusterError) -> AppError {
        tracing::error!(error = %e, "shared state failure");
        AppError::new(ErrorCode::Unavailable, "The server cannot reach its shared state; try again.")
    }
}

impl From<LogError> for AppError {
    fn from(e: LogError) -> AppError {
        match e {
            LogError::Store(err) => err.into(),
            LogError::Stopped => AppError::new(ErrorCode::Unavailable, "The server is shutting down."),
            LogError::Unavailable(why) => {
                tracing::error!(error = %why, "log failure");
                AppError::new(ErrorCode::Unavailable, "Messages cannot be delivered right now; try again.")
            }
        }
    }
}

impl From<FeedError> for AppError {
    fn from(e: FeedError) -> AppError {
        match e {
            FeedError::Store(err) => err.into(),
            FeedError::Log(err) => err.into(),
            FeedError::Closed => AppError::new(ErrorCode::Unavailable, "The server is shutting down."),
            FeedError::AtHead => AppError::new(ErrorCode::Internal, "A feed stopped at its head."),
            FeedError::RoomFull(capacity) => {
                AppError::new(ErrorCode::RoomFull, format!("This room is full ({capacity} members)."))
            }
            FeedError::Cluster(err) => err.into(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorBody { code: self.code, message: self.message, retry_after_ms: self.retry_after_ms };
        (status_of(self.code), Json(body)).into_response()
    }
}
