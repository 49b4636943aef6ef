//! `POST /api/rooms/{roomId}/messages`: a client frame over plain HTTP, for SSE and long-poll clients.
//!
//! Same validation, limits and errors as a WebSocket frame; a retried TALK with the same
//! `messageId` is stored once and answered with the same seq.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use dungeontalk_app::wire::{Accepted, ErrorBody, ErrorCode, RoomId};

use super::extract::Caller;
use super::frames::{act, parse};
use crate::error::AppError;
use crate::session::{self, Transport};
use crate::state::AppState;

/// The error for a frame over `max_frame_bytes`.
pub fn too_large(max: usize, len: Option<usize>) -> AppError {
    let size = len.map_or(String::new(), |n| format!("; this one has {n} bytes"));
    AppError::new(ErrorCode::FrameTooLarge, format!("Frames may be at most {} KiB{size}.", max / 1024))
}

/// 202 `{"messageId", "seq"}` once the frame's event is stored.
pub async fn post(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(room_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Accepted>), AppError> {
    let max = state.settings.max_frame_bytes;
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(max, None),
        _ => AppError::new(ErrorCode::InvalidRequest, e.body_text()),
    })?;
    if body.len() > max {
        return Err(too_large(max, Some(body.len())));
    }
    let admitted = session::admit(&state, &actor, &RoomId(room_id), Transport::Post).await?;
    let frame = parse(&body)?;
    let entry = admitted.attend(&state, &actor).await?;
    let acted = act(&state, &entry.room, &actor, frame).await?;
    let warning = acted.warning.map(|w| ErrorBody::new(w.code, w.message));
    Ok((StatusCode::ACCEPTED, Json(Accepted { message_id: acted.message_id, seq: acted.seq, warning })))
}
