//! `GET /ws`: the JSON WebSocket transport, a thin adapter over the hub.
//!
//! The handshake is checked before the upgrade (400 missing, 401 bad token, 403, 404); the
//! connection itself (`ws/conn.rs`) reads and writes independently: a sender's frames are
//! pipelined and room events keep flowing while its messages are being committed.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use dungeontalk_app::wire::{ErrorCode, RoomId};
use serde::Deserialize;

use super::extract::Params;
use super::websocket::{Limits, Upgrade};
use crate::auth::{authenticate_live, token_from};
use crate::error::AppError;
use crate::session::{self, Transport};
use crate::state::AppState;

mod conn;
mod replies;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WsQuery {
    token: Option<String>,
    room_id: Option<String>,
    /// Resume: replay every stored event after this seq before going live.
    after: Option<u64>,
    /// How room TALKs are written: JSON text frames (the default) or compact binary ones.
    #[serde(default)]
    encoding: Encoding,
}

/// How a `/ws` socket writes room TALKs (`?encoding=`); every other frame is JSON either way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    #[default]
    Json,
    /// `dungeontalk_app::wire::compact`: a third of the JSON's bytes.
    Compact,
}

/// The upgrade with the configured sizes (`/ws`, `/ws-chat` and SockJS alike); a request that is
/// no WebSocket handshake is `request.invalid`.
pub fn sized(upgrade: Result<Upgrade, AppError>, s: &crate::config::Settings) -> Result<Upgrade, AppError> {
    Ok(upgrade?.limits(Limits {
        max_message: s.ws_max_message_bytes,
        read_chunk: s.ws_read_buffer_bytes,
        write_chunk: s.ws_write_buffer_bytes,
    }))
}

/// Checks the handshake (400 missing, 401 bad token, 404 no room) before upgrading.
pub async fn handshake(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(q): Params<WsQuery>,
    upgrade: Result<Upgrade, AppError>,
) -> Result<Response, AppError> {
    let token = token_from(&headers, q.token.as_deref());
    let room_id = q.room_id.filter(|r| !r.is_empty()).map(RoomId);
    let Some(room_id) = room_id else {
        return Err(AppError::new(ErrorCode::MissingParam, "roomId is required."));
    };
    let (actor, revocation) = authenticate_live(&state.auth, token)?;
    let admitted = session::admit(&state, &actor, &room_id, Transport::WebSocket).await?;
    let upgrade = sized(upgrade, &state.settings)?;
    // Counted (and capped) before the upgrade, so a refusal is a real 429.
    let entry = admitted.attend(&state, &actor).await?;
    // One box for what the socket's task starts from: axum's task keeps its callback's captures
    // for the socket's whole life, so they are one pointer there.
    let start = conn::Start { after: q.after, compact: q.encoding == Encoding::Compact };
    let setup = Box::new((state, actor, entry, start, revocation));
    Ok(upgrade.on_upgrade(move |socket| {
        let (state, actor, entry, start, revocation) = *setup;
        conn::run(socket, state, actor, entry, start, revocation)
    }))
}
