//! The hub: every room's ordered event log, independent of any transport.
//!
//! An event is persisted first (the store gives it its per-room seq), serialized once, then
//! published on the bus; every node's fan-out hands the same bytes to its local subscribers.

use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use dungeontalk_app::wire::{ErrorCode, MemberEvent, MemberId, RoomId, ServerFrame, TalkEvent};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::bus::Bus;
use crate::store::{Store, StoreError};

pub mod fanout;
pub mod presence;
mod writer;

use fanout::Fanout;
use presence::Presence;

/// A stored room event: its seq and its JSON frame, serialized once and shared by every reader.
///
/// `Utf8Bytes` is a reference-counted UTF-8 buffer: cloning it for a subscriber copies nothing.
#[derive(Clone, Debug)]
pub struct StoredEvent {
    pub room_id: RoomId,
    pub seq: u64,
    pub json: Utf8Bytes,
}

/// The outcome of an append: the stored event, and whether it was stored earlier already.
#[derive(Clone, Debug)]
pub struct Appended {
    pub event: Arc<StoredEvent>,
    pub message_id: Option<Uuid>,
    pub duplicate: bool,
}

/// A room event before the store gives it a seq.
#[derive(Clone, Debug)]
pub struct Draft {
    pub room_id: RoomId,
    pub created_at: String,
    pub kind: DraftKind,
}

/// What a draft says.
#[derive(Clone, Debug)]
pub enum DraftKind {
    Talk {
        message_id: Uuid,
        sender_id: MemberId,
        sender_nickname: String,
        content: String,
        receiver_id: Option<MemberId>,
    },
    Join {
        member_id: MemberId,
        nickname: String,
    },
    Leave {
        member_id: MemberId,
        nickname: String,
    },
}

impl Draft {
    /// The idempotency key of a TALK.
    pub fn message_id(&self) -> Option<Uuid> {
        match &self.kind {
            DraftKind::Talk { message_id, .. } => Some(*message_id),
            _ => None,
        }
    }

    /// The frame this draft becomes once it has a seq.
    pub fn seal(self, seq: u64) -> ServerFrame {
        let Draft { room_id, created_at, kind } = self;
        match kind {
            DraftKind::Talk { message_id, sender_id, sender_nickname, content, receiver_id } => {
                ServerFrame::Talk(TalkEvent {
                    seq,
                    room_id,
                    message_id,
                    sender_id,
                    sender_nickname,
                    content,
                    created_at,
                    receiver_id,
                })
            }
            DraftKind::Join { member_id, nickname } => {
                ServerFrame::Join(MemberEvent { seq, room_id, member_id, nickname, created_at })
            }
            DraftKind::Leave { member_id, nickname } => {
                ServerFrame::Leave(MemberEvent { seq, room_id, member_id, nickname, created_at })
            }
        }
    }
}

/// Why the hub refused or failed a request.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("{1}")]
    Invalid(ErrorCode, String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the hub has stopped")]
    Stopped,
}

/// Limits the hub enforces on what clients say.
#[derive(Clone, Debug)]
pub struct HubLimits {
    pub max_content_chars: usize,
    pub write_batch_max: usize,
    pub write_queue_len: usize,
}

/// Who is acting: always taken from a verified token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub member_id: MemberId,
    pub nickname: String,
}

/// The hub: appends through one ordered writer, subscribes through the local fan-out.
pub struct Hub {
    store: Arc<dyn Store>,
    fanout: Arc<Fanout>,
    writer: mpsc::Sender<writer::Job>,
    presence: Presence,
    limits: HubLimits,
}

impl Hub {
    /// Starts the writer task; it ends once the hub is dropped and its queue is drained.
    pub fn start(
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        fanout: Arc<Fanout>,
        limits: HubLimits,
    ) -> (Hub, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(limits.write_queue_len);
        let task = tokio::spawn(writer::run(rx, store.clone(), bus, limits.write_batch_max));
        let hub = Hub { store, fanout, writer: tx, presence: Presence::default(), limits };
        (hub, task)
    }

