//! The embedded store's room tables in redb, and the reads and writes on them that the store and
//! its journal's applier share.

use std::sync::Arc;

use crate::model::Utf8Bytes;
use dungeontalk_app::wire::RoomId;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableHandle, WriteTransaction};

use super::Inserted;
use super::overlay::Layer;
use crate::model::StoredEvent;

/// room id → RoomRecord as JSON.
pub(super) const ROOMS: TableDefinition<&str, &[u8]> = TableDefinition::new("rooms");
/// (room id, seq) → the event's JSON frame, exactly as sent to clients.
pub(super) const EVENTS: TableDefinition<(&str, u64), &str> = TableDefinition::new("events");
/// room id → the last seq given out.
pub(super) const HEADS: TableDefinition<&str, u64> = TableDefinition::new("heads");
/// (messageId, room id) → seq: makes a retried TALK land once. The id leads because message ids
/// are UUIDv7 (time first: the server's and the UI's), so a commit's new ids land together at the
/// tree's right edge; keyed by room first, each message of a batch dirtied another room's leaf.
pub(super) const MESSAGE_IDS: TableDefinition<(u128, &str), u64> = TableDefinition::new("message_ids_by_time");
/// The same, keyed by room first: files written before 2026-11-29; moved over once at open.
const MESSAGE_IDS_BY_ROOM: TableDefinition<(&str, u128), u64> = TableDefinition::new("message_ids");
/// log partition → the seq through which its persister has stored it.
pub(super) const WATERMARKS: TableDefinition<&str, u64> = TableDefinition::new("watermarks");

/// Moves a file's room-first message ids into the id-first table (once: the old table is gone
/// after the commit), and makes sure the id-first table exists.
pub(super) fn migrate_message_ids(txn: &WriteTransaction) -> Result<(), redb::Error> {
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

/// Stores a batch in one durable commit, each event once (see [`super::Store::insert`]).
pub(super) fn insert_durably(db: &Database, events: &[Arc<StoredEvent>]) -> Result<Vec<Inserted>, redb::Error> {
    let txn = db.begin_write()?;
    let mut out = Vec::with_capacity(events.len());
    {
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
    }
    txn.commit()?;
    Ok(out)
}

/// Writes a journaled layer into redb in one durable commit. The journal's writer decided what
/// is new, so nothing is looked up but the rooms' heads; keys go in in order, so each B-tree
/// leaf is written once however many of the layer's batches touched it.
pub(super) fn apply(db: &Database, layer: &Layer) -> Result<(), redb::Error> {
    let mut rooms: Vec<_> = layer.rooms.iter().collect();
    rooms.sort_unstable_by(|a, b| a.0.0.cmp(&b.0.0));
    let txn = db.begin_write()?;
    {
        let mut table = txn.open_table(EVENTS)?;
        for (room, r) in &rooms {
            for (seq, event) in &r.events {
                table.insert((room.0.as_str(), *seq), event.json.as_str())?;
            }
        }
        let mut heads = txn.open_table(HEADS)?;
        for (room, r) in &rooms {
            let seq = r.head();
            if heads.get(room.0.as_str())?.is_none_or(|head| head.value() < seq) {
                heads.insert(room.0.as_str(), seq)?;
            }
        }
        let mut ids: Vec<_> =
            rooms.iter().flat_map(|(room, r)| r.ids.iter().map(|(mid, seq)| (id_key(&room.0, *mid), *seq))).collect();
        ids.sort_unstable();
        let mut table = txn.open_table(MESSAGE_IDS)?;
        for (key, seq) in ids {
            table.insert(key, seq)?;
        }
    }
    txn.commit()?;
    Ok(())
}

/// What redb says of each event about to be inserted: `None` if it is new to redb.
pub(super) fn known(db: &Database, events: &[&Arc<StoredEvent>]) -> Result<Vec<Option<Inserted>>, redb::Error> {
    let txn = db.begin_read()?;
    let (table, ids) = (txn.open_table(EVENTS)?, txn.open_table(MESSAGE_IDS)?);
    let mut out = Vec::with_capacity(events.len());
    for event in events {
        let room = event.room_id.0.as_str();
        let by_id = match event.message_id {
            Some(mid) => ids.get(id_key(room, mid.as_u128()))?.map(|seq| seq.value()),
            None => None,
        };
        out.push(match by_id {
            Some(seq) if seq == event.seq => Some(Inserted::Stored),
            Some(seq) => Some(Inserted::Duplicate(seq)),
            None => table.get((room, event.seq))?.map(|_| Inserted::Stored),
        });
    }
    Ok(out)
}

/// For each `(room, messageId)`, the seq redb holds under it.
pub(super) fn message_seqs(db: &Database, keys: &[(RoomId, uuid::Uuid)]) -> Result<Vec<Option<u64>>, redb::Error> {
    let ids = db.begin_read()?.open_table(MESSAGE_IDS)?;
    let mut out = Vec::with_capacity(keys.len());
    for (room, mid) in keys {
        out.push(ids.get(id_key(&room.0, mid.as_u128()))?.map(|seq| seq.value()));
    }
    Ok(out)
}

/// Up to `limit` of the room's events in redb with seq > `after`, oldest first.
pub(super) fn after(db: &Database, room: &RoomId, after: u64, limit: usize) -> Result<Vec<StoredEvent>, redb::Error> {
    let table = db.begin_read()?.open_table(EVENTS)?;
    let key = room.0.as_str();
    let mut out = Vec::new();
    for row in table.range((key, after.saturating_add(1))..=(key, u64::MAX))?.take(limit) {
        let (k, v) = row?;
        out.push(stored(room, k.value().1, v.value()));
    }
    Ok(out)
}

/// Up to `limit` of the room's events in redb with seq < `before`, newest first.
pub(super) fn before(db: &Database, room: &RoomId, before: u64, limit: usize) -> Result<Vec<StoredEvent>, redb::Error> {
    let table = db.begin_read()?.open_table(EVENTS)?;
    let key = room.0.as_str();
    let mut out = Vec::new();
    for row in table.range((key, 0)..(key, before))?.rev().take(limit) {
        let (k, v) = row?;
        out.push(stored(room, k.value().1, v.value()));
    }
    Ok(out)
}

/// Every room's head in redb.
pub(super) fn heads(db: &Database) -> Result<Vec<(RoomId, u64)>, redb::Error> {
    let table = db.begin_read()?.open_table(HEADS)?;
    let mut out = Vec::new();
    for row in table.iter()? {
        let (k, v) = row?;
        out.push((RoomId(k.value().to_owned()), v.value()));
    }
    Ok(out)
}
