//! Where rooms, room events and accounts are kept for good: a small trait with two backends, the
//! embedded redb file (`disk.rs`, with its write-ahead journal `journal.rs`, whose events wait in
//! `overlay.rs` until `journaled.rs` applies them; its tables in `tables.rs`) and MongoDB
//! (`mongo.rs`). The same suite tests both.

use std::sync::Arc;

use async_trait::async_trait;
use dungeontalk_app::wire::RoomId;
use uuid::Uuid;

use crate::model::{RoomRecord, StoredEvent};

pub mod accounts;
pub mod disk;
mod disk_accounts;
mod journal;
mod journaled;
#[cfg(test)]
mod journaled_tests;
pub mod mongo;
mod mongo_accounts;
mod mongo_reads;
mod overlay;
pub mod reads;
mod tables;

/// A store failure; the detail is for the log.
#[derive(Debug, Clone, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(pub String);

/// The embedded store's errors (the detail is redb's or the file system's).
fn fail(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

/// What inserting one event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inserted {
    /// Stored now, or found stored already under the same seq (a replay).
    Stored,
    /// A TALK whose `messageId` the room holds already under this other seq: not stored.
    Duplicate(u64),
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
    /// Stores events that have their seq already, in order, as one batch (atomic per room at
    /// least). Idempotent: an event stored before under the same seq is left as it is, so a log
    /// replayed after a crash stores nothing twice.
    async fn insert(&self, events: Vec<Arc<StoredEvent>>) -> Result<Vec<Inserted>, StoreError>;
    /// For each `(room, messageId)`, the seq of the message stored under it, if there is one.
    async fn message_seqs(&self, keys: Vec<(RoomId, Uuid)>) -> Result<Vec<Option<u64>>, StoreError>;
    /// Up to `limit` events of a room with seq > `after`, oldest first.
    async fn after(&self, room: &RoomId, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;
    /// Up to `limit` events of a room with seq < `before`, newest first.
    async fn before(&self, room: &RoomId, before: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;
    /// The highest stored seq of every room that has events.
    async fn heads(&self) -> Result<Vec<(RoomId, u64)>, StoreError>;
    /// How far a log's persister has stored one of the log's partitions (0 if never).
    async fn watermark(&self, key: &str) -> Result<u64, StoreError>;
    /// Records that every event of a partition up to `through` is stored (never moves back).
    async fn set_watermark(&self, key: &str, through: u64) -> Result<(), StoreError>;
    /// Fails when the store cannot serve requests (for `/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// [`Store::insert`] done on the caller's thread, for a store that can write without the
    /// async runtime (the embedded file); `None` when it cannot. The local log's writer thread
    /// uses it to save a thread hop per commit.
    fn insert_now(&self, _events: &[Arc<StoredEvent>]) -> Option<Result<Vec<Inserted>, StoreError>> {
        None
    }

    /// [`Store::insert_now`] for the store's only writer, which has just checked that each event
    /// is new (its seq above its room's stored head, its message id stored nowhere, none twice in
    /// the batch): a store may then skip its own lookups. The local log's writer uses it.
    fn insert_new_now(&self, events: &[Arc<StoredEvent>]) -> Option<Result<Vec<Inserted>, StoreError>> {
        self.insert_now(events)
    }

    /// [`Store::message_seqs`] on the caller's thread, where the store can; `None` otherwise.
    fn message_seqs_now(&self, _keys: &[(RoomId, Uuid)]) -> Option<Result<Vec<Option<u64>>, StoreError>> {
        None
    }

    /// The seq of the message stored in the room with this `messageId`, if there is one.
    async fn message_seq(&self, room: &RoomId, message_id: Uuid) -> Result<Option<u64>, StoreError> {
        Ok(self.message_seqs(vec![(room.clone(), message_id)]).await?.pop().flatten())
    }
}
