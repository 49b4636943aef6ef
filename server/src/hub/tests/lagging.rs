//! A store that lags behind the log, as Kafka's does: readers wait for it and never read past
//! the point where it is whole.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dungeontalk_app::wire::{MemberId, RoomId};

use super::super::feed::{Feed, OnLag};
use super::super::rooms::RingSize;
use super::super::{Delivery, Hub, HubLimits};
use super::{actor, next_event, room};
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::model::{Inbox, Revoked, StoredEvent};
use crate::store::Store;
use crate::store::disk::DiskStore;

/// A log whose store lags behind it, as Kafka's does: this node has handed over events through
/// `position`, but the store holds them only through `durable`.
struct LaggingLog {
    position: AtomicU64,
    durable: AtomicU64,
}

#[async_trait::async_trait]
impl crate::log::RoomLog for LaggingLog {
    async fn enqueue(&self, _: crate::model::Draft) -> Result<crate::log::Pending, crate::log::LogError> {
        Err(crate::log::LogError::Stopped)
    }
    fn position(&self, _: &RoomId) -> u64 {
        self.position.load(Ordering::SeqCst)
    }
    async fn durable_through(&self, _: &RoomId) -> Result<u64, crate::log::LogError> {
        Ok(self.durable.load(Ordering::SeqCst))
    }
    async fn ping(&self) -> Result<(), crate::log::LogError> {
        Ok(())
    }
}

fn sealed(seq: u64) -> Arc<StoredEvent> {
    let body = crate::model::EventBody::Join { member_id: MemberId(format!("m{seq}")), nickname: "P".into() };
    Arc::new(StoredEvent::seal(crate::model::Draft::new(room(), body), seq))
}

/// A hub over a store holding `stored` and a log delivered through `position`, whose store is
/// whole through `durable`.
struct Lagging {
    disk: Arc<DiskStore>,
    log: Arc<LaggingLog>,
    delivery: Arc<Delivery>,
    hub: Hub,
    _dir: tempfile::TempDir,
}

async fn lagging(stored: &[u64], position: u64, durable: u64) -> Lagging {
    let dir = tempfile::tempdir().unwrap();
    let disk = Arc::new(DiskStore::open(dir.path()).unwrap());
    disk.insert(stored.iter().copied().map(sealed).collect()).await.unwrap();
    let log = Arc::new(LaggingLog { position: AtomicU64::new(position), durable: AtomicU64::new(durable) });
    let metrics = Arc::new(Metrics::new());
    let delivery = Arc::new(Delivery::new(RingSize::fixed(64), 64, Arc::new(Revoked::default()), metrics.clone()));
    let settings = Settings::default();
    let cluster = crate::cluster::local::cluster(&settings, delivery.clone(), disk.clone());
    let hub = Hub::new(disk.clone(), log.clone(), cluster, &delivery, HubLimits::from_settings(&settings), metrics);
    Lagging { disk, log, delivery, hub, _dir: dir }
}

#[tokio::test]
async fn a_reader_waits_for_the_store_to_hold_what_its_ring_lacks() {
    // Events 8..=10 are on the log and were delivered before this reader came; not stored yet.
    let Lagging { disk, log, delivery, hub, _dir } = lagging(&[1, 2, 3, 4, 5, 6, 7], 10, 7).await;
    let mut feed = Feed::open(&hub, &room(), &actor(1).member_id, 500, OnLag::CatchUp);
    feed.resume(0);
    let persister = {
        let (disk, log) = (disk.clone(), log.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            disk.insert((8..=10).map(sealed).collect()).await.unwrap();
            log.durable.store(10, Ordering::SeqCst);
        })
    };
    let mut got = Vec::new();
    for _ in 0..10 {
        got.push(next_event(&mut feed).await.seq);
    }
    assert_eq!(got, (1..=10).collect::<Vec<_>>(), "the reader waited for 8..=10 instead of skipping them");
    delivery.event(sealed(11));
    assert_eq!(next_event(&mut feed).await.seq, 11, "then live");
    persister.await.unwrap();
}

/// The store group's batch is half written (12 before 11) while the watermark and this node's
/// reader stand at 10: neither a catching-up reader nor a history page may take 12 from the store.
#[tokio::test]
async fn nothing_past_the_point_where_the_store_is_whole_is_read_from_it() {
    let held: Vec<u64> = (1..=10).chain([12]).collect();
    let Lagging { delivery, hub, .. } = lagging(&held, 10, 10).await;
    let mut feed = Feed::open(&hub, &room(), &actor(1).member_id, 500, OnLag::CatchUp);
    feed.resume(0);
    let mut got = Vec::new();
    for _ in 0..10 {
        got.push(next_event(&mut feed).await.seq);
    }
    delivery.event(sealed(11));
    delivery.event(sealed(12));
    got.push(next_event(&mut feed).await.seq);
    got.push(next_event(&mut feed).await.seq);
    assert_eq!(got, (1..=12).collect::<Vec<_>>(), "11 came from the ring, not skipped");

    let page = hub.history_after(&room(), 8, 50).await.unwrap();
    let seqs: Vec<u64> = page.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [9, 10], "GET ?after= stops at the watermark; the next page resumes from 10");
    let page = hub.history_before(&room(), u64::MAX, 3).await.unwrap();
    let seqs: Vec<u64> = page.events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [10, 9, 8], "the newest page too: 12 waits for 11");
    assert!(page.more);
}
