//! One suite for every `Store` + `AccountStore`: the embedded redb file (with and without its
//! journal) and MongoDB run the same cases (a macro makes one test per case and backend).

use std::sync::Arc;
use std::time::Duration;

use dungeontalk::model::{Draft, EventBody, GameSetup, RoomRecord, StoredEvent};
use dungeontalk::store::accounts::{AccountRecord, AccountStore, RefreshRecord, Renewal, Rotation};
use dungeontalk::store::reads::ReadMarks;
use dungeontalk::store::{Inserted, Store};
use dungeontalk_app::wire::{MemberId, RoomId, WorldType};
use uuid::Uuid;

use crate::services::Service;

/// A store under test, with whatever keeps it alive.
struct Under {
    store: Arc<dyn Store>,
    accounts: Arc<dyn AccountStore>,
    reads: Arc<dyn ReadMarks>,
    _keep: Box<dyn std::any::Any + Send>,
}

/// The redb file with its journal, so small that most batches fill a journal file and go to
/// the applier: reads see events in memory, in the applier's hands and in redb.
async fn redb() -> Under {
    redb_with_journal(300)
}

/// The redb file with every commit durable by itself.
async fn redb_unjournaled() -> Under {
    redb_with_journal(0)
}

fn redb_with_journal(bytes: u64) -> Under {
    let dir = tempfile::tempdir().unwrap();
    let cache = dungeontalk::config::Settings::default().store_cache_bytes;
    let disk = Arc::new(dungeontalk::store::disk::DiskStore::open_with(dir.path(), cache, bytes).unwrap());
    Under { store: disk.clone(), accounts: disk.clone(), reads: disk, _keep: Box::new(dir) }
}

async fn mongodb() -> Under {
    let service = Service::mongo().await;
    let mongo = dungeontalk::store::mongo::MongoStore::connect(&service.url(), Duration::from_secs(5)).await.unwrap();
    let mongo = Arc::new(mongo);
    Under { store: mongo.clone(), accounts: mongo.clone(), reads: mongo, _keep: Box::new(service) }
}

macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod redb_store {
            $(#[tokio::test] async fn $case() { super::$case(super::redb().await).await })*
        }
        mod redb_unjournaled {
            $(#[tokio::test] async fn $case() { super::$case(super::redb_unjournaled().await).await })*
        }
        mod mongodb_store {
            $(#[tokio::test] async fn $case() { super::$case(super::mongodb().await).await })*
        }
    };
}

on_both_stores!(
    rooms_are_created_listed_and_updated,
    events_page_both_ways_and_heads_follow,
    a_replayed_event_is_stored_once,
    a_repeated_message_id_is_refused_with_the_first_seq,
    watermarks_never_move_back,
    read_marks_are_per_member_never_move_back_and_old_ones_go,
    accounts_have_unique_names,
    refresh_tokens_rotate_once_and_reuse_is_seen,
    revocations_are_kept_until_they_expire,
);

fn room(n: u32) -> RoomId {
    RoomId(format!("room-{n}"))
}

fn talk(room_id: RoomId, seq: u64, content: &str, id: Uuid) -> Arc<StoredEvent> {
    let body = EventBody::Talk {
        message_id: id,
        sender_id: MemberId("m1".into()),
        sender_nickname: "Aria".into(),
        content: content.into(),
        receiver_id: None,
        mentions: Vec::new(),
    };
    Arc::new(StoredEvent::seal(Draft::new(room_id, body), seq))
}

fn join(room_id: RoomId, seq: u64) -> Arc<StoredEvent> {
    let body = EventBody::Join { member_id: MemberId("m1".into()), nickname: "Aria".into() };
    Arc::new(StoredEvent::seal(Draft::new(room_id, body), seq))
}

fn seqs(events: &[StoredEvent]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

async fn rooms_are_created_listed_and_updated(s: Under) {
    let record = |n: u32| RoomRecord {
        room_id: room(n),
        name: format!("Hall {n}"),
        max_capacity: 3,
        created_by: MemberId("m1".into()),
        created_at: format!("2026-11-28T20:00:0{n}.000Z"),
        room_type: Default::default(),
        private: n == 2,
        allowed: Vec::new(),
        // A game room's rules round-trip too (every node runs a game by them).
        game: (n == 2).then_some(GameSetup {
            world_type: WorldType::Sf,
            turns: 10,
            turn_secs: 90,
            autostart: Some(3),
            finished: false,
        }),
    };
    s.store.create_room(record(1)).await.unwrap();
    s.store.create_room(record(2)).await.unwrap();
    assert_eq!(s.store.room(&room(2)).await.unwrap(), Some(record(2)));
    assert_eq!(s.store.room(&room(3)).await.unwrap(), None);
    let mut changed = record(2);
    changed.max_capacity = 0;
    changed.allowed.push(MemberId("m2".into()));
    s.store.update_room(changed.clone()).await.unwrap();
    assert_eq!(s.store.rooms().await.unwrap(), vec![record(1), changed], "oldest first, updated in place");
}

async fn events_page_both_ways_and_heads_follow(s: Under) {
    // Seqs rise per room but need not be contiguous (a shared log's offsets).
    let a: Vec<_> = [3u64, 5, 9, 10].iter().map(|&q| talk(room(1), q, &format!("a{q}"), Uuid::now_v7())).collect();
    let joined = join(room(2), 4);
    let mut batch = a.clone();
    batch.insert(1, joined.clone());
    let out = s.store.insert(batch).await.unwrap();
    assert_eq!(out, vec![Inserted::Stored; 5]);
    assert_eq!(seqs(&s.store.after(&room(1), 0, 10).await.unwrap()), [3, 5, 9, 10]);
    assert_eq!(seqs(&s.store.after(&room(1), 5, 2).await.unwrap()), [9, 10]);
    assert_eq!(seqs(&s.store.before(&room(1), u64::MAX, 3).await.unwrap()), [10, 9, 5]);
    assert_eq!(seqs(&s.store.before(&room(1), 9, 10).await.unwrap()), [5, 3]);
    let stored = s.store.after(&room(1), 8, 1).await.unwrap().remove(0);
    assert_eq!(stored.json.as_str(), a[2].json.as_str(), "the exact JSON clients received");
    assert_eq!(stored.message_id, a[2].message_id);
    let mut heads = s.store.heads().await.unwrap();
    heads.sort();
    assert_eq!(heads, vec![(room(1), 10), (room(2), 4)]);
    let stored = s.store.after(&room(2), 0, 10).await.unwrap();
    assert_eq!(stored[0].json.as_str(), joined.json.as_str());
}

async fn a_replayed_event_is_stored_once(s: Under) {
    let e = talk(room(1), 7, "once", Uuid::now_v7());
    let j = join(room(1), 8);
    assert_eq!(s.store.insert(vec![e.clone(), j.clone()]).await.unwrap(), vec![Inserted::Stored; 2]);
    // A persister that crashed before recording its progress writes the same events again.
    assert_eq!(s.store.insert(vec![e.clone(), j.clone()]).await.unwrap(), vec![Inserted::Stored; 2]);
    assert_eq!(seqs(&s.store.after(&room(1), 0, 10).await.unwrap()), [7, 8]);
    // A replay that runs on into new events (the persister died mid-way through a longer batch),
    // with a retry of the first message at its end: what follows the replayed part is stored, in
    // order, and the retry keeps the seq the first copy has.
    let next = talk(room(1), 9, "new", Uuid::now_v7());
    let retry = talk(room(1), 10, "once", e.message_id.unwrap());
    let out = s.store.insert(vec![e, j, next, retry]).await.unwrap();
    assert_eq!(out, vec![Inserted::Stored, Inserted::Stored, Inserted::Stored, Inserted::Duplicate(7)]);
    assert_eq!(seqs(&s.store.after(&room(1), 0, 10).await.unwrap()), [7, 8, 9]);
}

async fn a_repeated_message_id_is_refused_with_the_first_seq(s: Under) {
    let id = Uuid::now_v7();
    let other = Uuid::now_v7();
    assert_eq!(s.store.insert(vec![talk(room(1), 1, "first", id)]).await.unwrap(), vec![Inserted::Stored]);
    // The same messageId again (another node's retry), in a batch with new events, and twice in
    // one batch: stored once, answered with the first seq.
    let batch = vec![talk(room(1), 2, "new", other), talk(room(1), 3, "first", id), talk(room(2), 4, "elsewhere", id)];
    let out = s.store.insert(batch).await.unwrap();
    assert_eq!(out, vec![Inserted::Stored, Inserted::Duplicate(1), Inserted::Stored], "per room");
    assert_eq!(seqs(&s.store.after(&room(1), 0, 10).await.unwrap()), [1, 2]);
    assert_eq!(
        s.store.message_seqs(vec![(room(1), id), (room(1), other), (room(2), id), (room(3), id)]).await.unwrap(),
        vec![Some(1), Some(2), Some(4), None]
    );
    assert_eq!(s.store.message_seq(&room(1), id).await.unwrap(), Some(1));
}

/// A data dir written before message ids were keyed id first keeps answering retries.
#[tokio::test]
async fn a_redb_file_with_room_first_message_ids_keeps_them() {
    use redb::TableHandle;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dungeontalk.redb");
    let old: redb::TableDefinition<(&str, u128), u64> = redb::TableDefinition::new("message_ids");
    let (id, other) = (Uuid::now_v7(), Uuid::now_v7());
    {
        let db = redb::Database::create(&file).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut t = txn.open_table(old).unwrap();
            t.insert(("room-1", id.as_u128()), 7).unwrap();
            t.insert(("room-2", other.as_u128()), 9).unwrap();
        }
        txn.commit().unwrap();
    }
    for _ in 0..2 {
        // Twice: the second open finds nothing left to move and keeps what the first moved.
        let disk = dungeontalk::store::disk::DiskStore::open(dir.path()).unwrap();
        let keys = vec![(room(1), id), (room(2), other), (room(2), id)];
        assert_eq!(disk.message_seqs(keys).await.unwrap(), vec![Some(7), Some(9), None]);
        let out = disk.insert(vec![talk(room(1), 8, "again", id)]).await.unwrap();
        assert_eq!(out, vec![Inserted::Duplicate(7)], "a retry of a message stored before the move");
    }
    let db = redb::Database::create(&file).unwrap();
    let txn = db.begin_write().unwrap();
    assert!(!txn.list_tables().unwrap().any(|t| t.name() == "message_ids"), "the old table is gone");
}

async fn watermarks_never_move_back(s: Under) {
    assert_eq!(s.store.watermark("chat-messages/0").await.unwrap(), 0);
    s.store.set_watermark("chat-messages/0", 40).await.unwrap();
    s.store.set_watermark("chat-messages/0", 12).await.unwrap();
    s.store.set_watermark("chat-messages/1", 3).await.unwrap();
    assert_eq!(s.store.watermark("chat-messages/0").await.unwrap(), 40, "a late writer does not move it back");
    assert_eq!(s.store.watermark("chat-messages/1").await.unwrap(), 3);
}

async fn read_marks_are_per_member_never_move_back_and_old_ones_go(s: Under) {
    let (aria, bo) = (MemberId("aria".into()), MemberId("bo".into()));
    assert!(s.reads.read_marks(&aria).await.unwrap().is_empty());
    assert_eq!(s.reads.mark_read(&aria, &room(1), 7, 1_000).await.unwrap(), 7);
    assert_eq!(s.reads.mark_read(&aria, &room(1), 5, 2_000).await.unwrap(), 7, "never back");
    assert_eq!(s.reads.mark_read(&aria, &room(2), 3, 1_000).await.unwrap(), 3);
    assert_eq!(s.reads.mark_read(&bo, &room(1), 1, 1_000).await.unwrap(), 1);
    let mut marks = s.reads.read_marks(&aria).await.unwrap();
    marks.sort();
    assert_eq!(marks, vec![(room(1), 7), (room(2), 3)], "Aria's own marks only");
    // Room 1's mark moved at 2000 (a stale tab's report still counts as use); the rest at 1000.
    assert_eq!(s.reads.forget_reads(1_500).await.unwrap(), 2);
    assert_eq!(s.reads.read_marks(&aria).await.unwrap(), vec![(room(1), 7)]);
    assert!(s.reads.read_marks(&bo).await.unwrap().is_empty());
}

fn account(name: &str) -> AccountRecord {
    AccountRecord {
        member_id: MemberId(format!("member-{name}")),
        name: name.into(),
        nickname: name.to_uppercase(),
        password_hash: "$argon2id$...".into(),
        created_at: "2026-11-28T20:00:00.000Z".into(),
    }
}

async fn accounts_have_unique_names(s: Under) {
    assert!(s.accounts.create_account(account("aria")).await.unwrap());
    assert!(!s.accounts.create_account(account("aria")).await.unwrap(), "the name is taken");
    let found = s.accounts.account("aria").await.unwrap().unwrap();
    assert_eq!((found.member_id, found.nickname), (MemberId("member-aria".into()), "ARIA".into()));
    assert!(s.accounts.account("bo").await.unwrap().is_none());
}

async fn refresh_tokens_rotate_once_and_reuse_is_seen(s: Under) {
    let now = 1_800_000_000;
    let record = RefreshRecord {
        member_id: MemberId("m1".into()),
        nickname: "Aria".into(),
        family: "fam-1".into(),
        expires_at: now + 100,
        used: false,
        used_at: 0,
    };
    let renew = |next: Option<&str>, now: u64| Renewal { next_hash: next.map(str::to_owned), now, ttl: 100, grace: 5 };
    s.accounts.put_refresh("h1".into(), record).await.unwrap();
    let first = s.accounts.rotate_refresh("h1".into(), renew(Some("h2"), now)).await.unwrap();
    assert!(matches!(first, Rotation::Rotated(ref r) if r.family == "fam-1"));
    // A second tab within the grace window gets a sibling successor; the family lives on.
    let raced = s.accounts.rotate_refresh("h1".into(), renew(Some("h3"), now + 4)).await.unwrap();
    assert!(matches!(raced, Rotation::Raced(ref r) if r.family == "fam-1"), "{raced:?}");
    let sibling = s.accounts.rotate_refresh("h3".into(), renew(Some("h4"), now + 4)).await.unwrap();
    assert!(matches!(sibling, Rotation::Rotated(_)), "the sibling is live: {sibling:?}");
    let again = s.accounts.rotate_refresh("h1".into(), renew(Some("h5"), now + 5)).await.unwrap();
    assert!(matches!(again, Rotation::Reused(ref r) if r.family == "fam-1"), "{again:?}");
    assert!(matches!(s.accounts.rotate_refresh("h5".into(), renew(None, now)).await.unwrap(), Rotation::Invalid));
    assert!(matches!(s.accounts.rotate_refresh("nope".into(), renew(None, now)).await.unwrap(), Rotation::Invalid));
    let late = s.accounts.rotate_refresh("h2".into(), renew(None, now + 101)).await.unwrap();
    assert!(matches!(late, Rotation::Invalid), "expired");
    s.accounts.revoke_family("fam-1".into(), now + 1000).await.unwrap();
    let revoked = s.accounts.rotate_refresh("h2".into(), renew(None, now)).await.unwrap();
    assert!(matches!(revoked, Rotation::Invalid), "its family was revoked: {revoked:?}");
}

async fn revocations_are_kept_until_they_expire(s: Under) {
    s.accounts.revoke_access("jti-1".into(), 2_000).await.unwrap();
    s.accounts.revoke_access("jti-2".into(), 1_000).await.unwrap();
    let mut live = s.accounts.revoked_access(1_500).await.unwrap();
    live.sort();
    assert_eq!(live, vec![("jti-1".to_owned(), 2_000)]);
}
