//! Membership: join (with capacity), leave, connections, heartbeats, typing, session expiry, and
//! the presence events that tell the room about each change.

use std::time::Duration;

use dungeontalk_app::wire::{ErrorCode, PresenceEvent, PresenceType, RoomId, ServerFrame};

use super::presence::Joined;
use super::{Actor, Appended, Draft, DraftKind, Hub, HubError, StoredEvent, now_rfc3339};
use crate::error::AppError;
use crate::store::RoomRecord;

impl Hub {
    /// Enters `actor` into the room; a repeated JOIN stores nothing; a full room refuses
    /// (`room.full`) and tells the room (`JOIN_IGNORED`).
    pub async fn join(&self, room: &RoomRecord, actor: &Actor) -> Result<Option<Appended>, HubError> {
        match self.presence.join(&room.room_id, actor, room.max_capacity) {
            Joined::Already => return Ok(None),
            Joined::Full => {
                self.announce(&room.room_id, PresenceType::JoinIgnored, actor).await;
                let msg = format!("This room is full ({} members).", room.max_capacity);
                return Err(HubError::Refused(AppError::new(ErrorCode::RoomFull, msg)));
            }
            Joined::Now => {}
        }
        let kind = DraftKind::Join { member_id: actor.member_id.clone(), nickname: actor.nickname.clone() };
        let appended = self.append(Draft { room_id: room.room_id.clone(), created_at: now_rfc3339(), kind }).await;
        match appended {
            Ok(a) => {
                self.announce(&room.room_id, PresenceType::Join, actor).await;
                Ok(Some(a))
            }
            Err(e) => {
                // Not stored, so not joined: a retried JOIN must try again.
                self.presence.leave(&room.room_id, &actor.member_id);
                Err(e)
            }
        }
    }

    /// Takes `actor` out of the room; a LEAVE of someone not in it stores nothing (`LEAVE_IGNORED`).
    pub async fn leave(&self, room_id: &RoomId, actor: &Actor) -> Result<Option<Appended>, HubError> {
        if !self.presence.leave(room_id, &actor.member_id) {
            self.announce(room_id, PresenceType::LeaveIgnored, actor).await;
            return Ok(None);
        }
        self.left(room_id, actor, PresenceType::Leave).await.map(Some)
    }

    /// Registers an open connection of `actor` in the room.
    pub fn connect(&self, room_id: &RoomId, actor: &Actor) {
        self.presence.connect(room_id, actor);
    }

    /// Unregisters a connection; when it was the member's last one, the member leaves the room.
    pub async fn disconnect(&self, room_id: &RoomId, actor: &Actor) -> Result<(), HubError> {
        if self.presence.disconnect(room_id, &actor.member_id) {
            self.left(room_id, actor, PresenceType::Leave).await?;
        }
        Ok(())
    }

    /// Keeps the actor's chat session alive.
    pub fn heartbeat(&self, room_id: &RoomId, actor: &Actor) {
        self.presence.touch(room_id, &actor.member_id);
    }

    /// Tells the room the actor is typing (ephemeral; only a joined member's counts).
    pub async fn typing(&self, room_id: &RoomId, actor: &Actor) {
        if self.presence.is_joined(room_id, &actor.member_id) {
            let frame = ServerFrame::Typing {
                room_id: room_id.clone(),
                member_id: actor.member_id.clone(),
                nickname: actor.nickname.clone(),
            };
            self.publish(StoredEvent::ephemeral(room_id.clone(), &frame, None)).await;
        }
    }

    /// Takes idle members out of their rooms (`SESSION_EXPIRED`); the server calls this regularly.
    pub async fn expire_idle(&self) {
        for (room_id, actor) in self.presence.expire(self.limits.chat_session) {
            if let Err(e) = self.left(&room_id, &actor, PresenceType::SessionExpired).await {
                tracing::warn!(error = %e, room = %room_id, "leave on session expiry failed");
            }
        }
    }

    /// How often [`Hub::expire_idle`] should run.
    pub fn expiry_period(&self) -> Duration {
        (self.limits.chat_session / 4).clamp(Duration::from_millis(100), Duration::from_secs(30))
    }

    /// Tells the room its capacity changed.
    pub async fn capacity_updated(&self, room_id: &RoomId, actor: &Actor) {
        self.announce(room_id, PresenceType::CapacityUpdated, actor).await;
    }

    /// Members with at least one open connection to the room on this node.
    pub fn connected_count(&self, room_id: &RoomId) -> u32 {
        self.presence.connected_count(room_id)
    }

    /// The connected count and the joined members, as presence events list them.
    pub fn snapshot(&self, room_id: &RoomId) -> (u32, Vec<dungeontalk_app::wire::PresenceMember>) {
        self.presence.snapshot(room_id)
    }

    /// Whether the member is joined in the room.
    pub fn is_joined(&self, room_id: &RoomId, member: &dungeontalk_app::wire::MemberId) -> bool {
        self.presence.is_joined(room_id, member)
    }

    async fn left(&self, room_id: &RoomId, actor: &Actor, why: PresenceType) -> Result<Appended, HubError> {
        let kind = DraftKind::Leave { member_id: actor.member_id.clone(), nickname: actor.nickname.clone() };
        let appended = self.append(Draft { room_id: room_id.clone(), created_at: now_rfc3339(), kind }).await?;
        self.announce(room_id, why, actor).await;
        Ok(appended)
    }

    /// Publishes the room's presence after a change about `actor`.
    async fn announce(&self, room_id: &RoomId, event_type: PresenceType, actor: &Actor) {
        let max_capacity = match self.store.room(room_id).await {
            Ok(Some(room)) => room.max_capacity,
            _ => 0,
        };
        let (connected_count, members) = self.presence.snapshot(room_id);
        let frame = ServerFrame::Presence(PresenceEvent {
            room_id: room_id.clone(),
            max_capacity,
            connected_count,
            members,
            event_type,
            member_id: Some(actor.member_id.clone()),
            event_time: now_rfc3339(),
        });
        self.publish(StoredEvent::ephemeral(room_id.clone(), &frame, None)).await;
    }
}
