//! The hub: every room's ordered event log, independent of any transport.
//!
//! An event is persisted first (the store gives it its per-room seq), serialized once, then
//! published on the bus; every node's fan-out hands the same bytes to its local subscribers.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use dungeontalk_app::wire::{ErrorCode, MemberId, RoomId};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::bus::Bus;
use crate::store::{Store, StoreError};

mod event;
pub mod fanout;
pub mod feed;
pub mod notify;
pub mod presence;
mod writer;

pub use event::{Appended, Draft, DraftKind, StoredEvent};

use fanout::Fanout;
use notify::Notifier;
use presence::Presence;

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
    notifier: Arc<Notifier>,
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
        notifier: Arc<Notifier>,
        limits: HubLimits,
    ) -> (Hub, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(limits.write_queue_len);
        let task = tokio::spawn(writer::run(rx, store.clone(), bus, limits.write_batch_max));
        let hub = Hub { store, fanout, notifier, writer: tx, presence: Presence::default(), limits };
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

    /// The actor's notifications from now on.
    pub fn notifications(&self, actor: &Actor) -> broadcast::Receiver<Bytes> {
        self.notifier.subscribe(actor)
    }

    /// This node's notification streams.
    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }
}

/// One open connection counted in a room's presence; dropping it disconnects after `linger`.
///
/// Long polls and POSTs are separate requests, so each holds one of these and lingers a while
/// after it ends: a client that comes back in time never looked gone.
pub struct Attendance {
    hub: Arc<Hub>,
    room_id: RoomId,
    actor: Actor,
    linger: Duration,
    shutdown: CancellationToken,
}

impl Hub {
    /// Counts a connection of `actor` in the room until the returned guard is dropped.
    pub fn attend(
        self: &Arc<Self>,
        room_id: &RoomId,
        actor: &Actor,
        linger: Duration,
        shutdown: &CancellationToken,
    ) -> Attendance {
        self.connect(room_id, actor);
        Attendance {
            hub: self.clone(),
            room_id: room_id.clone(),
            actor: actor.clone(),
            linger,
            shutdown: shutdown.clone(),
        }
    }
}

impl Drop for Attendance {
    fn drop(&mut self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let (hub, room_id, actor) = (self.hub.clone(), self.room_id.clone(), self.actor.clone());
        let (linger, shutdown) = (self.linger, self.shutdown.clone());
        runtime.spawn(async move {
            if !linger.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(linger) => {}
                    _ = shutdown.cancelled() => {}
                }
            }
            if let Err(e) = hub.disconnect(&room_id, &actor).await {
                tracing::warn!(error = %e, room = %room_id, "leave on disconnect failed");
            }
        });
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
