//! Sign-in endpoints: guest, register, login, refresh, logout.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use dungeontalk_app::wire::{GuestLogin, Login, Register, Registered, Session};

use super::extract::{Body, CallerClaims};
use crate::accounts::Issued;
use crate::auth::{ACCESS_COOKIE, cookie};
use crate::error::AppError;
use crate::state::AppState;

/// The cookie that carries the refresh token: sent only to `/api/auth`, never readable by scripts.
pub const REFRESH_COOKIE: &str = "dt_refresh";

/// A `Set-Cookie` value: HttpOnly, same-site only, limited to `path`; `Secure` when the
/// `cookie_secure` setting says users come over HTTPS.
fn set_cookie(state: &AppState, name: &str, value: &str, path: &str, max_age: u64) -> String {
    let secure = if state.settings.cookie_secure { "; Secure" } else { "" };
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

/// The access token's cookie, for the event streams (`EventSource` cannot add headers).
fn access_cookie(state: &AppState, token: &str, ttl_secs: u64) -> String {
    set_cookie(state, ACCESS_COOKIE, token, "/api", ttl_secs)
}

/// The refresh token's cookie: sent only to `/api/auth`.
fn refresh_cookie(state: &AppState, token: &str, max_age: u64) -> String {
    set_cookie(state, REFRESH_COOKIE, token, "/api/auth", max_age)
}

/// A session answer with both cookies set.
fn signed_in(state: &AppState, issued: Issued) -> Response {
    let access = access_cookie(state, &issued.session.access_token, state.accounts.access_ttl_secs());
    let refresh = refresh_cookie(state, &issued.refresh_token, state.accounts.refresh_ttl_secs());
    (AppendHeaders([(header::SET_COOKIE, access), (header::SET_COOKIE, refresh)]), Json(issued.session)).into_response()
}

/// `POST /api/auth/guest`: a nickname in, a signed guest session out (also as the stream cookie).
pub async fn guest(
    State(state): State<AppState>,
    Body(req): Body<GuestLogin>,
) -> Result<(AppendHeaders<[(header::HeaderName, String); 1]>, Json<Session>), AppError> {
    let session = state.auth.guest(&req.nickname)?;
    let cookie = access_cookie(&state, &session.access_token, state.auth.guest_ttl_secs());
    Ok((AppendHeaders([(header::SET_COOKIE, cookie)]), Json(session)))
}

/// `POST /api/auth/register`: 201 with the new member, or 409 `auth.name_taken`.
pub async fn register(
    State(state): State<AppState>,
    Body(req): Body<Register>,
) -> Result<(StatusCode, Json<Registered>), AppError> {
    Ok((StatusCode::CREATED, Json(state.accounts.register(req).await?)))
}

/// `POST /api/auth/login`: the access token, plus the refresh token as an HttpOnly cookie.
pub async fn login(State(state): State<AppState>, Body(req): Body<Login>) -> Result<Response, AppError> {
    let issued = state.accounts.login(&state.auth, req).await?;
    Ok(signed_in(&state, issued))
}

/// `POST /api/auth/refresh`: trades the refresh cookie for a new access token and a new cookie.
pub async fn refresh(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let token = cookie(&headers, REFRESH_COOKIE);
    let issued = state.accounts.refresh(&state.auth, token.as_deref()).await?;
    Ok(signed_in(&state, issued))
}

/// `POST /api/auth/cookie` (Bearer): 204 and the caller's token as the `dt_access` cookie, living
/// as long as the token. A page calls it before it opens an `EventSource`, so the stream's URL
/// never carries the token and its cookie is this page's member.
pub async fn stream_cookie(
    State(state): State<AppState>,
    CallerClaims(claims): CallerClaims,
    headers: HeaderMap,
) -> Response {
    let token = crate::auth::token_from(&headers, None).unwrap_or_default();
    let ttl = claims.exp.saturating_sub(jsonwebtoken::get_current_timestamp());
    (StatusCode::NO_CONTENT, AppendHeaders([(header::SET_COOKIE, access_cookie(&state, &token, ttl))])).into_response()
}

/// `POST /api/auth/logout`: 204; the access token (and the login's refresh tokens) die now.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    CallerClaims(claims): CallerClaims,
) -> Result<Response, AppError> {
    let refresh = cookie(&headers, REFRESH_COOKIE);
    state.accounts.logout(&claims, refresh.as_deref()).await?;
    let clear =
        [(header::SET_COOKIE, access_cookie(&state, "", 0)), (header::SET_COOKIE, refresh_cookie(&state, "", 0))];
    Ok((StatusCode::NO_CONTENT, AppendHeaders(clear)).into_response())
}
