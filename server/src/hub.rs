//! The hub: every room's ordered event log, independent of any transport.
//!
//! An event is persisted first (the store gives it its per-room seq), serialized once, then
//! published on the bus; every node's fan-out hands the same bytes to its local subscribers.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use dungeontalk_app::wire::{ErrorCode, MemberId, RoomId};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::bus::Bus;
use crate::config::Settings;
use crate::profanity::{Filter, Mode};
use crate::store::{Store, StoreError};

mod event;
pub mod fanout;
pub mod feed;
mod members;
pub mod notify;
pub mod presence;
mod rate;
mod talk;
mod writer;

pub use event::{Appended, Draft, DraftKind, StoredEvent};

use fanout::Fanout;
use notify::Notifier;
use presence::Presence;
use rate::RateLimit;

pub use talk::Said;

/// Why the hub refused or failed a request.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("{1}")]
    Invalid(ErrorCode, String),
    /// Refused with the full error (e.g. a limit with its retry time).
    #[error("{0}")]
    Refused(crate::error::AppError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the hub has stopped")]
    Stopped,
}

/// Limits and policies the hub enforces on what clients say.
#[derive(Clone, Debug)]
pub struct HubLimits {
    pub max_content_chars: usize,
    pub write_batch_max: usize,
    pub write_queue_len: usize,
    pub rate_per_sec: f64,
    pub rate_burst: f64,
    pub profanity_player: Mode,
    pub profanity_game: Mode,
    /// A joined member idle this long leaves (SESSION_EXPIRED).
    pub chat_session: Duration,
}

impl HubLimits {
    /// The hub's share of the settings.
    pub fn from_settings(s: &Settings) -> HubLimits {
        HubLimits {
            max_content_chars: s.max_content_chars,
            write_batch_max: s.write_batch_max,
            write_queue_len: s.write_queue_len,
            rate_per_sec: s.rate_per_sec,
            rate_burst: s.rate_burst,
            profanity_player: s.profanity_player,
            profanity_game: s.profanity_game,
            chat_session: Duration::from_secs(s.chat_session_secs),
        }
    }
}

/// Who is acting: always taken from a verified token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub member_id: MemberId,
    pub nickname: String,
}

/// The hub: appends through one ordered writer, subscribes through the local fan-out.
pub struct Hub {
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    fanout: Arc<Fanout>,
    notifier: Arc<Notifier>,
    writer: mpsc::Sender<writer::Job>,
    presence: Presence,
    rate: RateLimit,
    profanity: Filter,
    limits: HubLimits,
}

impl Hub {
    /// Starts the writer task; it ends once the hub is dropped and its queue is drained.
    pub fn start(
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        fanout: Arc<Fanout>,
        notifier: Arc<Notifier>,
        limits: HubLimits,
    ) -> (Hub, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(limits.write_queue_len);
        let task = tokio::spawn(writer::run(rx, store.clone(), bus.clone(), limits.write_batch_max));
        let hub = Hub {
            store,
            bus,
            fanout,
            notifier,
            writer: tx,
            presence: Presence::default(),
            rate: RateLimit::new(limits.rate_per_sec, limits.rate_burst),
            profanity: Filter::standard(),
            limits,
        };
        (hub, task)
    }

    /// The store behind this hub.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Persists a draft, then publishes it; returns once it is durable.
    pub async fn append(&self, draft: Draft) -> Result<Appended, HubError> {
        let (reply, answer) = oneshot::channel();
        self.writer.send(writer::Job { draft, reply }).await.map_err(|_| HubError::Stopped)?;
        answer.await.map_err(|_| HubError::Stopped)?
    }

    /// Publishes an ephemeral frame (presence, typing) to the room on every node.
    pub async fn publish(&self, event: StoredEvent) {
        if let Err(e) = self.bus.publish(Arc::new(event)).await {
            tracing::warn!(error = %e, "ephemeral publish failed");
        }
    }

    /// Live events of a room from now on; subscribe before reading the store to miss nothing.
    pub fn subscribe(&self, room_id: &RoomId) -> broadcast::Receiver<Arc<StoredEvent>> {
        self.fanout.subscribe(room_id)
    }

    /// The actor's notifications from now on.
    pub fn notifications(&self, actor: &Actor) -> broadcast::Receiver<Bytes> {
        self.notifier.subscribe(actor)
    }

    /// This node's notification streams.
    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }
}

/// One open connection counted in a room's presence; dropping it disconnects after `linger`.
///
/// Long polls and POSTs are separate requests, so each holds one of these and lingers a while
/// after it ends: a client that comes back in time never looked gone.
pub struct Attendance {
    hub: Arc<Hub>,
    room_id: RoomId,
    actor: Actor,
    linger: Duration,
    shutdown: CancellationToken,
}

impl Hub {
    /// Counts a connection of `actor` in the room until the returned guard is dropped.
    pub fn attend(
        self: &Arc<Self>,
        room_id: &RoomId,
        actor: &Actor,
        linger: Duration,
        shutdown: &CancellationToken,
    ) -> Attendance {
        self.connect(room_id, actor);
        Attendance {
            hub: self.clone(),
            room_id: room_id.clone(),
            actor: actor.clone(),
            linger,
            shutdown: shutdown.clone(),
        }
    }
}

impl Drop for Attendance {
    fn drop(&mut self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let (hub, room_id, actor) = (self.hub.clone(), self.room_id.clone(), self.actor.clone());
        let (linger, shutdown) = (self.linger, self.shutdown.clone());
        runtime.spawn(async move {
            if !linger.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(linger) => {}
                    _ = shutdown.cancelled() => {}
                }
            }
            if let Err(e) = hub.disconnect(&room_id, &actor).await {
                tracing::warn!(error = %e, room = %room_id, "leave on disconnect failed");
            }
        });
    }
}

/// The current time as RFC 3339 UTC with millisecond precision.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(now.millisecond() as u32 * 1_000_000).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests;
