//! The hub against the real embedded store and log: ordering, idempotency, the bounded ring,
//! membership.

use std::sync::Arc;
use std::time::Duration;

use dungeontalk_app::wire::{ErrorCode, MemberId, RoomId, ServerFrame};
use uuid::Uuid;

use super::feed::{Feed, Item, OnLag};
use super::rooms::RingSize;
use super::{Delivery, Hub, HubError, HubLimits};
use crate::config::Settings;
use crate::log::local::LocalLog;
use crate::metrics::Metrics;
use crate::model::{Actor, Revoked, RoomRecord, StoredEvent};
use crate::store::Store;
use crate::store::disk::DiskStore;

struct Fixture {
    hub: Arc<Hub>,
    _dir: tempfile::TempDir,
}

async fn hub(queue_len: usize) -> Fixture {
    hub_with(queue_len, Settings { write_batch_max: 64, rate_per_sec: 1e6, rate_burst: 1e6, ..Settings::default() })
        .await
}

async fn hub_with(queue_len: usize, settings: Settings) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let disk = Arc::new(DiskStore::open(dir.path()).unwrap());
    Fixture { hub: hub_on(disk.clone(), disk, queue_len, settings).await, _dir: dir }
}

async fn hub_on(
    store: Arc<dyn Store>,
    accounts: Arc<dyn crate::store::accounts::AccountStore>,
    queue_len: usize,
    settings: Settings,
) -> Arc<Hub> {
    let metrics = Arc::new(Metrics::new());
    let delivery =
        Arc::new(Delivery::new(RingSize::fixed(queue_len), queue_len, Arc::new(Revoked::default()), metrics.clone()));
    let batch =
        crate::log::local::BatchLimits { queue_len: 8, ..crate::log::local::BatchLimits::from_settings(&settings) };
    let (log, _writer) = LocalLog::start(store.clone(), delivery.clone(), metrics.clone(), batch).await.unwrap();
    let cluster = crate::cluster::local::cluster(&settings, delivery.clone(), accounts);
    Arc::new(Hub::new(store, Arc::new(log), cluster, &delivery, HubLimits::from_settings(&settings), metrics))
}

/// Talking takes a seat: these players get one in the test room, in the shared state only, so no
/// JOIN events move the seqs the tests count.
async fn seat(hub: &Hub, players: impl IntoIterator<Item = u32>) {
    for n in players {
        hub.cluster().presence.join(&room(), &actor(n), 0).await.unwrap();
    }
}

fn actor(n: u32) -> Actor {
    Actor { member_id: MemberId(format!("m{n}")), nickname: format!("Player{n}") }
}

fn room() -> RoomId {
    RoomId("room-1".into())
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
        game: None,
    }
}

fn frame(json: &str) -> ServerFrame {
    serde_json::from_str(json).unwrap()
}

/// A live reader of the room from now on (what a WebSocket without `after` gets, minus history).
async fn live(hub: &Hub, on_lag: OnLag) -> Feed {
    let mut feed = Feed::open(hub, &room(), &actor(99).member_id, 500, on_lag);
    feed.recent(0).await.unwrap();
    feed
}

/// The next room event of a feed (skipping presence frames), within 5 s.
async fn next_event(feed: &mut Feed) -> Arc<StoredEvent> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), feed.next()).await.expect("an event in time").unwrap() {
            Item::Event(e) if !e.is_ephemeral() => return e,
            Item::Event(_) => {}
            Item::Lagged { after } => panic!("lagged after {after}"),
        }
    }
}

