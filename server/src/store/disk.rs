//! The embedded on-disk store: one redb file in the data dir (why redb: docs/ARCHITECTURE.md),
//! with a write-ahead journal for room events (`journal.rs`).

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::extract::ws::Utf8Bytes;
use dungeontalk_app::wire::RoomId;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, TableHandle, WriteTransaction};

use super::journal::{self, Journal};
use super::{Inserted, Store, StoreError};
use crate::model::{RoomRecord, StoredEvent};

/// room id → RoomRecord as JSON.
const ROOMS: TableDefinition<&str, &[u8]> = TableDefinition::new("rooms");
/// (room id, seq) → the event's JSON frame, exactly as sent to clients.
const EVENTS: TableDefinition<(&str, u64), &str> = TableDefinition::new("events");
/// room id → the last seq given out.
const HEADS: TableDefinition<&str, u64> = TableDefinition::new("heads");
/// (messageId, room id) → seq: makes a retried TALK land once. The id leads because message ids
/// are UUIDv7 (time first: the server's and the UI's), so a commit's new ids land together at the
/// tree's right edge; keyed by room first, each message of a batch dirtied another room's leaf.
const MESSAGE_IDS: TableDefinition<(u128, &str), u64> = TableDefinition::new("message_ids_by_time");
/// The same, keyed by room first: files written before 2026-11-29; moved over once at open.
const MESSAGE_IDS_BY_ROOM: TableDefinition<(&str, u128), u64> = TableDefinition::new("message_ids");
/// log partition → the seq through which its persister has stored it.
const WATERMARKS: TableDefinition<&str, u64> = TableDefinition::new("watermarks");

/// A redb database file; blocking work runs on tokio's blocking pool.
#[derive(Clone)]
pub struct DiskStore {
    db: Arc<Database>,
    /// Where event batches are made durable between checkpoints; `None`: every commit is.
    journal: Option<Arc<Mutex<Journal>>>,
}

pub(super) fn fail(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

impl DiskStore {
    /// Opens (or creates) `dungeontalk.redb` in `dir` with the default settings.
    pub fn open(dir: &Path) -> Result<DiskStore, StoreError> {
        let s = crate::config::Settings::default();
        Self::open_with(dir, s.store_cache_bytes, s.store_journal_bytes)
    }

    /// Opens (or creates) `dungeontalk.redb` in `dir`, caching at most `cache_bytes` of its pages
    /// (redb's own default, 1 GiB, would keep most of a growing store resident for good), and
    /// re-applies what its journal holds; events are then journaled with a checkpoint every
    /// `journal_bytes` (0: no journal, every commit durable by itself).
    pub fn open_with(dir: &Path, cache_bytes: usize, journal_bytes: u64) -> Result<DiskStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join("dungeontalk.redb");
        let db = redb::Builder::new()
            .set_cache_size(cache_bytes)
            .create(&path)
            .map_err(|e| fail(format!("cannot open {}: {e}", path.display())))?;
        let txn = db.begin_write().map_err(fail)?;
        {
            txn.open_table(ROOMS).map_err(fail)?;
            txn.open_table(EVENTS).map_err(fail)?;
            txn.open_table(HEADS).map_err(fail)?;
            migrate_message_ids(&txn).map_err(fail)?;
            txn.open_table(WATERMARKS).map_err(fail)?;
            txn.open_table(super::disk_accounts::ACCOUNTS).map_err(fail)?;
            txn.open_table(super::disk_accounts::REFRESH).map_err(fail)?;
            txn.open_table(super::disk_accounts::REVOKED_FAMILIES).map_err(fail)?;
            txn.open_table(super::disk_accounts::REVOKED_ACCESS).map_err(fail)?;
        }
        txn.commit().map_err(fail)?;
        let journal = recover_journal(&db, &dir.join("dungeontalk.journal"), journal_bytes)?;
        Ok(DiskStore { db: Arc::new(db), journal })
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

/// Re-applies what the journal at `path` holds (durably), then starts it afresh with `limit`, or
/// removes it when `limit` is 0.
fn recover_journal(db: &Database, path: &Path, limit: u64) -> Result<Option<Arc<Mutex<Journal>>>, StoreError> {
    let replay = journal::read(path).map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
    if !replay.is_empty() {
        tracing::info!(events = replay.len(), "re-applying the store's journal");
        insert_all(db, None, &replay)?;
    }
    if limit == 0 {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(fail(format!("cannot remove {}: {e}", path.display())))
            }
            _ => Ok(None),
        }
    } else {
        let journal = Journal::start(path, limit).map_err(|e| fail(format!("cannot start {}: {e}", path.display())))?;
        Ok(Some(Arc::new(Mutex::new(journal))))
    }
}

/// Moves a file's room-first message ids into the id-first table (once: the old table is gone
/// after the commit), and makes sure the id-first table exists.
fn migrate_message_ids(txn: &WriteTransaction) -> Result<(), redb::Error> {
    let mut ids = txn.open_table(MESSAGE_IDS)?;
    if !txn.list_tables()?.any(|t| t.name() == MESSAGE_IDS_BY_ROOM.name()) {
        return Ok(());
    }
    {
        let old = txn.open_table(MESSAGE_IDS_BY_ROOM)?;
        for entry in old.iter()? {
            let (key, seq) = entry?;
            let (room, mid) = key.value();
            ids.insert(id_key(room, mid), seq.value())?;
        }
    }
    txn.delete_table(MESSAGE_IDS_BY_ROOM)?;
    Ok(())
}

