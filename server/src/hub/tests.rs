//! The hub against the real embedded store: ordering, idempotency, the bounded queue, membership.

use std::sync::Arc;

use dungeontalk_app::wire::{ErrorCode, MemberId, RoomId, ServerFrame};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::fanout::Fanout;
use super::notify::Notifier;
use super::{Actor, Hub, HubError, HubLimits};
use crate::bus::LocalBus;
use crate::store::RoomRecord;
use crate::store::disk::DiskStore;

struct Fixture {
    hub: Arc<Hub>,
    _dir: tempfile::TempDir,
}

fn hub(queue_len: usize) -> Fixture {
    hub_with(queue_len, HubLimits { write_batch_max: 64, rate_per_sec: 1e6, rate_burst: 1e6, ..test_limits() })
}

fn hub_with(queue_len: usize, limits: HubLimits) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DiskStore::open(dir.path()).unwrap());
    let fanout = Arc::new(Fanout::new(queue_len));
    let notifier = Arc::new(Notifier::new(16));
    let bus = Arc::new(LocalBus::new(fanout.clone(), notifier.clone()));
    let (hub, _writer) = Hub::start(store, bus, fanout, notifier, limits);
    Fixture { hub: Arc::new(hub), _dir: dir }
}

fn actor(n: u32) -> Actor {
    Actor { member_id: MemberId(format!("m{n}")), nickname: format!("Player{n}") }
}

fn room() -> RoomId {
    RoomId("room-1".into())
}

fn test_limits() -> HubLimits {
    HubLimits::from_settings(&crate::config::Settings::default())
}

/// The room's record (player room, unlimited).
fn rec() -> RoomRecord {
    RoomRecord {
        room_id: room(),
        name: "Hall".into(),
        max_capacity: 0,
        created_by: MemberId("m1".into()),
        created_at: String::new(),
        room_type: Default::default(),
        private: false,
        allowed: Vec::new(),
    }
}

fn frame(json: &str) -> ServerFrame {
    serde_json::from_str(json).unwrap()
}

