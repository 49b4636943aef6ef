//! `GET /ws`: the JSON WebSocket transport, a thin adapter over the hub.
//!
//! Resume is gap-free: the connection reads through a [`Feed`], which replays from the store and
//! then goes live with seq deciding what was sent already, so nothing falls between.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::http::HeaderMap;
use axum::response::Response;
use dungeontalk_app::wire::{ErrorCode, RoomId, ServerFrame};
use serde::Deserialize;

use super::extract::Params;
use super::frames::{act, parse};
use super::rooms::room_for;
use crate::auth::{Revocation, authenticate_live, token_from};
use crate::error::AppError;
use crate::hub::feed::{Feed, FeedError, Item, OnLag};
use crate::model::{Actor, RoomRecord};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WsQuery {
    token: Option<String>,
    room_id: Option<String>,
    /// Resume: replay every stored event after this seq before going live.
    after: Option<u64>,
}

/// Checks the handshake (400 missing, 401 bad token, 404 no room) before upgrading.
pub async fn handshake(
    State(state): State<AppState>,
    headers: HeaderMap,
    Params(q): Params<WsQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, AppError> {
    let token = token_from(&headers, q.token.as_deref());
    let room_id = q.room_id.filter(|r| !r.is_empty()).map(RoomId);
    let Some(room_id) = room_id else {
        return Err(AppError::new(ErrorCode::MissingParam, "roomId is required."));
    };
    let (actor, revocation) = authenticate_live(&state.auth, token)?;
    let room = room_for(&state, &room_id, &actor).await?;
    let upgrade = upgrade.map_err(|e| AppError::new(ErrorCode::InvalidRequest, e.body_text()))?;
    let limit = state.settings.ws_max_message_bytes;
    Ok(upgrade
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| session(socket, state, actor, room, q.after, revocation)))
}

/// The connection ended (closed by either side, or too slow to write to).
struct Closed;

/// One client's connection.
struct Conn {
    socket: WebSocket,
    state: AppState,
    actor: Actor,
    room_id: RoomId,
    room: RoomRecord,
    /// Fires when the handshake's token is logged out: the connection ends then.
    revocation: Revocation,
}

async fn session(
    socket: WebSocket,
    state: AppState,
    actor: Actor,
    room: RoomRecord,
    after: Option<u64>,
    revocation: Revocation,
) {
    let room_id = room.room_id.clone();
    let _counted = state.hub.metrics().connection("ws");
    state.hub.connect(&room_id, &actor).await;
    let mut conn =
        Conn { socket, state: state.clone(), actor: actor.clone(), room_id: room_id.clone(), room, revocation };
    let _ = conn.run(after).await;
    if let Err(e) = state.hub.disconnect(&room_id, &actor).await {
        tracing::warn!(error = %e, room = %room_id, "leave on disconnect failed");
    }
}

impl Conn {
    async fn run(&mut self, after: Option<u64>) -> Result<(), Closed> {
        let settings = self.state.settings.clone();
        let mut feed =
            Feed::open(&self.state.hub, &self.room_id, &self.actor.member_id, settings.replay_page, OnLag::Report);
        let hello = ServerFrame::Connected {
            room_id: self.room_id.clone(),
            member_id: self.actor.member_id.clone(),
            nickname: self.actor.nickname.clone(),
        };
        self.send_frame(&hello).await?;
        match after {
            Some(after) => feed.resume(after),
            None => {
                if let Err(e) = feed.recent(settings.history_on_join).await {
                    return self.fail(e.into()).await;
                }
            }
        }
        let shutdown = self.state.shutdown.clone();
        let delivered = self.state.hub.metrics().deliveries.with_label_values(&["ws"]);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => {
                    let reason = Utf8Bytes::from_static("server shutting down");
                    let close = Message::Close(Some(CloseFrame { code: close_code::AWAY, reason }));
                    let _ = self.send(close).await;
                    return Ok(());
                }
                _ = self.revocation.revoked() => {
                    self.send_frame(&Revocation::error().to_frame()).await?;
                    let reason = Utf8Bytes::from_static("logged out");
                    let _ = self.send(Message::Close(Some(CloseFrame { code: close_code::POLICY, reason }))).await;
                    return Ok(());
                }
                incoming = self.socket.recv() => match incoming {
                    Some(Ok(Message::Text(text))) => self.handle(text).await?,
                    Some(Ok(Message::Binary(_))) => {
                        self.send_error(ErrorCode::BadFrame, "Send JSON text frames, not binary.").await?;
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(()),
                    Some(Ok(_)) => {}
                },
                item = feed.next() => match item {
                    Ok(Item::Event(event)) => {
                        self.send(Message::Text(event.json.clone())).await?;
                        delivered.inc();
                    }
                    // The client fell a whole queue behind: it fetches the gap, we go on live.
                    Ok(Item::Lagged { after }) => {
                        self.state.hub.metrics().resyncs.inc();
                        self.send_frame(&ServerFrame::Resync { after }).await?
                    }
                    Err(FeedError::Closed) => return Ok(()),
                    Err(e) => return self.fail(e.into()).await,
                },
            }
        }
    }

    /// Acts on one client frame; a bad one gets an ERROR frame and the connection stays open.
    async fn handle(&mut self, text: Utf8Bytes) -> Result<(), Closed> {
        let max = self.state.settings.max_frame_bytes;
        if text.len() > max {
            let msg = format!("Frames may be at most {} KiB; this one has {} bytes.", max / 1024, text.len());
            return self.send_error(ErrorCode::FrameTooLarge, &msg).await;
        }
        let frame = match parse(text.as_bytes()) {
            Ok(frame) => frame,
            Err(e) => return self.send_frame(&e.to_frame()).await,
        };
        match act(&self.state, &self.room, &self.actor, frame).await {
            Ok(acted) => {
                if let (Some(message_id), Some(accepted_seq)) = (acted.message_id, acted.seq) {
                    self.send_frame(&ServerFrame::Ack { message_id, accepted_seq }).await?;
                }
                match acted.warning {
                    Some(w) => self.send_frame(&ServerFrame::Warning { code: w.code, message: w.message }).await,
                    None => Ok(()),
                }
            }
            Err(e) => self.send_frame(&e.to_frame()).await,
        }
    }

    /// A store failure while reading: say so and end the connection (the client resumes later).
    async fn fail(&mut self, e: AppError) -> Result<(), Closed> {
        self.send_frame(&e.to_frame()).await?;
        Err(Closed)
    }

    async fn send_error(&mut self, code: ErrorCode, message: &str) -> Result<(), Closed> {
        self.send_frame(&ServerFrame::Error { code, message: message.to_owned(), retry_after_ms: None }).await
    }

    async fn send_frame(&mut self, frame: &ServerFrame) -> Result<(), Closed> {
        let text = serde_json::to_string(frame).expect("frames always serialize");
        self.send(Message::Text(text.into())).await
    }

    /// Writes one message; a client that does not take it within `send_timeout_ms` is dropped.
    async fn send(&mut self, msg: Message) -> Result<(), Closed> {
        let limit = Duration::from_millis(self.state.settings.send_timeout_ms);
        match tokio::time::timeout(limit, self.socket.send(msg)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Closed),
        }
    }
}
