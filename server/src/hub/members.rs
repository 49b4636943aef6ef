//! Membership: join (with capacity), leave, connections, heartbeats, typing, session expiry, and
//! the presence events that tell the room about each change.

use std::time::Duration;

use dungeontalk_app::wire::{ErrorCode, MemberId, PresenceEvent, PresenceMember, PresenceType, RoomId, ServerFrame};

use super::{Hub, HubError};
use crate::cluster::Joined;
use crate::model::{Actor, Appended, Draft, EventBody, Refusal, RoomRecord, StoredEvent, now_rfc3339};

impl Hub {
    /// Enters `actor` into the room; a repeated JOIN stores nothing; a full room refuses
    /// (`room.full`) and tells the room (`JOIN_IGNORED`).
    pub async fn join(&self, room: &RoomRecord, actor: &Actor) -> Result<Option<Appended>, HubError> {
        match self.cluster.presence.join(&room.room_id, actor, room.max_capacity).await? {
            Joined::Already => return Ok(None),
            Joined::Full => {
                self.announce(&room.room_id, PresenceType::JoinIgnored, actor).await;
                return Err(full(room));
            }
            Joined::Now => {}
        }
        let body = EventBody::Join { member_id: actor.member_id.clone(), nickname: actor.nickname.clone() };
        match self.append(Draft::new(room.room_id.clone(), body)).await {
            Ok(a) => {
                self.announce(&room.room_id, PresenceType::Join, actor).await;
                Ok(Some(a))
            }
            Err(e) => {
                // Not stored, so not joined: a retried JOIN must try again.
                if let Err(undo) = self.cluster.presence.leave(&room.room_id, &actor.member_id).await {
                    tracing::warn!(error = %undo, "could not undo a JOIN that was not stored");
                }
                Err(e)
            }
        }
    }

    /// Takes `actor` out of the room; a LEAVE of someone not in it stores nothing (`LEAVE_IGNORED`).
    pub async fn leave(&self, room_id: &RoomId, actor: &Actor) -> Result<Option<Appended>, HubError> {
        if !self.cluster.presence.leave(room_id, &actor.member_id).await? {
            self.announce(room_id, PresenceType::LeaveIgnored, actor).await;
            return Ok(None);
        }
        self.left(room_id, actor, PresenceType::Leave).await.map(Some)
    }

    /// Registers an open connection of `actor` in the room.
    pub async fn connect(&self, room_id: &RoomId, actor: &Actor) {
        if let Err(e) = self.cluster.presence.connect(room_id, actor).await {
            self.metrics.backend_errors.with_label_values(&["redis"]).inc();
            tracing::warn!(error = %e, room = %room_id, "presence: connect not recorded");
        }
    }

    /// Unregisters a connection; when it was the member's last one, the member leaves the room.
    pub async fn disconnect(&self, room_id: &RoomId, actor: &Actor) -> Result<(), HubError> {
        if self.cluster.presence.disconnect(room_id, &actor.member_id).await? {
            self.left(room_id, actor, PresenceType::Leave).await?;
        }
        Ok(())
    }

    /// Keeps the actor's chat session alive (nothing to keep for someone not joined).
    pub async fn heartbeat(&self, room_id: &RoomId, actor: &Actor) -> Result<(), HubError> {
        self.cluster.presence.touch(room_id, &actor.member_id).await?;
        Ok(())
    }

    /// Whether `actor` may read the room now, and whether they hold a seat: a member who joined
    /// always may, anyone the room admits may while a seat is free (to look before joining, as
    /// the original client subscribes before its JOIN), and nobody else of a full room
    /// (`room.full`): capacity is about who is in the room, readers included.
    pub async fn may_read(&self, room: &RoomRecord, actor: &Actor) -> Result<bool, HubError> {
        let (joined, taken) = self.cluster.presence.seat(&room.room_id, &actor.member_id).await?;
        if !joined && room.max_capacity > 0 && taken >= room.max_capacity {
            return Err(full(room));
        }
        Ok(joined)
    }

    /// Tells the room the actor is typing (ephemeral; only a joined member's counts).
    pub async fn typing(&self, room_id: &RoomId, actor: &Actor) -> Result<(), HubError> {
        if self.cluster.presence.is_joined(room_id, &actor.member_id).await? {
            let frame = ServerFrame::Typing {
                room_id: room_id.clone(),
                member_id: actor.member_id.clone(),
                nickname: actor.nickname.clone(),
            };
            self.publish(StoredEvent::ephemeral(room_id.clone(), &frame, None)).await;
        }
        Ok(())
    }