    /// The store behind this hub.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Persists a draft, then publishes it; returns once it is durable.
    pub async fn append(&self, draft: Draft) -> Result<Appended, HubError> {
        let (reply, answer) = oneshot::channel();
        self.writer.send(writer::Job { draft, reply }).await.map_err(|_| HubError::Stopped)?;
        answer.await.map_err(|_| HubError::Stopped)?
    }

    /// Validates and appends a chat message from `actor`.
    pub async fn talk(
        &self,
        room_id: &RoomId,
        actor: &Actor,
        content: String,
        message_id: Option<Uuid>,
        receiver_id: Option<MemberId>,
    ) -> Result<Appended, HubError> {
        if receiver_id.is_some() {
            // Until delivery is filtered per recipient, a whisper would reach the whole room.
            let msg = "Whispers are not available yet; this message was not sent.";
            return Err(HubError::Invalid(ErrorCode::InvalidRequest, msg.into()));
        }
        if content.trim().is_empty() {
            return Err(HubError::Invalid(ErrorCode::EmptyMessage, "A message needs some text.".into()));
        }
        let chars = content.chars().count();
        if chars > self.limits.max_content_chars {
            let max = self.limits.max_content_chars;
            let msg = format!("A message may have at most {max} characters; this one has {chars}.");
            return Err(HubError::Invalid(ErrorCode::MessageTooLong, msg));
        }
        let kind = DraftKind::Talk {
            message_id: message_id.unwrap_or_else(Uuid::now_v7),
            sender_id: actor.member_id.clone(),
            sender_nickname: actor.nickname.clone(),
            content,
            receiver_id,
        };
        self.append(Draft { room_id: room_id.clone(), created_at: now_rfc3339(), kind }).await
    }

    /// Enters `actor` into the room; a repeated JOIN stores nothing.
    pub async fn join(&self, room_id: &RoomId, actor: &Actor) -> Result<Option<Appended>, HubError> {
        if !self.presence.join(room_id, actor) {
            return Ok(None);
        }
        let kind = DraftKind::Join { member_id: actor.member_id.clone(), nickname: actor.nickname.clone() };
        let appended = self.append(Draft { room_id: room_id.clone(), created_at: now_rfc3339(), kind }).await;
        if appended.is_err() {
            // Not stored, so not joined: a retried JOIN must try again.
            self.presence.leave(room_id, &actor.member_id);
        }
        appended.map(Some)
    }

    /// Takes `actor` out of the room; a LEAVE of someone not in it stores nothing.
    pub async fn leave(&self, room_id: &RoomId, actor: &Actor) -> Result<Option<Appended>, HubError> {
        if !self.presence.leave(room_id, &actor.member_id) {
            return Ok(None);
        }
        self.append_leave(room_id, actor).await.map(Some)
    }

    /// Registers an open connection of `actor` in the room.
    pub fn connect(&self, room_id: &RoomId, actor: &Actor) {
        self.presence.connect(room_id, actor);
    }

    /// Unregisters a connection; when it was the member's last one, the member leaves the room.
    pub async fn disconnect(&self, room_id: &RoomId, actor: &Actor) -> Result<(), HubError> {
        if self.presence.disconnect(room_id, &actor.member_id) {
            self.append_leave(room_id, actor).await?;
        }
        Ok(())
    }

    async fn append_leave(&self, room_id: &RoomId, actor: &Actor) -> Result<Appended, HubError> {
        let kind = DraftKind::Leave { member_id: actor.member_id.clone(), nickname: actor.nickname.clone() };
        self.append(Draft { room_id: room_id.clone(), created_at: now_rfc3339(), kind }).await
    }

    /// Members with at least one open connection to the room on this node.
    pub fn connected_count(&self, room_id: &RoomId) -> u32 {
        self.presence.connected_count(room_id)
    }

    /// Live events of a room from now on; subscribe before reading the store to miss nothing.
    pub fn subscribe(&self, room_id: &RoomId) -> broadcast::Receiver<Arc<StoredEvent>> {
        self.fanout.subscribe(room_id)
    }
}

/// The current time as RFC 3339 UTC with millisecond precision.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(now.millisecond() as u32 * 1_000_000).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests;
