//! This node's receiving end: what the log and the cluster channel hand over goes into the rooms'
//! rings and the members' notification streams.

use std::sync::Arc;

use dungeontalk_app::wire::{MemberId, Notification};

use super::latest::Latest;
use super::notify::Notifier;
use super::rooms::{RingSize, Rooms};
use crate::metrics::Metrics;
use crate::model::{Inbox, Revoked, StoredEvent, now_ms};

/// The rings, the notification streams and the revocation list of this node.
pub struct Delivery {
    rooms: Arc<Rooms>,
    notifier: Arc<Notifier>,
    latest: Arc<Latest>,
    revoked: Arc<Revoked>,
    metrics: Arc<Metrics>,
}

impl Delivery {
    /// Rings sized by `ring`, notification streams that may fall `notify_queue_len` behind.
    pub fn new(ring: RingSize, notify_queue_len: usize, revoked: Arc<Revoked>, metrics: Arc<Metrics>) -> Delivery {
        Delivery {
            rooms: Arc::new(Rooms::new(ring, metrics.clone())),
            notifier: Arc::new(Notifier::new(notify_queue_len)),
            latest: Arc::default(),
            revoked,
            metrics,
        }
    }

    /// The rooms' rings.
    pub fn rooms(&self) -> &Arc<Rooms> {
        &self.rooms
    }

    /// The members' notification streams.
    pub fn notifier(&self) -> &Arc<Notifier> {
        &self.notifier
    }

    /// Each room's newest event and line.
    pub fn latest(&self) -> &Arc<Latest> {
        &self.latest
    }
}

impl Inbox for Delivery {
    fn event(&self, event: Arc<StoredEvent>) {
        self.metrics.events_received.inc();
        if event.born_ms > 0 {
            let ms = now_ms().saturating_sub(event.born_ms);
            self.metrics.append_to_deliver.observe(ms as f64 / 1000.0);
        }
        self.notifier.on_event(&event);
        self.latest.on_event(&event);
        self.rooms.push(event);
    }

    fn ephemeral(&self, event: Arc<StoredEvent>) {
        self.rooms.push(event);
    }

    fn notify(&self, member: &MemberId, notification: &Notification) -> bool {
        self.notifier.send(member, notification)
    }

    fn revoked(&self, jti: &str, exp: u64) {
        self.revoked.insert(jti, exp);
    }
}