#[tokio::test]
async fn concurrent_talks_get_gap_free_seqs_in_publish_order() {
    let f = hub(1024);
    let mut rx = f.hub.subscribe(&room());
    let mut tasks = Vec::new();
    for who in 0..4 {
        let hub = f.hub.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                hub.talk(&rec(), &actor(who), format!("{who}:{i}"), None, None).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut per_sender_order = std::collections::HashMap::<String, Vec<u32>>::new();
    for expected in 1..=200u64 {
        let event = rx.recv().await.unwrap();
        assert_eq!(event.seq, expected, "subscribers see seqs in order with no gap");
        let ServerFrame::Talk(t) = frame(&event.json) else { panic!("not a talk") };
        assert_eq!(t.seq, expected, "the stored JSON carries the same seq");
        let (who, i) = t.content.split_once(':').unwrap();
        per_sender_order.entry(who.into()).or_default().push(i.parse().unwrap());
    }
    for (who, order) in per_sender_order {
        assert_eq!(order, (0..50).collect::<Vec<_>>(), "sender {who}'s messages kept their order");
    }
    let stored = f.hub.store().after(&room(), 0, 1000).await.unwrap();
    assert_eq!(stored.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=200).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_repeated_message_id_is_stored_and_published_once() {
    let f = hub(16);
    let mut rx = f.hub.subscribe(&room());
    let id = Uuid::now_v7();
    let first = f.hub.talk(&rec(), &actor(1), "once".into(), Some(id), None).await.unwrap();
    let again = f.hub.talk(&rec(), &actor(1), "once".into(), Some(id), None).await.unwrap();
    assert!(!first.appended.duplicate && again.appended.duplicate);
    assert_eq!(first.appended.event.seq, again.appended.event.seq);
    f.hub.talk(&rec(), &actor(1), "next".into(), None, None).await.unwrap();
    assert_eq!(rx.recv().await.unwrap().seq, 1);
    assert_eq!(rx.recv().await.unwrap().seq, 2, "the duplicate was not published");
    assert_eq!(f.hub.store().after(&room(), 0, 10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_retried_message_costs_no_rate_token() {
    let f = hub_with(16, HubLimits { rate_per_sec: 0.001, rate_burst: 1.0, ..test_limits() });
    let hub = &f.hub;
    let id = Uuid::now_v7();
    let first = hub.talk(&rec(), &actor(1), "once".into(), Some(id), None).await.unwrap();
    let retried = hub.talk(&rec(), &actor(1), "once".into(), Some(id), None).await.unwrap();
    assert_eq!(retried.appended.event.seq, first.appended.event.seq, "answered with the stored message");
    let new = hub.talk(&rec(), &actor(1), "another".into(), None, None).await;
    assert!(matches!(new, Err(HubError::Refused(ref e)) if e.code == ErrorCode::RateLimited), "{new:?}");
}

#[tokio::test]
async fn a_retry_that_took_a_token_gives_it_back() {
    let f = hub_with(16, HubLimits { rate_per_sec: 0.001, rate_burst: 2.0, ..test_limits() });
    let id = Uuid::now_v7();
    f.hub.talk(&rec(), &actor(1), "once".into(), Some(id), None).await.unwrap();
    f.hub.talk(&rec(), &actor(1), "once".into(), Some(id), None).await.unwrap();
    f.hub.talk(&rec(), &actor(1), "second".into(), None, None).await.expect("the retry's token came back");
    let third = f.hub.talk(&rec(), &actor(1), "third".into(), None, None).await;
    assert!(matches!(third, Err(HubError::Refused(ref e)) if e.code == ErrorCode::RateLimited), "{third:?}");
}

#[tokio::test]
async fn a_subscriber_that_falls_a_queue_behind_is_told_how_far() {
    let f = hub(4);
    let mut slow = f.hub.subscribe(&room());
    for i in 0..10 {
        f.hub.talk(&rec(), &actor(1), format!("m{i}"), None, None).await.unwrap();
    }
    match slow.recv().await {
        Err(RecvError::Lagged(skipped)) => assert_eq!(skipped, 6, "only the last 4 events stay queued"),
        other => panic!("expected a lag, got {other:?}"),
    }
    let rest: Vec<u64> = [(); 4].iter().map(|_| slow.try_recv().unwrap().seq).collect();
    assert_eq!(rest, vec![7, 8, 9, 10], "after the lag it continues with what is queued");
    // What it missed is still in the store, where RESYNC sends the client.
    let missed = f.hub.store().after(&room(), 0, 6).await.unwrap();
    assert_eq!(missed.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6]);
}

#[tokio::test]
async fn content_limits_are_enforced_with_codes() {
    let f = hub(16);
    let empty = f.hub.talk(&rec(), &actor(1), "   ".into(), None, None).await;
    assert!(matches!(empty, Err(HubError::Invalid(dungeontalk_app::wire::ErrorCode::EmptyMessage, _))));
    let long = f.hub.talk(&rec(), &actor(1), "가".repeat(2001), None, None).await;
    assert!(matches!(long, Err(HubError::Invalid(dungeontalk_app::wire::ErrorCode::MessageTooLong, _))));
    assert!(f.hub.talk(&rec(), &actor(1), "가".repeat(2000), None, None).await.is_ok(), "the limit counts characters");
    let whisper = f.hub.talk(&rec(), &actor(1), "psst".into(), None, Some(MemberId("m2".into()))).await;
    assert!(
        matches!(whisper, Err(HubError::Invalid(dungeontalk_app::wire::ErrorCode::ReceiverNotFound, _))),
        "a whisper needs its receiver in the room"
    );
    assert_eq!(f.hub.store().after(&room(), 0, 10).await.unwrap().len(), 1, "only the valid message was stored");
}

#[tokio::test]
async fn join_and_leave_are_idempotent_and_the_last_disconnect_leaves() {
    let f = hub(16);
    let (a, r) = (actor(1), room());
    f.hub.connect(&r, &a);
    f.hub.connect(&r, &a);
    assert!(f.hub.join(&rec(), &a).await.unwrap().is_some());
    assert!(f.hub.join(&rec(), &a).await.unwrap().is_none(), "a second JOIN stores nothing");
    assert_eq!(f.hub.connected_count(&r), 1, "two tabs of one member count once");
    f.hub.disconnect(&r, &a).await.unwrap();
    assert_eq!(f.hub.store().after(&r, 0, 10).await.unwrap().len(), 1, "one tab closing is no LEAVE");
    f.hub.disconnect(&r, &a).await.unwrap();
    let events = f.hub.store().after(&r, 0, 10).await.unwrap();
    assert!(matches!(frame(&events[1].json), ServerFrame::Leave(_)), "the last tab closing leaves");
    assert_eq!(f.hub.connected_count(&r), 0);
    assert!(f.hub.leave(&r, &a).await.unwrap().is_none(), "LEAVE when not in the room stores nothing");
}

/// A store whose appends always fail, as when the disk is full.
struct BrokenStore;

#[async_trait::async_trait]
impl crate::store::Store for BrokenStore {
    async fn create_room(&self, _: crate::store::RoomRecord) -> Result<(), crate::store::StoreError> {
        Ok(())
    }
    async fn update_room(&self, _: crate::store::RoomRecord) -> Result<(), crate::store::StoreError> {
        Err(crate::store::StoreError("disk on fire".into()))
    }
    async fn rooms(&self) -> Result<Vec<crate::store::RoomRecord>, crate::store::StoreError> {
        Ok(Vec::new())
    }
    async fn room(&self, _: &RoomId) -> Result<Option<crate::store::RoomRecord>, crate::store::StoreError> {
        Ok(None)
    }
    async fn append(&self, _: Vec<super::Draft>) -> Result<Vec<super::Appended>, crate::store::StoreError> {
        Err(crate::store::StoreError("disk full".into()))
    }
    async fn message_seq(&self, _: &RoomId, _: Uuid) -> Result<Option<u64>, crate::store::StoreError> {
        Ok(None)
    }
    async fn after(&self, _: &RoomId, _: u64, _: usize) -> Result<Vec<super::StoredEvent>, crate::store::StoreError> {
        Ok(Vec::new())
    }
    async fn before(&self, _: &RoomId, _: u64, _: usize) -> Result<Vec<super::StoredEvent>, crate::store::StoreError> {
        Ok(Vec::new())
    }
    async fn ping(&self) -> Result<(), crate::store::StoreError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_join_that_could_not_be_stored_can_be_retried() {
    let fanout = Arc::new(Fanout::new(4));
    let notifier = Arc::new(Notifier::new(16));
    let bus = Arc::new(LocalBus::new(fanout.clone(), notifier.clone()));
    let limits = HubLimits { write_batch_max: 8, write_queue_len: 8, ..test_limits() };
    let (hub, _writer) = Hub::start(Arc::new(BrokenStore), bus, fanout, notifier, limits);
    let mut rx = hub.subscribe(&room());
    assert!(matches!(hub.join(&rec(), &actor(1)).await, Err(HubError::Store(_))));
    assert!(rx.try_recv().is_err(), "nothing unstored is published");
    assert!(
        matches!(hub.join(&rec(), &actor(1)).await, Err(HubError::Store(_))),
        "the retry reaches the store again instead of being ignored as a repeat"
    );
}

#[tokio::test]
async fn a_feed_that_lags_catches_up_from_the_store_or_reports_it() {
    use super::feed::{Feed, Item, OnLag};
    let f = hub(4);
    let mut catch_up = Feed::open(&f.hub, &room(), &actor(1).member_id, 3, OnLag::CatchUp);
    let mut report = Feed::open(&f.hub, &room(), &actor(1).member_id, 3, OnLag::Report);
    catch_up.resume(0);
    report.resume(0);
    // Both feeds read nothing while 20 events pass through a ring of 4.
    for i in 0..20 {
        f.hub.talk(&rec(), &actor(1), format!("m{i}"), None, None).await.unwrap();
    }
    let mut seqs = Vec::new();
    while seqs.len() < 20 {
        match catch_up.next().await.unwrap() {
            Item::Event(e) => seqs.push(e.seq),
            Item::Lagged { .. } => panic!("a catch-up feed never reports lag"),
        }
    }
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>(), "every event once, in order, through 3-event store pages");
    // A reporting feed first replays what the store has (it resumed at 0), so it does not lag here;
    // one that starts live and falls behind reports where it stopped.
    let mut live = Feed::open(&f.hub, &room(), &actor(1).member_id, 3, OnLag::Report);
    live.recent(0).await.unwrap();
    assert_eq!(live.last(), 20);
    for i in 0..10 {
        f.hub.talk(&rec(), &actor(1), format!("late{i}"), None, None).await.unwrap();
    }
    assert!(matches!(live.next().await.unwrap(), Item::Lagged { after: 20 }));
    let Item::Event(e) = live.next().await.unwrap() else { panic!("after the lag report: live events") };
    assert!(e.seq > 21, "the reader was told to fetch the gap itself, so it is not filled: {}", e.seq);
    let mut replayed = Vec::new();
    while let Ok(item) = tokio::time::timeout(std::time::Duration::from_millis(50), report.next()).await {
        match item.unwrap() {
            Item::Event(e) => replayed.push(e.seq),
            Item::Lagged { after } => panic!("a feed that caught up from the store is not behind (after {after})"),
        }
    }
    assert_eq!(replayed, (1..=30).collect::<Vec<_>>(), "the resumed feed saw all 30 events, then waited");
}

#[tokio::test]
async fn the_sse_encoding_is_made_once_and_shared() {
    let f = hub(16);
    let mut rx = f.hub.subscribe(&room());
    f.hub.talk(&rec(), &actor(1), "hi\nthere".into(), None, None).await.unwrap();
    let event = rx.recv().await.unwrap();
    let (a, b) = (event.sse(), event.sse());
    assert_eq!(a.as_ptr(), b.as_ptr(), "the second reader gets the same bytes");
    let text = std::str::from_utf8(&a).unwrap();
    assert!(text.starts_with("id: 1\nevent: talk\ndata: {"), "{text}");
    assert_eq!(text.matches('\n').count(), 4, "a newline in the content stays escaped in one data line");
}
