//! The shared state of a single node: everything in this process's memory (revocations written
//! through to the store so they survive a restart).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dungeontalk_app::wire::{MemberId, NodeStats, Notification, PresenceMember, PresenceType, RoomId};

use super::lockout::Lockout;
use super::presence::LocalPresence;
use super::rate::RateLimit;
use super::{Channel, Cluster, ClusterError, Departure, Joined, Kind, Limits, Presence};
use crate::config::Settings;
use crate::model::{Actor, Inbox, StoredEvent};
use crate::store::accounts::AccountStore;

/// The in-process shared state for `settings`; revocations persist in `accounts`.
pub fn cluster(settings: &Settings, inbox: Arc<dyn Inbox>, accounts: Arc<dyn AccountStore>) -> Cluster {
    Cluster {
        presence: Arc::new(LocalPresence::default()),
        limits: Arc::new(LocalLimits {
            rates: Kind::ALL
                .map(|k| {
                    let r = super::rates(settings)(k);
                    (k, RateLimit::new(r.per_sec, r.burst))
                })
                .into_iter()
                .collect(),
            lockout: Lockout::new(
                Duration::from_millis(settings.login_backoff_ms),
                settings.login_lock_after,
                Duration::from_secs(settings.login_lock_secs),
            ),
        }),
        channel: Arc::new(LocalChannel { inbox, accounts, stats: Default::default() }),
        leases: Arc::new(super::game_local::LocalLeases::default()),
        queue: Arc::new(super::game_local::LocalQueue::default()),
    }
}

#[async_trait]
impl Presence for LocalPresence {
    async fn connect(&self, room: &RoomId, actor: &Actor) -> Result<(), ClusterError> {
        LocalPresence::connect(self, room, actor);
        Ok(())
    }
    async fn disconnect(&self, room: &RoomId, member: &MemberId) -> Result<bool, ClusterError> {
        Ok(LocalPresence::disconnect(self, room, member))
    }
    async fn join(&self, room: &RoomId, actor: &Actor, capacity: u32) -> Result<Joined, ClusterError> {
        Ok(LocalPresence::join(self, room, actor, capacity))
    }
    async fn leave(&self, room: &RoomId, member: &MemberId) -> Result<bool, ClusterError> {
        Ok(LocalPresence::leave(self, room, member))
    }
    async fn touch(&self, room: &RoomId, member: &MemberId) -> Result<bool, ClusterError> {
        Ok(LocalPresence::touch(self, room, member))
    }
    async fn seat(&self, room: &RoomId, member: &MemberId) -> Result<(bool, u32), ClusterError> {
        Ok(LocalPresence::seat(self, room, member))
    }
    async fn is_joined(&self, room: &RoomId, member: &MemberId) -> Result<bool, ClusterError> {
        Ok(LocalPresence::is_joined(self, room, member))
    }
    async fn snapshot(&self, room: &RoomId) -> Result<(u32, Vec<PresenceMember>), ClusterError> {
        Ok(LocalPresence::snapshot(self, room))
    }
    async fn connected_counts(&self, rooms: &[RoomId]) -> Result<Vec<u32>, ClusterError> {
        Ok(rooms.iter().map(|r| self.connected_count(r)).collect())
    }
    async fn expire(&self, session: Duration) -> Result<Vec<Departure>, ClusterError> {
        let idle = LocalPresence::expire(self, session);
        Ok(idle
            .into_iter()
            .map(|(room_id, actor)| Departure { room_id, actor, why: PresenceType::SessionExpired })
            .collect())
    }
    fn held(&self) -> usize {
        LocalPresence::held(self)
    }
}

struct LocalLimits {
    rates: std::collections::HashMap<Kind, RateLimit>,
    lockout: Lockout,
}

#[async_trait]
impl Limits for LocalLimits {
    async fn take(&self, member: &MemberId, kind: Kind) -> Result<Result<(), u64>, ClusterError> {
        Ok(self.rates[&kind].take(member))
    }
    async fn refund(&self, member: &MemberId, kind: Kind) -> Result<(), ClusterError> {
        self.rates[&kind].refund(member);
        Ok(())
    }
    async fn login_check(&self, name: &str) -> Result<Result<(), Duration>, ClusterError> {
        Ok(self.lockout.check(name))
    }
    async fn login_failed(&self, name: &str) -> Result<(Duration, bool), ClusterError> {
        Ok(self.lockout.failed(name))
    }
    async fn login_succeeded(&self, name: &str) -> Result<(), ClusterError> {
        self.lockout.succeeded(name);
        Ok(())
    }
    fn sweep(&self) {
        self.rates.values().for_each(RateLimit::sweep);
        self.lockout.sweep();
    }
    fn held(&self) -> usize {
        self.rates.values().map(RateLimit::len).sum::<usize>() + self.lockout.len()
    }
}

/// Ephemeral frames go straight to this node's inbox; there is no other node.
struct LocalChannel {
    inbox: Arc<dyn Inbox>,
    accounts: Arc<dyn AccountStore>,
    /// This node's last report for the ops view (the only node).
    stats: std::sync::Mutex<Option<NodeStats>>,
}

fn failed(e: impl std::fmt::Display) -> ClusterError {
    ClusterError(e.to_string())
}

#[async_trait]
impl Channel for LocalChannel {
    async fn room(&self, event: Arc<StoredEvent>) -> Result<(), ClusterError> {
        self.inbox.ephemeral(event);
        Ok(())
    }
    async fn member(&self, member: &MemberId, notification: &Notification) -> Result<bool, ClusterError> {
        Ok(self.inbox.notify(member, notification))
    }
    async fn revoke(&self, jti: &str, exp: u64) -> Result<(), ClusterError> {
        self.accounts.revoke_access(jti.to_owned(), exp).await.map_err(failed)?;
        self.inbox.revoked(jti, exp);
        Ok(())
    }
    async fn revoked(&self) -> Result<Vec<(String, u64)>, ClusterError> {
        self.accounts.revoked_access(jsonwebtoken::get_current_timestamp()).await.map_err(failed)
    }
    async fn report(&self, stats: &NodeStats) -> Result<(), ClusterError> {
        *self.stats.lock().expect("stats lock") = Some(stats.clone());
        Ok(())
    }
    async fn nodes(&self, since_ms: u64) -> Result<Vec<NodeStats>, ClusterError> {
        let last = self.stats.lock().expect("stats lock").clone();
        Ok(last.into_iter().filter(|s| s.reported_at_ms >= since_ms).collect())
    }
}