/// A message id's key in [`MESSAGE_IDS`].
fn id_key(room: &str, mid: u128) -> (u128, &str) {
    (mid, room)
}

fn stored(room_id: &RoomId, seq: u64, json: &str) -> StoredEvent {
    StoredEvent::new(room_id.clone(), seq, Utf8Bytes::from(json))
}

/// Stores a batch in one transaction. With a journal, the batch's new events are journaled first
/// and the commit stays in memory, unless the journal is full: then the commit is durable (a
/// checkpoint) and the journal starts over.
fn insert_all(
    db: &Database,
    journal: Option<&Mutex<Journal>>,
    events: &[Arc<StoredEvent>],
) -> Result<Vec<Inserted>, StoreError> {
    let mut txn = db.begin_write().map_err(fail)?;
    let (out, fresh) = stage(&txn, events).map_err(fail)?;
    let Some(journal) = journal.filter(|_| !fresh.is_empty()) else {
        txn.commit().map_err(fail)?;
        return Ok(out);
    };
    // Held through the commit: the journal's order is the commits' order.
    let mut journal = journal.lock().expect("journal lock");
    let full = journal.append(&fresh).map_err(|e| fail(format!("journal: {e}")))?;
    if !full {
        txn.set_durability(Durability::None).map_err(fail)?;
    }
    if let Err(e) = txn.commit() {
        journal.fail();
        return Err(fail(e));
    }
    if full {
        journal.checkpointed();
    }
    Ok(out)
}

/// Writes a batch into `txn`: what each event did, and the events it stored now (not found
/// stored already).
fn stage<'e>(
    txn: &WriteTransaction,
    events: &'e [Arc<StoredEvent>],
) -> Result<(Vec<Inserted>, Vec<&'e StoredEvent>), redb::Error> {
    let mut out = Vec::with_capacity(events.len());
    let mut fresh = Vec::with_capacity(events.len());
    let mut table = txn.open_table(EVENTS)?;
    let mut heads = txn.open_table(HEADS)?;
    let mut ids = txn.open_table(MESSAGE_IDS)?;
    for event in events {
        let room = event.room_id.0.as_str();
        if let Some(mid) = event.message_id {
            let earlier = ids.get(id_key(room, mid.as_u128()))?.map(|seq| seq.value());
            if let Some(seq) = earlier {
                out.push(if seq == event.seq { Inserted::Stored } else { Inserted::Duplicate(seq) });
                continue;
            }
        }
        if table.get((room, event.seq))?.is_none() {
            table.insert((room, event.seq), event.json.as_str())?;
            fresh.push(&**event);
        }
        let head = heads.get(room)?.map_or(0, |s| s.value());
        if event.seq > head {
            heads.insert(room, event.seq)?;
        }
        if let Some(mid) = event.message_id {
            ids.insert(id_key(room, mid.as_u128()), event.seq)?;
        }
        out.push(Inserted::Stored);
    }
    Ok((out, fresh))
}

fn message_seqs(db: &Database, keys: &[(RoomId, uuid::Uuid)]) -> Result<Vec<Option<u64>>, redb::Error> {
    let ids = db.begin_read()?.open_table(MESSAGE_IDS)?;
    let mut out = Vec::with_capacity(keys.len());
    for (room, mid) in keys {
        out.push(ids.get(id_key(&room.0, mid.as_u128()))?.map(|seq| seq.value()));
    }
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

    async fn insert(&self, events: Vec<Arc<StoredEvent>>) -> Result<Vec<Inserted>, StoreError> {
        let (db, journal) = (self.db.clone(), self.journal.clone());
        tokio::task::spawn_blocking(move || insert_all(&db, journal.as_deref(), &events)).await.map_err(fail)?
    }

    async fn message_seqs(&self, keys: Vec<(RoomId, uuid::Uuid)>) -> Result<Vec<Option<u64>>, StoreError> {
        self.blocking(move |db| message_seqs(db, &keys)).await
    }

    fn insert_now(&self, events: &[Arc<StoredEvent>]) -> Option<Result<Vec<Inserted>, StoreError>> {
        Some(insert_all(&self.db, self.journal.as_deref(), events))
    }

    fn message_seqs_now(&self, keys: &[(RoomId, uuid::Uuid)]) -> Option<Result<Vec<Option<u64>>, StoreError>> {
        Some(message_seqs(&self.db, keys).map_err(fail))
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

    async fn heads(&self) -> Result<Vec<(RoomId, u64)>, StoreError> {
        self.blocking(|db| {
            let table = db.begin_read()?.open_table(HEADS)?;
            let mut out = Vec::new();
            for row in table.iter()? {
                let (k, v) = row?;
                out.push((RoomId(k.value().to_owned()), v.value()));
            }
            Ok(out)
        })
        .await
    }

    async fn watermark(&self, key: &str) -> Result<u64, StoreError> {
        let key = key.to_owned();
        self.blocking(move |db| {
            Ok(db.begin_read()?.open_table(WATERMARKS)?.get(key.as_str())?.map_or(0, |v| v.value()))
        })
        .await
    }

    async fn set_watermark(&self, key: &str, through: u64) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            {
                let mut table = txn.open_table(WATERMARKS)?;
                let now = table.get(key.as_str())?.map_or(0, |v| v.value());
                table.insert(key.as_str(), now.max(through))?;
            }
            txn.commit()?;
            Ok(())
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