    /// Takes idle members (and those of stopped nodes) out of their rooms; the server calls this
    /// regularly, and renews this node's connections in the shared state.
    pub async fn expire_idle(&self) {
        self.cluster.limits.sweep();
        if let Err(e) = self.cluster.presence.renew().await {
            tracing::warn!(error = %e, "presence: renewal failed");
        }
        if let Err(e) = self.cluster.channel.listening(&self.notifier.members()).await {
            tracing::warn!(error = %e, "notification streams: renewal failed");
        }
        let departures = match self.cluster.presence.expire(self.limits.chat_session).await {
            Ok(d) => d,
            Err(e) => return tracing::warn!(error = %e, "presence: expiry failed"),
        };
        for d in departures {
            if let Err(e) = self.left(&d.room_id, &d.actor, d.why).await {
                tracing::warn!(error = %e, room = %d.room_id, "leave on expiry failed");
            }
        }
    }

    /// How often [`Hub::expire_idle`] should run.
    pub fn expiry_period(&self, liveness: Duration) -> Duration {
        (self.limits.chat_session / 4).min(liveness / 3).clamp(Duration::from_millis(100), Duration::from_secs(30))
    }

    /// Tells the room its capacity changed.
    pub async fn capacity_updated(&self, room_id: &RoomId, actor: &Actor) {
        self.announce(room_id, PresenceType::CapacityUpdated, actor).await;
    }

    /// Members with at least one open connection, for each room (0 where the count is unknown).
    pub async fn connected_counts(&self, rooms: &[RoomId]) -> Vec<u32> {
        self.cluster.presence.connected_counts(rooms).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "presence: counts unavailable");
            vec![0; rooms.len()]
        })
    }

    /// The connected count and the joined members, as presence events list them.
    pub async fn snapshot(&self, room_id: &RoomId) -> Result<(u32, Vec<PresenceMember>), HubError> {
        Ok(self.cluster.presence.snapshot(room_id).await?)
    }

    /// Whether the member is joined in the room.
    pub async fn is_joined(&self, room_id: &RoomId, member: &MemberId) -> Result<bool, HubError> {
        Ok(self.cluster.presence.is_joined(room_id, member).await?)
    }

    async fn left(&self, room_id: &RoomId, actor: &Actor, why: PresenceType) -> Result<Appended, HubError> {
        let body = EventBody::Leave { member_id: actor.member_id.clone(), nickname: actor.nickname.clone() };
        let appended = self.append(Draft::new(room_id.clone(), body)).await?;
        self.announce(room_id, why, actor).await;
        Ok(appended)
    }

    /// Publishes a change of the room's presence about `actor`: a delta, the same size however
    /// many are in the room (a join storm of m members costs O(m) bytes per reader, not O(m²)).
    async fn announce(&self, room_id: &RoomId, event_type: PresenceType, actor: &Actor) {
        let presence = &self.cluster.presence;
        // Three independent reads at once: one round trip's wait, not three.
        let (room, counts, seats) = tokio::join!(
            self.store.room(room_id),
            presence.connected_counts(std::slice::from_ref(room_id)),
            presence.seat(room_id, &actor.member_id),
        );
        let max_capacity = match room {
            Ok(Some(room)) => room.max_capacity,
            _ => 0,
        };
        let (connected_count, joined_count) = match (counts, seats) {
            (Ok(counts), Ok((_, joined))) => (counts.first().copied().unwrap_or(0), joined),
            (Err(e), _) | (_, Err(e)) => return tracing::warn!(error = %e, "presence: no count to announce"),
        };
        let member = (event_type == PresenceType::Join).then(|| PresenceMember {
            member_id: actor.member_id.clone(),
            nickname: actor.nickname.clone(),
            status: "ONLINE".to_owned(),
        });
        let frame = ServerFrame::Presence(PresenceEvent {
            room_id: room_id.clone(),
            max_capacity,
            connected_count,
            joined_count,
            members: None,
            event_type,
            member_id: Some(actor.member_id.clone()),
            member,
            event_time: now_rfc3339(),
        });
        self.publish(StoredEvent::ephemeral(room_id.clone(), &frame, None)).await;
    }
}

/// The refusal of a seat in a full room.
fn full(room: &RoomRecord) -> HubError {
    let msg = format!("This room is full ({} members).", room.max_capacity);
    HubError::Refused(Refusal::new(ErrorCode::RoomFull, msg))
}
