//! The embedded on-disk store: one redb file in the data dir (why redb: docs/ARCHITECTURE.md),
//! with a write-ahead journal for room events (`journal.rs`) whose events wait in memory
//! (`overlay.rs`) until they are applied to redb in bulk (`journaled.rs`).

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use dungeontalk_app::wire::RoomId;
use redb::{Database, ReadableDatabase, ReadableTable};

use super::journal::{self, Journal};
use super::journaled::Journaled;
use super::overlay::{merge, then_redb};
use super::tables::{self, HEADS, ROOMS, WATERMARKS};
use super::{Inserted, Store, StoreError, fail};
use crate::model::{RoomRecord, StoredEvent};

/// A redb database file; blocking work runs on tokio's blocking pool.
#[derive(Clone)]
pub struct DiskStore {
    db: Arc<Database>,
    /// Where room events are made durable and wait for redb; `None`: every commit is durable.
    journal: Option<Arc<Journaled>>,
}

impl DiskStore {
    /// Opens (or creates) `dungeontalk.redb` in `dir` with the default settings.
    pub fn open(dir: &Path) -> Result<DiskStore, StoreError> {
        let s = crate::config::Settings::default();
        Self::open_with(dir, s.store_cache_bytes, s.store_journal_bytes)
    }

    /// Opens (or creates) `dungeontalk.redb` in `dir`, caching at most `cache_bytes` of its pages
    /// (redb's own default, 1 GiB, would keep most of a growing store resident for good), and
    /// re-applies what its journal holds; events are then journaled and applied to redb each
    /// time a journal file passes `journal_bytes` (0: no journal, every commit durable by itself).
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
            txn.open_table(tables::EVENTS).map_err(fail)?;
            txn.open_table(HEADS).map_err(fail)?;
            tables::migrate_message_ids(&txn).map_err(fail)?;
            txn.open_table(WATERMARKS).map_err(fail)?;
            txn.open_table(super::disk_accounts::ACCOUNTS).map_err(fail)?;
            txn.open_table(super::disk_accounts::REFRESH).map_err(fail)?;
            txn.open_table(super::disk_accounts::REVOKED_FAMILIES).map_err(fail)?;
            txn.open_table(super::disk_accounts::REVOKED_ACCESS).map_err(fail)?;
        }
        txn.commit().map_err(fail)?;
        let db = Arc::new(db);
        let paths = [dir.join("dungeontalk.journal"), dir.join("dungeontalk.journal.b")];
        let journal = recover_journal(&db, [&paths[0], &paths[1]], journal_bytes)?;
        Ok(DiskStore { db, journal })
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

    /// The journal, which a test holds up.
    #[cfg(test)]
    pub(super) fn journaled(&self) -> &Journaled {
        self.journal.as_deref().expect("a journal")
    }

    /// [`Store::insert`] on this thread.
    pub(super) fn insert_sync(&self, events: &[Arc<StoredEvent>]) -> Result<Vec<Inserted>, StoreError> {
        match &self.journal {
            Some(journal) => journal.insert(&self.db, events),
            None => tables::insert_durably(&self.db, events).map_err(fail),
        }
    }

    /// [`Store::message_seqs`] on this thread.
    fn message_seqs_sync(&self, keys: &[(RoomId, uuid::Uuid)]) -> Result<Vec<Option<u64>>, StoreError> {
        let mut out: Vec<Option<u64>> = match &self.journal {
            Some(journal) => {
                let overlay = journal.overlay();
                keys.iter().map(|(room, mid)| overlay.message_seq(room, *mid)).collect()
            }
            None => vec![None; keys.len()],
        };
        then_redb(&mut out, |open| {
            let asked: Vec<(RoomId, uuid::Uuid)> = open.iter().map(|i| keys[*i].clone()).collect();
            tables::message_seqs(&self.db, &asked).map_err(fail)
        })?;
        Ok(out)
    }
}

