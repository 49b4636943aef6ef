//! Sign-in endpoints.

use axum::Json;
use axum::extract::State;
use dungeontalk_app::wire::{GuestLogin, Session};

use super::extract::Body;
use crate::error::AppError;
use crate::state::AppState;

/// `POST /api/auth/guest`: a nickname in, a signed guest session out.
pub async fn guest(State(state): State<AppState>, Body(req): Body<GuestLogin>) -> Result<Json<Session>, AppError> {
    state.auth.guest(&req.nickname).map(Json)
}
