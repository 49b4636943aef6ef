//! What a client frame does, the same whether it came over a WebSocket or a POST.

use std::future::Future;
use std::pin::Pin;

use dungeontalk_app::wire::{ClientFrame, ErrorCode};
use uuid::Uuid;

use crate::cluster::Kind;
use crate::error::AppError;
use crate::model::{Actor, RoomRecord};
use crate::state::AppState;

/// The outcome of an accepted frame.
#[derive(Debug, Default)]
pub struct Acted {
    /// The stored event it made (none for a repeated JOIN/LEAVE, typing or a heartbeat).
    pub seq: Option<u64>,
    /// A TALK's idempotency key (answered in ACK / the 202 body).
    pub message_id: Option<Uuid>,
    /// Delivered with a word for the sender.
    pub warning: Option<AppError>,
}

/// A TALK on its way to being durable.
pub type PendingActed = Pin<Box<dyn Future<Output = Result<Acted, AppError>> + Send>>;

/// What starting a frame did: finished, or (a TALK) took its place in the order and is being
/// made durable.
pub enum Started {
    Done(Acted),
    Pending(PendingActed),
}

/// Parses a frame's text; a bad one is `chat.bad_frame`.
pub fn parse(text: &[u8]) -> Result<ClientFrame, AppError> {
    serde_json::from_slice(text).map_err(|e| AppError::new(ErrorCode::BadFrame, format!("Not a valid frame: {e}")))
}

/// Acts on one frame from `actor` in `room` and waits until it is done.
pub async fn act(state: &AppState, room: &RoomRecord, actor: &Actor, frame: ClientFrame) -> Result<Acted, AppError> {
    match start(state, room, actor, frame).await? {
        Started::Done(acted) => Ok(acted),
        Started::Pending(pending) => pending.await,
    }
}

/// Starts one frame from `actor` in `room` (a JOIN reads the room again, for its current
/// capacity). Frames started one after the other keep their order in the room.
pub async fn start(
    state: &AppState,
    room: &RoomRecord,
    actor: &Actor,
    frame: ClientFrame,
) -> Result<Started, AppError> {
    let hub = &state.hub;
    let room_id = &room.room_id;
    let kind = match &frame {
        ClientFrame::Join | ClientFrame::Leave => Some(Kind::Membership),
        ClientFrame::Typing => Some(Kind::Typing),
        ClientFrame::Talk { .. } | ClientFrame::Heartbeat | ClientFrame::Action { .. } | ClientFrame::Roll { .. } => {
            None
        }
    };
    if let Some(kind) = kind {
        hub.admit(actor, kind).await?;
    }
    Ok(Started::Done(match frame {
        ClientFrame::Join => {
            let fresh = state.hub.room(room_id).await?;
            Acted { seq: hub.join(&fresh, actor).await?.map(|a| a.seq), ..Acted::default() }
        }
        ClientFrame::Leave => Acted { seq: hub.leave(room_id, actor).await?.map(|a| a.seq), ..Acted::default() },
        ClientFrame::Typing => {
            hub.typing(room_id, actor).await?;
            Acted::default()
        }
        ClientFrame::Heartbeat => {
            hub.heartbeat(room_id, actor).await?;
            Acted::default()
        }
        ClientFrame::Action { content, message_id } => {
            let (appended, warning) = state.games.act(room, actor, content, message_id).await?;
            Acted { seq: Some(appended.seq), message_id: appended.message_id, warning: warning.map(AppError::from) }
        }
        ClientFrame::Roll { die, message_id } => {
            let appended = state.games.roll(room, actor, die, message_id).await?;
            Acted { seq: Some(appended.seq), message_id: appended.message_id, warning: None }
        }
        ClientFrame::Talk { content, message_id, receiver_id } => {
            let pending = hub.talk_enqueue(room, actor, content, message_id, receiver_id).await?;
            return Ok(Started::Pending(Box::pin(async move {
                let said = pending.await?;
                Ok(Acted {
                    seq: Some(said.appended.seq),
                    message_id: said.appended.message_id,
                    warning: said.warning.map(AppError::from),
                })
            })));
        }
    }))
}
