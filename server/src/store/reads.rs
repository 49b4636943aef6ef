//! Read marks: how far each member has read each room (the unread counts start after it), on
//! the embedded file; MongoDB's are in `mongo_reads.rs`. A mark never moves back. A mark nobody
//! moved for `read_mark_ttl_days` is forgotten (guests' members come and go).

use async_trait::async_trait;
use dungeontalk_app::wire::{MemberId, RoomId};
use redb::{ReadableTable, ReadableTableMetadata, TableDefinition};

use super::StoreError;
use super::disk::DiskStore;

/// Where members' read marks are kept.
#[async_trait]
pub trait ReadMarks: Send + Sync + 'static {
    /// Every room the member has a mark in, with the mark.
    async fn read_marks(&self, member: &MemberId) -> Result<Vec<(RoomId, u64)>, StoreError>;
    /// Moves the member's mark in the room up to `seq` (never back); the mark as it now stands.
    async fn mark_read(&self, member: &MemberId, room: &RoomId, seq: u64, now_ms: u64) -> Result<u64, StoreError>;
    /// Forgets the marks last moved before `before_ms`; how many went.
    async fn forget_reads(&self, before_ms: u64) -> Result<u64, StoreError>;
}

/// (member id, room id) → (seq read through, when it last moved, ms since the epoch).
const READS: TableDefinition<(&str, &str), (u64, u64)> = TableDefinition::new("read_marks");

#[async_trait]
impl ReadMarks for DiskStore {
    async fn read_marks(&self, member: &MemberId) -> Result<Vec<(RoomId, u64)>, StoreError> {
        let member = member.0.clone();
        self.blocking(move |db| {
            let txn = redb::ReadableDatabase::begin_read(db)?;
            let table = match txn.open_table(READS) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
                Err(e) => return Err(e.into()),
            };
            let mut out = Vec::new();
            for row in table.range((member.as_str(), "")..)? {
                let (key, value) = row?;
                let (m, room) = key.value();
                if m != member {
                    break;
                }
                out.push((RoomId(room.to_owned()), value.value().0));
            }
            Ok(out)
        })
        .await
    }

    async fn mark_read(&self, member: &MemberId, room: &RoomId, seq: u64, now_ms: u64) -> Result<u64, StoreError> {
        let (member, room) = (member.0.clone(), room.0.clone());
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            let mark = {
                let mut table = txn.open_table(READS)?;
                let key = (member.as_str(), room.as_str());
                let was = table.get(key)?.map_or(0, |v| v.value().0);
                let mark = was.max(seq);
                table.insert(key, (mark, now_ms))?;
                mark
            };
            txn.commit()?;
            Ok(mark)
        })
        .await
    }

    async fn forget_reads(&self, before_ms: u64) -> Result<u64, StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            let gone = {
                let mut table = txn.open_table(READS)?;
                let before = table.len()?;
                table.retain(|_, (_, at)| at >= before_ms)?;
                before - table.len()?
            };
            txn.commit()?;
            Ok(gone)
        })
        .await
    }
}
