//! The hub: rooms as every transport sees them, independent of transports and of backends.
//!
//! Appends go to the room log, which makes them durable and gives them their seq; every node's
//! log consumer hands every event to this node's [`Delivery`], which puts it in the room's ring
//! for the local readers. Ephemeral frames take the cluster's channel. The hub knows the
//! backends only by their traits.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dungeontalk_app::wire::{ErrorCode, MemberId, Notification};
use tokio::sync::broadcast;

use crate::cluster::{Cluster, ClusterError};
use crate::config::Settings;
use crate::log::{LogError, RoomLog};
use crate::metrics::Metrics;
use crate::model::{Actor, Appended, Draft, Refusal, StoredEvent};
use crate::profanity::{Filter, Mode};
use crate::store::{Store, StoreError};

mod access;
mod attendance;
mod delivery;
pub mod feed;
pub mod history;
pub mod latest;
mod members;
pub mod notify;
pub mod rooms;
mod talk;

pub use attendance::Attendance;
pub use delivery::Delivery;
pub use talk::{PendingSaid, Said};

use notify::Notifier;
use rooms::Rooms;

/// Why the hub refused or failed a request.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("{1}")]
    Invalid(ErrorCode, String),
    /// Refused with the full reason (e.g. a limit with its retry time).
    #[error("{0}")]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// Limits and policies the hub enforces on what clients say.
#[derive(Clone, Debug)]
pub struct HubLimits {
    pub max_content_chars: usize,
    pub profanity_player: Mode,
    pub profanity_game: Mode,
    /// A joined member idle this long leaves (SESSION_EXPIRED).
    pub chat_session: Duration,
    pub max_connections_per_member: usize,
    pub max_connections_per_room: usize,
}

impl HubLimits {
    /// The hub's share of the settings.
    pub fn from_settings(s: &Settings) -> HubLimits {
        HubLimits {
            max_content_chars: s.max_content_chars,
            profanity_player: s.profanity_player,
            profanity_game: s.profanity_game,
            chat_session: Duration::from_secs(s.chat_session_secs),
            max_connections_per_member: s.max_connections_per_member,
            max_connections_per_room: s.max_connections_per_room,
        }
    }
}

/// The hub: appends through the room log, reads through this node's rings.
pub struct Hub {
    store: Arc<dyn Store>,
    log: Arc<dyn RoomLog>,
    cluster: Cluster,
    rooms: Arc<Rooms>,
    notifier: Arc<Notifier>,
    latest: Arc<latest::Latest>,
    profanity: Filter,
    limits: HubLimits,
    metrics: Arc<Metrics>,
    /// Open connections on this node, per member and per room (for the caps).
    counts: std::sync::Mutex<attendance::Counts>,
}

impl Hub {
    /// A hub over these backends; `delivery` is the inbox the log and the channel feed.
    pub fn new(
        store: Arc<dyn Store>,
        log: Arc<dyn RoomLog>,
        cluster: Cluster,
        delivery: &Delivery,
        limits: HubLimits,
        metrics: Arc<Metrics>,
    ) -> Hub {
        Hub {
            store,
            log,
            cluster,
            rooms: delivery.rooms().clone(),
            notifier: delivery.notifier().clone(),
            latest: delivery.latest().clone(),
            profanity: Filter::standard(),
            limits,
            metrics,
            counts: Default::default(),
        }
    }

    /// The store behind this hub.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The room log behind this hub.
    pub fn log(&self) -> &Arc<dyn RoomLog> {
        &self.log
    }

    /// The shared state behind this hub.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// This node's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// This node's rings (rooms with readers here).
    pub fn rooms(&self) -> &Arc<Rooms> {
        &self.rooms
    }

    /// Each room's newest event and line as this node received them.
    pub fn latest(&self) -> &Arc<latest::Latest> {
        &self.latest
    }

    /// Entries of this node's per-key tables, by table: each has an eviction rule, and `/metrics`
    /// shows them so a leak is visible.
    pub fn tables(&self) -> [(&'static str, usize); 7] {
        [
            ("rings", self.rooms.len()),
            ("notify", self.notifier.len()),
            ("connections", self.counted_keys()),
            ("presence", self.cluster.presence.held()),
            ("limits", self.cluster.limits.held()),
            ("leases", self.cluster.leases.held()),
            ("match_queue", self.cluster.queue.held()),
        ]
    }

    /// Makes a draft durable through the log; returns once it is.
    pub async fn append(&self, draft: Draft) -> Result<Appended, HubError> {
        self.log.append(draft).await.map_err(|e| self.log_failed(e))
    }

    fn log_failed(&self, e: LogError) -> HubError {
        self.metrics.backend_errors.with_label_values(&["log"]).inc();
        HubError::from(e)
    }

    /// Publishes an ephemeral frame (presence, typing) to the room on every node.
    pub async fn publish(&self, event: StoredEvent) {
        if let Err(e) = self.cluster.channel.room(Arc::new(event)).await {
            self.metrics.backend_errors.with_label_values(&["redis"]).inc();
            tracing::warn!(error = %e, "ephemeral publish failed");
        }
    }

    /// Publishes a piece of the game master's answer to the room on every node.
    pub async fn narrate(&self, event: StoredEvent) {
        if let Err(e) = self.cluster.channel.narrate(Arc::new(event)).await {
            self.metrics.backend_errors.with_label_values(&["redis"]).inc();
            tracing::warn!(error = %e, "narration publish failed");
        }
    }

    /// The actor's notifications from now on (other nodes learn that this member listens here).
    pub async fn notifications(&self, actor: &Actor) -> broadcast::Receiver<Bytes> {
        let rx = self.notifier.subscribe(actor);
        if let Err(e) = self.cluster.channel.listening(std::slice::from_ref(&actor.member_id)).await {
            tracing::warn!(error = %e, "notification stream not announced");
        }
        rx
    }

    /// Whether the member has a notification stream open on this node.
    pub fn listens(&self, member: &MemberId) -> bool {
        self.notifier.listens(member)
    }

    /// Takes a token of `kind` for `actor` (JOIN/LEAVE, typing, invitations, new rooms), or
    /// refuses with `limit.too_fast` and when to try again.
    pub async fn admit(&self, actor: &Actor, kind: crate::cluster::Kind) -> Result<(), HubError> {
        match self.cluster.limits.take(&actor.member_id, kind).await? {
            Ok(()) => Ok(()),
            Err(wait) => {
                let msg = "You are doing that too fast; wait a moment.";
                Err(HubError::Refused(Refusal::new(ErrorCode::TooFast, msg).retry_after(wait)))
            }
        }
    }

    /// Sends a notification to a member's streams on every node; false when they have none open.
    pub async fn notify(&self, member: &MemberId, notification: &Notification) -> Result<bool, HubError> {
        Ok(self.cluster.channel.member(member, notification).await?)
    }
}

#[cfg(test)]
mod tests;
