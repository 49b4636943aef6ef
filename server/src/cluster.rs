//! What the nodes of a cluster must agree on: who is in which room, limits counted per member,
//! revoked tokens, and the channel for ephemeral frames (presence, typing, notifications, the
//! `aichat.{roomId}` channels). Small traits with two backends: `local.rs` (one process, in
//! memory) and `redis.rs`. The hub talks to [`Cluster`] and never learns which one runs.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dungeontalk_app::wire::{MemberId, NodeStats, Notification, PresenceMember, PresenceType, RoomId, WorldType};

use crate::model::{Actor, StoredEvent};

mod game_local;
mod game_redis;
pub mod local;
pub mod lockout;
pub mod presence;
pub mod rate;
pub mod redis;
mod redis_limits;
mod redis_presence;

/// A failure of the shared state's backend; the detail is for the log.
#[derive(Debug, Clone, thiserror::Error)]
#[error("shared state: {0}")]
pub struct ClusterError(pub String);

/// What a JOIN did.
#[derive(Debug, PartialEq, Eq)]
pub enum Joined {
    Now,
    Already,
    /// The room holds its capacity of joined members already.
    Full,
}

/// A member taken out of a room by the shared state itself, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Departure {
    pub room_id: RoomId,
    pub actor: Actor,
    /// `SESSION_EXPIRED` (idle) or `LEAVE` (their node stopped renewing its connections).
    pub why: PresenceType,
}

/// Connections and membership per room, over every node; a member with several tabs, transports
/// or nodes counts once.
#[async_trait]
pub trait Presence: Send + Sync + 'static {
    /// Counts one more open connection of the actor on this node.
    async fn connect(&self, room: &RoomId, actor: &Actor) -> Result<(), ClusterError>;
    /// Counts one connection less; true when it was the member's last one anywhere and they were
    /// joined: they have left now (the caller stores the LEAVE).
    async fn disconnect(&self, room: &RoomId, member: &MemberId) -> Result<bool, ClusterError>;
    /// Joins the actor unless the room already holds `capacity` joined members (0 = unlimited).
    async fn join(&self, room: &RoomId, actor: &Actor, capacity: u32) -> Result<Joined, ClusterError>;
    /// Marks the member not joined; true when they were joined before.
    async fn leave(&self, room: &RoomId, member: &MemberId) -> Result<bool, ClusterError>;
    /// Marks activity (a TALK or heartbeat) of a joined member; false when they are not joined.
    async fn touch(&self, room: &RoomId, member: &MemberId) -> Result<bool, ClusterError>;
    /// Whether the member is joined in the room.
    async fn is_joined(&self, room: &RoomId, member: &MemberId) -> Result<bool, ClusterError>;
    /// Whether the member is joined, and how many members are (the seats taken).
    async fn seat(&self, room: &RoomId, member: &MemberId) -> Result<(bool, u32), ClusterError>;
    /// The connected count and the joined members, as presence events list them.
    async fn snapshot(&self, room: &RoomId) -> Result<(u32, Vec<PresenceMember>), ClusterError>;
    /// Connected members per room, for the given rooms.
    async fn connected_counts(&self, rooms: &[RoomId]) -> Result<Vec<u32>, ClusterError>;
    /// Takes out of their rooms the members idle longer than `session` and those whose every
    /// connection was on a node that stopped (each departure is reported to one node only).
    async fn expire(&self, session: Duration) -> Result<Vec<Departure>, ClusterError>;
    /// Renews this node's connections so they outlive the liveness window (no-op in one process).
    async fn renew(&self) -> Result<(), ClusterError> {
        Ok(())
    }
    /// Entries held in this process's memory (0 where the backend holds them, with its own expiry).
    fn held(&self) -> usize {
        0
    }
}

/// What a member does that costs a token: one bucket per member and kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Talk,
    /// JOIN and LEAVE.
    Membership,
    Typing,
    Invite,
    CreateRoom,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 5] = [Kind::Talk, Kind::Membership, Kind::Typing, Kind::Invite, Kind::CreateRoom];

    /// A short name for keys and logs.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Talk => "talk",
            Kind::Membership => "membership",
            Kind::Typing => "typing",
            Kind::Invite => "invite",
            Kind::CreateRoom => "room",
        }
    }
}

/// A token bucket's refill rate and size.
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    pub per_sec: f64,
    pub burst: f64,
}

/// The bucket of each kind, from the settings.
pub fn rates(s: &crate::config::Settings) -> impl Fn(Kind) -> Rate + Send + Sync + 'static {
    let table = [
        Rate { per_sec: s.rate_per_sec, burst: s.rate_burst },
        Rate { per_sec: s.membership_rate_per_sec, burst: s.membership_burst },
        Rate { per_sec: s.typing_rate_per_sec, burst: s.typing_burst },
        Rate { per_sec: s.invite_rate_per_sec, burst: s.invite_burst },
        Rate { per_sec: s.room_rate_per_sec, burst: s.room_burst },
    ];
    move |k| table[Kind::ALL.iter().position(|x| *x == k).expect("every kind is listed")]
}

