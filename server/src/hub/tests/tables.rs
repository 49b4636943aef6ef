//! Memory given back: every per-key table of the hub empties once its keys are gone.

use std::time::Duration;

use dungeontalk_app::wire::RoomId;

use super::super::feed::{Feed, OnLag};
use super::{actor, hub_with};
use crate::config::Settings;

/// Every per-key table of the hub (rings, notification channels, connection counts, presence,
/// rate buckets, game leases, the matching queue) gives its entries back once the keys'
/// connections are gone.
#[tokio::test]
async fn every_per_key_table_empties_when_its_keys_go() {
    let refill_at_once = Settings {
        membership_rate_per_sec: 1e6,
        membership_burst: 1.0,
        typing_rate_per_sec: 1e6,
        typing_burst: 1.0,
        ..Settings::default()
    };
    let f = hub_with(64, refill_at_once).await;
    let stop = tokio_util::sync::CancellationToken::new();
    let mut held = Vec::new();
    for n in 0..50 {
        let (room, who) = (RoomId(format!("room-{n}")), actor(n));
        let attendance = f.hub.attend(&room, &who, Duration::ZERO, &stop).await.unwrap();
        let feed = Feed::open(&f.hub, &room, &who.member_id, 500, OnLag::Report);
        let notifications = f.hub.notifications(&who).await;
        f.hub.admit(&who, crate::cluster::Kind::Membership).await.unwrap();
        f.hub.admit(&who, crate::cluster::Kind::Typing).await.unwrap();
        // A game's lease and a place in the matching queue go at their time.
        let lease = Duration::from_secs(1);
        assert!(f.hub.cluster().leases.hold(&format!("game:{room}"), "node", lease).await.unwrap());
        let world = dungeontalk_app::wire::WorldType::Fantasy;
        f.hub.cluster().queue.enqueue(world, &who, 100, lease).await.unwrap();
        held.push((attendance, feed, notifications));
    }
    for (table, n) in f.hub.tables() {
        assert!(n >= 50, "{table} holds every key: {n}");
    }
    drop(held);
    let mut tables = f.hub.tables();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        // The regular tick: sweeps full buckets and closed notification channels.
        f.hub.expire_idle().await;
        tables = f.hub.tables();
        if tables.iter().all(|(_, n)| *n == 0) {
            return;
        }
    }
    panic!("tables kept entries: {tables:?}");
}
