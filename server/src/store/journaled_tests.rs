//! The embedded store's journal and applier (`journaled.rs`): events the applier has not written
//! yet are read from both overlay layers and recovered from both journal files after a crash, and
//! at a light load they leave memory within seconds.

use std::path::Path;
use std::sync::Arc;

use dungeontalk_app::wire::{MemberId, RoomId};
use uuid::Uuid;

use super::disk::DiskStore;
use super::{Inserted, Store};
use crate::model::{Draft, EventBody, StoredEvent};

fn talk(room: &str, seq: u64) -> Arc<StoredEvent> {
    let body = EventBody::Talk {
        message_id: Uuid::now_v7(),
        sender_id: MemberId("m1".into()),
        sender_nickname: "Aria".into(),
        content: format!("line {seq}"),
        receiver_id: None,
        mentions: Vec::new(),
    };
    Arc::new(StoredEvent::seal(Draft::new(RoomId(room.into()), body), seq))
}

/// Every event of the rooms, by (room, seq, messageId), as the store reads them back.
async fn contents(store: &DiskStore, rooms: &[&str]) -> Vec<(String, u64, Option<Uuid>)> {
    let mut out = Vec::new();
    for room in rooms {
        for e in store.after(&RoomId((*room).into()), 0, 1000).await.unwrap() {
            out.push((e.room_id.0.clone(), e.seq, e.message_id));
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[tokio::test]
async fn events_waiting_for_the_applier_are_read_from_memory_and_survive_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let cache = crate::config::Settings::default().store_cache_bytes;
    // A few events fill a journal file: the first hand-off goes to an applier that is held up.
    let store = DiskStore::open_with(dir.path(), cache, 1000).unwrap();
    let rooms = ["a", "b"];
    let mut sent = Vec::new();
    let mut seq = 0;
    let mut batch = || {
        seq += 1;
        rooms.iter().map(|r| talk(r, seq)).collect::<Vec<_>>()
    };
    // Two batches into redb through the applier, so redb has some of every room.
    for _ in 0..4 {
        let events = batch();
        assert!(store.insert_sync(&events).unwrap().iter().all(|i| *i == Inserted::Stored));
        sent.extend(events);
    }
    wait_until_applied(&store).await;
    let held = store.db().begin_write().unwrap();
    // Six batches: the first full file goes to the applier, the rest wait in the other file
    // (well under the overrun at which the writer would wait for the applier too).
    // Half of them as the log's writer stores them (checked new by the writer: no lookups).
    for i in 0..6 {
        let events = batch();
        if i % 2 == 0 {
            store.insert_sync(&events).unwrap();
        } else {
            assert!(store.insert_new_now(&events).unwrap().unwrap().iter().all(|i| *i == Inserted::Stored));
        }
        sent.extend(events);
    }
    {
        let overlay = store.journaled().overlay();
        assert!(overlay.applying.is_some() && overlay.filling.len > 0, "both layers hold events");
    }
    let mut expected: Vec<_> = sent.iter().map(|e| (e.room_id.0.clone(), e.seq, e.message_id)).collect();
    expected.sort();
    assert_eq!(contents(&store, &rooms).await, expected, "redb and both layers, merged");
    let again = store.insert_sync(&sent[..3]).unwrap();
    assert!(again.iter().all(|i| *i == Inserted::Stored), "a replay stores nothing twice");
    let mut retry = (*sent[15]).clone();
    retry.seq = 99;
    assert_eq!(store.insert_sync(&[Arc::new(retry)]).unwrap(), [Inserted::Duplicate(sent[15].seq)], "a retried TALK");
    let heads = store.heads().await.unwrap();
    assert!(heads.iter().all(|(_, head)| *head == seq), "{heads:?}");

    // A crash now: the files as they are (the applier has not written anything).
    let crashed = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), crashed.path());
    let recovered = DiskStore::open_with(crashed.path(), cache, 1000).unwrap();
    assert_eq!(contents(&recovered, &rooms).await, expected, "both journal files re-applied");

    drop(held);
    wait_until_applied(&store).await;
    assert_eq!(contents(&store, &rooms).await, expected, "all of it in redb and the overlay");
}

async fn wait_until_applied(store: &DiskStore) {
    for _ in 0..500 {
        if store.journaled().overlay().applying.is_none() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the applier never finished");
}

#[tokio::test]
async fn events_at_a_light_load_leave_memory_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let cache = crate::config::Settings::default().store_cache_bytes;
    let store = DiskStore::open_with(dir.path(), cache, 4 << 20).unwrap();
    let events = vec![talk("a", 1), talk("a", 2)];
    store.insert_sync(&events).unwrap();
    assert!(store.journaled().overlay().filling.len > 0, "far from a full journal file");
    // Taken at the applier's next wake-up after APPLY_AFTER (1 s): within 2 s, then applied.
    let empty = || {
        let overlay = store.journaled().overlay();
        overlay.filling.len == 0 && overlay.applying.is_none()
    };
    for _ in 0..100 {
        if empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(empty(), "applied though the file is not full");
    assert_eq!(contents(&store, &["a"]).await.len(), 2);
}
