//! The embedded on-disk store: one redb file in the data dir (why redb: docs/ARCHITECTURE.md).

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::ws::Utf8Bytes;
use dungeontalk_app::wire::RoomId;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{RoomRecord, Store, StoreError};
use crate::hub::{Appended, Draft, StoredEvent};

/// room id → RoomRecord as JSON.
const ROOMS: TableDefinition<&str, &[u8]> = TableDefinition::new("rooms");
/// (room id, seq) → the event's JSON frame, exactly as sent to clients.
const EVENTS: TableDefinition<(&str, u64), &str> = TableDefinition::new("events");
/// room id → the last seq given out.
const HEADS: TableDefinition<&str, u64> = TableDefinition::new("heads");
/// (room id, messageId) → seq: makes a retried TALK land once.
const MESSAGE_IDS: TableDefinition<(&str, u128), u64> = TableDefinition::new("message_ids");

/// A redb database file; blocking work runs on tokio's blocking pool.
#[derive(Clone)]
pub struct DiskStore {
    db: Arc<Database>,
}

pub(super) fn fail(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

impl DiskStore {
    /// Opens (or creates) `dungeontalk.redb` in `dir`.
    pub fn open(dir: &Path) -> Result<DiskStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join("dungeontalk.redb");
        let db = Database::create(&path).map_err(|e| fail(format!("cannot open {}: {e}", path.display())))?;
        let txn = db.begin_write().map_err(fail)?;
        {
            txn.open_table(ROOMS).map_err(fail)?;
            txn.open_table(EVENTS).map_err(fail)?;
            txn.open_table(HEADS).map_err(fail)?;
            txn.open_table(MESSAGE_IDS).map_err(fail)?;
            txn.open_table(super::disk_accounts::ACCOUNTS).map_err(fail)?;
            txn.open_table(super::disk_accounts::REFRESH).map_err(fail)?;
            txn.open_table(super::disk_accounts::REVOKED_FAMILIES).map_err(fail)?;
            txn.open_table(super::disk_accounts::REVOKED_ACCESS).map_err(fail)?;
        }
        txn.commit().map_err(fail)?;
        Ok(DiskStore { db: Arc::new(db) })
    }

    pub(super) fn db(&self) -> &Database {
        &self.db
    }

    pub(super) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, redb::Error> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db)).await.map_err(fail)?.map_err(fail)
    }
}

fn stored(room_id: &RoomId, seq: u64, json: &str) -> StoredEvent {
    StoredEvent::new(room_id.clone(), seq, Utf8Bytes::from(json))
}

fn append_all(db: &Database, drafts: Vec<Draft>) -> Result<Vec<Appended>, redb::Error> {
    let txn = db.begin_write()?;
    let mut out = Vec::with_capacity(drafts.len());
    {
        let mut events = txn.open_table(EVENTS)?;
        let mut heads = txn.open_table(HEADS)?;
        let mut ids = txn.open_table(MESSAGE_IDS)?;
        for draft in drafts {
            let room_id = draft.room_id.clone();
            let room = room_id.0.as_str();
            let message_id = draft.message_id();
            if let Some(mid) = message_id {
                let earlier = ids.get((room, mid.as_u128()))?.map(|seq| seq.value());
                if let Some(seq) = earlier {
                    let json = events.get((room, seq))?.map(|j| j.value().to_owned()).unwrap_or_default();
                    let event = Arc::new(stored(&room_id, seq, &json));
                    out.push(Appended { event, message_id, duplicate: true });
                    continue;
                }
            }
            let seq = heads.get(room)?.map_or(0, |s| s.value()) + 1;
            let json = serde_json::to_string(&draft.seal(seq)).expect("frames always serialize");
            events.insert((room, seq), json.as_str())?;
            heads.insert(room, seq)?;
            if let Some(mid) = message_id {
                ids.insert((room, mid.as_u128()), seq)?;
            }
            let event = Arc::new(StoredEvent::new(room_id, seq, Utf8Bytes::from(json)));
            out.push(Appended { event, message_id, duplicate: false });
        }
    }
    txn.commit()?;
    Ok(out)
}

#[async_trait]
impl Store for DiskStore {
    async fn create_room(&self, room: RoomRecord) -> Result<(), StoreError> {
        let json = serde_json::to_vec(&room).map_err(fail)?;
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            txn.open_table(ROOMS)?.insert(room.room_id.0.as_str(), json.as_slice())?;
            txn.commit()?;
            Ok(())
        })
        .await
    }

    async fn update_room(&self, room: RoomRecord) -> Result<(), StoreError> {
        self.create_room(room).await
    }

    async fn rooms(&self) -> Result<Vec<RoomRecord>, StoreError> {
        let raw = self
            .blocking(|db| {
                let table = db.begin_read()?.open_table(ROOMS)?;
                let mut out = Vec::new();
                for row in table.iter()? {
                    out.push(row?.1.value().to_vec());
                }
                Ok(out)
            })
            .await?;
        raw.iter().map(|j| serde_json::from_slice(j).map_err(fail)).collect()
    }

    async fn room(&self, id: &RoomId) -> Result<Option<RoomRecord>, StoreError> {
        let id = id.0.clone();
        let raw = self
            .blocking(move |db| {
                let table = db.begin_read()?.open_table(ROOMS)?;
                Ok(table.get(id.as_str())?.map(|v| v.value().to_vec()))
            })
            .await?;
        raw.map(|j| serde_json::from_slice(&j).map_err(fail)).transpose()
    }

    async fn append(&self, drafts: Vec<Draft>) -> Result<Vec<Appended>, StoreError> {
        self.blocking(move |db| append_all(db, drafts)).await
    }

    async fn message_seq(&self, room: &RoomId, message_id: uuid::Uuid) -> Result<Option<u64>, StoreError> {
        let room = room.0.clone();
        self.blocking(move |db| {
            let ids = db.begin_read()?.open_table(MESSAGE_IDS)?;
            Ok(ids.get((room.as_str(), message_id.as_u128()))?.map(|seq| seq.value()))
        })
        .await
    }

    async fn after(&self, room: &RoomId, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let room = room.clone();
        self.blocking(move |db| {
            let table = db.begin_read()?.open_table(EVENTS)?;
            let key = room.0.as_str();
            let mut out = Vec::new();
            for row in table.range((key, after.saturating_add(1))..=(key, u64::MAX))?.take(limit) {
                let (k, v) = row?;
                out.push(stored(&room, k.value().1, v.value()));
            }
            Ok(out)
        })
        .await
    }

    async fn before(&self, room: &RoomId, before: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let room = room.clone();
        self.blocking(move |db| {
            let table = db.begin_read()?.open_table(EVENTS)?;
            let key = room.0.as_str();
            let mut out = Vec::new();
            for row in table.range((key, 0)..(key, before))?.rev().take(limit) {
                let (k, v) = row?;
                out.push(stored(&room, k.value().1, v.value()));
            }
            Ok(out)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.blocking(|db| {
            db.begin_read()?.open_table(HEADS)?;
            Ok(())
        })
        .await
    }
}