#[tokio::test]
async fn concurrent_talks_get_gap_free_seqs_in_publish_order() {
    let f = hub(1024).await;
    seat(&f.hub, 0..4).await;
    let mut rx = live(&f.hub, OnLag::Report).await;
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
        let event = next_event(&mut rx).await;
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
    let f = hub(16).await;
    seat(&f.hub, [1]).await;
    let mut rx = live(&f.hub, OnLag::Report).await;
    let id = Uuid::now_v7();
    let first = f.hub.talk(&rec(), &actor(1), "once".into(), Some(id), None).await.unwrap();
    let again = f.hub.talk(&rec(), &actor(1), "once".into(), Some(id), None).await.unwrap();
    assert!(!first.appended.duplicate() && again.appended.duplicate());
    assert_eq!(first.appended.seq, again.appended.seq);
    assert_eq!(again.appended.message_id, Some(id), "the repeat is answered with its messageId");
    f.hub.talk(&rec(), &actor(1), "next".into(), None, None).await.unwrap();
    assert_eq!(next_event(&mut rx).await.seq, 1);
    assert_eq!(next_event(&mut rx).await.seq, 2, "the duplicate was not published");
    assert_eq!(f.hub.store().after(&room(), 0, 10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_retried_message_costs_no_rate_token() {
    let f = hub_with(16, Settings { rate_per_sec: 0.001, rate_burst: 1.0, ..Settings::default() }).await;
    seat(&f.hub, [1]).await;
    let hub = &f.hub;
    let id = Uuid::now_v7();
    let first = hub.talk(&rec(), &actor(1), "once".into(), Some(id), None).await.unwrap();
    let retried = hub.talk(&rec(), &actor(1), "once".into(), Some(id), None).await.unwrap();
    assert_eq!(retried.appended.seq, first.appended.seq, "answered with the stored message");
    let new = hub.talk(&rec(), &actor(1), "another".into(), None, None).await;
    assert!(matches!(new, Err(HubError::Refused(ref e)) if e.code == ErrorCode::RateLimited), "{new:?}");
}

#[tokio::test]
async fn a_retry_that_took_a_token_gives_it_back() {
    let f = hub_with(16, Settings { rate_per_sec: 0.001, rate_burst: 2.0, ..Settings::default() }).await;
    seat(&f.hub, [1]).await;
    let id = Uuid::now_v7();
    f.hub.talk(&rec(), &actor(1), "once".into(), Some(id), None).await.unwrap();
    f.hub.talk(&rec(), &actor(1), "once".into(), Some(id), None).await.unwrap();
    f.hub.talk(&rec(), &actor(1), "second".into(), None, None).await.expect("the retry's token came back");
    let third = f.hub.talk(&rec(), &actor(1), "third".into(), None, None).await;
    assert!(matches!(third, Err(HubError::Refused(ref e)) if e.code == ErrorCode::RateLimited), "{third:?}");
}

#[tokio::test]
async fn content_limits_are_enforced_with_codes() {
    let f = hub(16).await;
    seat(&f.hub, [1]).await;
    let empty = f.hub.talk(&rec(), &actor(1), "   ".into(), None, None).await;
    assert!(matches!(empty, Err(HubError::Invalid(ErrorCode::EmptyMessage, _))));
    let long = f.hub.talk(&rec(), &actor(1), "가".repeat(2001), None, None).await;
    assert!(matches!(long, Err(HubError::Invalid(ErrorCode::MessageTooLong, _))));
    assert!(f.hub.talk(&rec(), &actor(1), "가".repeat(2000), None, None).await.is_ok(), "the limit counts characters");
    let whisper = f.hub.talk(&rec(), &actor(1), "psst".into(), None, Some(MemberId("m2".into()))).await;
    assert!(
        matches!(whisper, Err(HubError::Invalid(ErrorCode::ReceiverNotFound, _))),
        "a whisper needs its receiver in the room"
    );
    assert_eq!(f.hub.store().after(&room(), 0, 10).await.unwrap().len(), 1, "only the valid message was stored");
}

#[tokio::test]
async fn join_and_leave_are_idempotent_and_the_last_disconnect_leaves() {
    let f = hub(16).await;
    let (a, r) = (actor(1), room());
    f.hub.connect(&r, &a).await;
    f.hub.connect(&r, &a).await;
    assert!(f.hub.join(&rec(), &a).await.unwrap().is_some());
    assert!(f.hub.join(&rec(), &a).await.unwrap().is_none(), "a second JOIN stores nothing");
    assert_eq!(f.hub.connected_counts(std::slice::from_ref(&r)).await, [1], "two tabs of one member count once");
    f.hub.disconnect(&r, &a).await.unwrap();
    assert_eq!(f.hub.store().after(&r, 0, 10).await.unwrap().len(), 1, "one tab closing is no LEAVE");
    f.hub.disconnect(&r, &a).await.unwrap();
    let events = f.hub.store().after(&r, 0, 10).await.unwrap();
    assert!(matches!(frame(&events[1].json), ServerFrame::Leave(_)), "the last tab closing leaves");
    assert_eq!(f.hub.connected_counts(std::slice::from_ref(&r)).await, [0]);
    assert!(f.hub.leave(&r, &a).await.unwrap().is_none(), "LEAVE when not in the room stores nothing");
}

mod broken;
mod lagging;
mod tables;

#[tokio::test]
async fn a_join_that_could_not_be_stored_can_be_retried() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Arc::new(DiskStore::open(dir.path()).unwrap());
    let hub = hub_on(Arc::new(broken::BrokenStore), disk, 4, Settings::default()).await;
    let rx = live(&hub, OnLag::Report).await;
    assert!(matches!(hub.join(&rec(), &actor(1)).await, Err(HubError::Log(_))));
    assert!(!rx.ready(), "nothing unstored is published");
    assert!(
        matches!(hub.join(&rec(), &actor(1)).await, Err(HubError::Log(_))),
        "the retry reaches the store again instead of being ignored as a repeat"
    );
}

#[tokio::test]
async fn a_feed_that_lags_catches_up_from_the_store_or_reports_it() {
    let f = hub(4).await;
    seat(&f.hub, [1]).await;
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
    let mut live = live(&f.hub, OnLag::Report).await;
    assert_eq!(live.last(), 20);
    for i in 0..10 {
        f.hub.talk(&rec(), &actor(1), format!("late{i}"), None, None).await.unwrap();
    }
    assert!(matches!(live.next().await.unwrap(), Item::Lagged { after: 20 }));
    let Item::Event(e) = live.next().await.unwrap() else { panic!("after the lag report: live events") };
    assert!(e.seq > 21, "the reader was told to fetch the gap itself, so it is not filled: {}", e.seq);
    let mut replayed = Vec::new();
    while let Ok(item) = tokio::time::timeout(Duration::from_millis(50), report.next()).await {
        match item.unwrap() {
            Item::Event(e) => replayed.push(e.seq),
            Item::Lagged { after } => panic!("a feed that caught up from the store is not behind (after {after})"),
        }
    }
    assert_eq!(replayed, (1..=30).collect::<Vec<_>>(), "the resumed feed saw all 30 events, then waited");
}

#[tokio::test]
async fn a_live_reader_that_falls_out_of_the_ring_is_told_where_it_stopped() {
    let f = hub(4).await;
    seat(&f.hub, [1]).await;
    let mut reader = live(&f.hub, OnLag::Report).await;
    f.hub.talk(&rec(), &actor(1), "first".into(), None, None).await.unwrap();
    assert_eq!(next_event(&mut reader).await.seq, 1, "a live reader");
    for i in 0..10 {
        f.hub.talk(&rec(), &actor(1), format!("m{i}"), None, None).await.unwrap();
    }
    assert!(matches!(reader.next().await.unwrap(), Item::Lagged { after: 1 }));
    let Item::Event(e) = reader.next().await.unwrap() else { panic!("after the lag report: live events") };
    assert_eq!(e.seq, 8, "it goes on with what the ring holds; the client fetches 2..=7 itself");
}

#[tokio::test]
async fn readers_within_the_ring_need_no_store_read_and_rings_go_with_their_readers() {
    let f = hub(64).await;
    seat(&f.hub, [1]).await;
    let first = live(&f.hub, OnLag::Report).await;
    for i in 0..10 {
        f.hub.talk(&rec(), &actor(1), format!("m{i}"), None, None).await.unwrap();
    }
    // History on join comes from the ring while it holds enough.
    let mut joiner = Feed::open(&f.hub, &room(), &actor(2).member_id, 500, OnLag::Report);
    joiner.recent(5).await.unwrap();
    let mut seqs = Vec::new();
    for _ in 0..5 {
        seqs.push(next_event(&mut joiner).await.seq);
    }
    assert_eq!(seqs, [6, 7, 8, 9, 10]);
    assert_eq!(f.hub.rooms().len(), 1);
    drop((first, joiner));
    assert!(f.hub.rooms().is_empty(), "a ring without readers is dropped");
}

#[tokio::test]
async fn the_sse_encoding_is_made_once_and_shared() {
    let f = hub(16).await;
    seat(&f.hub, [1]).await;
    let mut rx = live(&f.hub, OnLag::Report).await;
    f.hub.talk(&rec(), &actor(1), "hi\nthere".into(), None, None).await.unwrap();
    let event = next_event(&mut rx).await;
    let (a, b) = (event.sse(), event.sse());
    assert_eq!(a.as_ptr(), b.as_ptr(), "the second reader gets the same bytes");
    let text = std::str::from_utf8(&a).unwrap();
    assert!(text.starts_with("id: 1\nevent: talk\ndata: {"), "{text}");
    assert_eq!(text.matches('\n').count(), 4, "a newline in the content stays escaped in one data line");
}