/// Re-applies what the journal's files hold (durably), then starts them afresh with `limit`, or
/// removes them when `limit` is 0.
fn recover_journal(db: &Arc<Database>, paths: [&Path; 2], limit: u64) -> Result<Option<Arc<Journaled>>, StoreError> {
    let shown = paths[0].display();
    let replay = journal::read(paths).map_err(|e| fail(format!("cannot read {shown}: {e}")))?;
    if !replay.is_empty() {
        tracing::info!(events = replay.len(), "re-applying the store's journal");
        tables::insert_durably(db, &replay).map_err(fail)?;
    }
    if limit == 0 {
        for path in paths {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(fail(format!("cannot remove {}: {e}", path.display())));
                }
                _ => {}
            }
        }
        return Ok(None);
    }
    let journal = Journal::start(paths, limit).map_err(|e| fail(format!("cannot start {shown}: {e}")))?;
    let journaled =
        Journaled::start(db.clone(), journal).map_err(|e| fail(format!("cannot start the applier: {e}")))?;
    Ok(Some(Arc::new(journaled)))
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
        // Inline, not on the blocking pool: every poll, handshake and POST reads its room, the
        // rooms table is small and stays in redb's page cache, and a hand-off to a pool thread
        // and back cost more than the read (a fifth of a long poll's server CPU was context
        // switches). A page that is not cached is one `pread` of the local file.
        let read = || -> Result<Option<Vec<u8>>, redb::Error> {
            let table = self.db.begin_read()?.open_table(ROOMS)?;
            Ok(table.get(id.0.as_str())?.map(|v| v.value().to_vec()))
        };
        let raw = read().map_err(fail)?;
        raw.map(|j| serde_json::from_slice(&j).map_err(fail)).transpose()
    }

    async fn insert(&self, events: Vec<Arc<StoredEvent>>) -> Result<Vec<Inserted>, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.insert_sync(&events)).await.map_err(fail)?
    }

    async fn message_seqs(&self, keys: Vec<(RoomId, uuid::Uuid)>) -> Result<Vec<Option<u64>>, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.message_seqs_sync(&keys)).await.map_err(fail)?
    }

    fn insert_now(&self, events: &[Arc<StoredEvent>]) -> Option<Result<Vec<Inserted>, StoreError>> {
        Some(self.insert_sync(events))
    }

    fn insert_new_now(&self, events: &[Arc<StoredEvent>]) -> Option<Result<Vec<Inserted>, StoreError>> {
        Some(match &self.journal {
            // The writer looked the message ids up a moment ago: no second lookup per event.
            Some(journal) => journal.insert_new(events).map(|()| vec![Inserted::Stored; events.len()]),
            None => self.insert_sync(events),
        })
    }

    fn message_seqs_now(&self, keys: &[(RoomId, uuid::Uuid)]) -> Option<Result<Vec<Option<u64>>, StoreError>> {
        Some(self.message_seqs_sync(keys))
    }

    async fn after(&self, room: &RoomId, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        // The overlay before redb: see `overlay.rs`.
        let newer = self.journal.as_ref().map(|j| j.overlay().after(room, after, limit)).unwrap_or_default();
        let room = room.clone();
        let stored = self.blocking(move |db| tables::after(db, &room, after, limit)).await?;
        Ok(merge(stored, newer, false, limit))
    }

    async fn before(&self, room: &RoomId, before: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let newer = self.journal.as_ref().map(|j| j.overlay().before(room, before, limit)).unwrap_or_default();
        let room = room.clone();
        let stored = self.blocking(move |db| tables::before(db, &room, before, limit)).await?;
        Ok(merge(stored, newer, true, limit))
    }

    async fn heads(&self) -> Result<Vec<(RoomId, u64)>, StoreError> {
        let mut newer = self.journal.as_ref().map(|j| j.overlay().heads()).unwrap_or_default();
        let mut out = self.blocking(tables::heads).await?;
        for (room, head) in &mut out {
            if let Some(seq) = newer.remove(room) {
                *head = (*head).max(seq);
            }
        }
        out.extend(newer);
        Ok(out)
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
