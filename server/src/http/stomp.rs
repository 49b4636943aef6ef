//! `GET /ws-chat`: STOMP 1.2 over WebSocket, so the original stomp.js client works unchanged.
//! STOMP sessions are one more adapter over the hub: each room subscription is a feed, each SEND
//! a client frame, with the same seqs, resume, limits and errors as every other transport.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use dungeontalk_app::wire::RoomId;
use serde::Deserialize;

use super::extract::Params;
use crate::auth::{authenticate_live, token_from};
use crate::error::AppError;
use crate::session::Transport;
use crate::state::AppState;

pub(super) mod conn;
mod message;
mod readers;
mod send;
mod session;
mod socket;
mod subs;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StompQuery {
    token: Option<String>,
    /// Optional: the original client names its rooms in SUBSCRIBE and SEND; when given, it is
    /// checked at the handshake like on `/ws`.
    room_id: Option<String>,
}

/// Checks the handshake (400 missing token, 401 bad token, 403/404 for a named room) and upgrades
/// with the STOMP subprotocol the client offers.
pub async fn handshake(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(q): Params<StompQuery>,
    upgrade: Result<super::websocket::Upgrade, AppError>,
) -> Result<Response, AppError> {
    let token = token_from(&headers, q.token.as_deref());
    let (actor, revocation) = authenticate_live(&state.auth, token)?;
    if let Some(room_id) = q.room_id.filter(|r| !r.is_empty()) {
        crate::session::admit(&state, &actor, &RoomId(room_id), Transport::Stomp).await?;
    }
    Ok(super::ws::sized(upgrade, &state.settings)?
        .protocols(&["v12.stomp", "v11.stomp", "v10.stomp"])
        .on_upgrade(move |socket| conn::run(socket::Socket(socket), "stomp", state, actor, revocation)))
}
