//! Where room events and rooms are kept: a small trait, so MongoDB can replace the embedded store.

use async_trait::async_trait;
use dungeontalk_app::wire::{MemberId, RoomId, RoomType};
use serde::{Deserialize, Serialize};

use crate::hub::{Appended, Draft, StoredEvent};

pub mod accounts;
pub mod disk;
mod disk_accounts;

/// A store failure; the detail is for the log.
#[derive(Debug, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(pub String);

/// A room as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomRecord {
    pub room_id: RoomId,
    pub name: String,
    /// 0 means unlimited.
    pub max_capacity: u32,
    pub created_by: MemberId,
    pub created_at: String,
    #[serde(default)]
    pub room_type: RoomType,
    /// Only the creator and `allowed` may enter.
    #[serde(default)]
    pub private: bool,
    /// Members invited into a private room.
    #[serde(default)]
    pub allowed: Vec<MemberId>,
}

impl RoomRecord {
    /// Whether `member` may enter.
    pub fn admits(&self, member: &MemberId) -> bool {
        !self.private || self.created_by == *member || self.allowed.contains(member)
    }
}

/// The durable record of rooms and their ordered events.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a new room.
    async fn create_room(&self, room: RoomRecord) -> Result<(), StoreError>;
    /// Replaces a room's record (capacity, invitations).
    async fn update_room(&self, room: RoomRecord) -> Result<(), StoreError>;
    /// Every room, oldest first.
    async fn rooms(&self) -> Result<Vec<RoomRecord>, StoreError>;
    /// One room, if it exists.
    async fn room(&self, id: &RoomId) -> Result<Option<RoomRecord>, StoreError>;
    /// Atomically gives each draft the next seq of its room and stores it; a draft whose
    /// `messageId` is already stored in its room comes back as that earlier event, marked duplicate.
    async fn append(&self, drafts: Vec<Draft>) -> Result<Vec<Appended>, StoreError>;
    /// The seq of the message stored in the room with this `messageId`, if there is one.
    async fn message_seq(&self, room: &RoomId, message_id: uuid::Uuid) -> Result<Option<u64>, StoreError>;
    /// Up to `limit` events of a room with seq > `after`, oldest first.
    async fn after(&self, room: &RoomId, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;
    /// Up to `limit` events of a room with seq < `before`, newest first.
    async fn before(&self, room: &RoomId, before: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;
    /// Fails when the store cannot serve requests (for `/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;
}