/// Token buckets and failed-login counts, per member or account name.
#[async_trait]
pub trait Limits: Send + Sync + 'static {
    /// Takes a token of `kind`, or says in how many ms one will be there.
    async fn take(&self, member: &MemberId, kind: Kind) -> Result<Result<(), u64>, ClusterError>;
    /// Gives back a token taken for something that turned out to cost nothing (a retry).
    async fn refund(&self, member: &MemberId, kind: Kind) -> Result<(), ClusterError>;
    /// `Err(wait)` while the account name is backing off or locked.
    async fn login_check(&self, name: &str) -> Result<Result<(), Duration>, ClusterError>;
    /// Records a failed login: how long the name must now wait, and whether that is a lock.
    async fn login_failed(&self, name: &str) -> Result<(Duration, bool), ClusterError>;
    /// A successful login clears the record.
    async fn login_succeeded(&self, name: &str) -> Result<(), ClusterError>;
    /// Forgets what no longer limits anyone (full buckets, quiet names); called regularly.
    fn sweep(&self) {}
    /// Entries held in this process's memory (0 where the backend holds them, with its own expiry).
    fn held(&self) -> usize {
        0
    }
}

/// Frames every node must see but nobody stores: presence, typing, notifications, revocations.
#[async_trait]
pub trait Channel: Send + Sync + 'static {
    /// An ephemeral frame for a room's readers on every node.
    async fn room(&self, event: Arc<StoredEvent>) -> Result<(), ClusterError>;
    /// A piece of the game master's answer (`GM_CHUNK`) for a room's readers on every node: on
    /// Redis the `aichat.{roomId}` channel, the AI chat's own.
    async fn narrate(&self, event: Arc<StoredEvent>) -> Result<(), ClusterError> {
        self.room(event).await
    }
    /// A notification for a member's streams, on whichever node they are; false when the member
    /// has no stream open anywhere.
    async fn member(&self, member: &MemberId, notification: &Notification) -> Result<bool, ClusterError>;
    /// These members have notification streams open on this node (renewed regularly, so a
    /// notification sent from another node can say whether anyone listens).
    async fn listening(&self, _members: &[MemberId]) -> Result<(), ClusterError> {
        Ok(())
    }
    /// A revoked access token (`jti`, alive until `exp`): every node refuses it from now on.
    async fn revoke(&self, jti: &str, exp: u64) -> Result<(), ClusterError>;
    /// Every revoked token still alive (loaded at start).
    async fn revoked(&self) -> Result<Vec<(String, u64)>, ClusterError>;
    /// Fails when the backend is unreachable (for `/readyz`).
    async fn ping(&self) -> Result<(), ClusterError> {
        Ok(())
    }
    /// Reports this node's numbers for the ops view (replacing its last report).
    async fn report(&self, stats: &NodeStats) -> Result<(), ClusterError>;
    /// The last report of every node that reported since `since_ms` (unix ms), by node name;
    /// older reports (stopped nodes) are dropped.
    async fn nodes(&self, since_ms: u64) -> Result<Vec<NodeStats>, ClusterError>;
}

/// Leases with an owner and a time to live: one node at a time does a room's game work.
#[async_trait]
pub trait Leases: Send + Sync + 'static {
    /// Takes the lease `key` for `owner` for `ttl`, or renews it when `owner` holds it already;
    /// false while another owner holds it.
    async fn hold(&self, key: &str, owner: &str, ttl: Duration) -> Result<bool, ClusterError>;
    /// Gives the lease up if `owner` holds it.
    async fn release(&self, key: &str, owner: &str) -> Result<(), ClusterError>;
    /// Entries held in this process's memory (0 where the backend holds them, with its own expiry).
    fn held(&self) -> usize {
        0
    }
}

/// Where a member stands after queueing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    /// Players waiting for the world now (after a party left the queue: those left).
    pub waiting: u32,
    /// A full party taken out of the queue, oldest first (the caller makes their room).
    pub party: Option<Vec<Actor>>,
}

/// The matching queue: players waiting for a game of a world, over every node.
#[async_trait]
pub trait MatchQueue: Send + Sync + 'static {
    /// Queues the actor for `world` (leaving any other world's queue); when `size` players wait
    /// for it, takes the oldest `size` out as a party. Entries older than `max_wait` are dropped.
    async fn enqueue(
        &self,
        world: WorldType,
        actor: &Actor,
        size: u32,
        max_wait: Duration,
    ) -> Result<Queued, ClusterError>;
    /// Takes the member out of the queue; true when they were in it.
    async fn dequeue(&self, member: &MemberId) -> Result<bool, ClusterError>;
    /// The world the member waits for and how many wait for it.
    async fn status(&self, member: &MemberId) -> Result<Option<(WorldType, u32)>, ClusterError>;
    /// Remembers for `ttl` that the member was matched into `room` (for a client that polls).
    async fn set_matched(
        &self,
        member: &MemberId,
        room: &RoomId,
        world: WorldType,
        ttl: Duration,
    ) -> Result<(), ClusterError>;
    /// The room the member was matched into recently, if any.
    async fn matched(&self, member: &MemberId) -> Result<Option<(RoomId, WorldType)>, ClusterError>;
    /// Entries held in this process's memory (0 where the backend holds them, with its own expiry).
    fn held(&self) -> usize {
        0
    }
}

/// The shared state as the hub and the accounts use it.
#[derive(Clone)]
pub struct Cluster {
    pub presence: Arc<dyn Presence>,
    pub limits: Arc<dyn Limits>,
    pub channel: Arc<dyn Channel>,
    pub leases: Arc<dyn Leases>,
    pub queue: Arc<dyn MatchQueue>,
}
