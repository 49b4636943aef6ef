//! Sign-in endpoints.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::AppendHeaders;
use dungeontalk_app::wire::{GuestLogin, Session};

use super::extract::Body;
use crate::auth::access_cookie;
use crate::error::AppError;
use crate::state::AppState;

/// `POST /api/auth/guest`: a nickname in, a signed guest session out (also as the stream cookie).
pub async fn guest(
    State(state): State<AppState>,
    Body(req): Body<GuestLogin>,
) -> Result<(AppendHeaders<[(header::HeaderName, String); 1]>, Json<Session>), AppError> {
    let session = state.auth.guest(&req.nickname)?;
    let cookie = access_cookie(&session.access_token, state.auth.guest_ttl_secs());
    Ok((AppendHeaders([(header::SET_COOKIE, cookie)]), Json(session)))
}
