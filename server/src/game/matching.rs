//! The matching queue (the original's): a player picks a world and waits; when `match_size`
//! players wait for one world, a game room is made for them, each gets `MATCHED` on their
//! notification stream, and the game starts by itself once they have all joined. The queue is
//! the cluster's (`MatchQueue`: in memory, or Redis so players on different nodes meet).

use std::sync::Arc;

use dungeontalk_app::wire::{ErrorCode, MatchStatus, MemberId, Notification, RoomId, RoomType, WorldType};
use uuid::Uuid;

use super::{Games, MATCHED_TTL, refused};

/// How long a member whose notification stream closed keeps their place in the queue.
const QUEUE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);
use crate::hub::HubError;
use crate::model::{Actor, RoomRecord, now_rfc3339};

impl Games {
    /// Queues `actor` for a game of `world` (`POST /api/matching`); when that completes a party,
    /// makes its room and tells every member of it.
    pub async fn enqueue(self: &Arc<Self>, actor: &Actor, world: WorldType) -> Result<MatchStatus, HubError> {
        let size = self.settings.match_size;
        let queue = &self.hub.cluster().queue;
        let queued = queue.enqueue(world, actor, size, self.settings.match_wait).await?;
        let mut status = MatchStatus { world_type: world, waiting: queued.waiting, size, room_id: None };
        if let Some(party) = queued.party {
            let room = self.make_party_room(&party, world).await?;
            for member in &party {
                queue.set_matched(&member.member_id, &room, world, MATCHED_TTL).await?;
                let matched = Notification::Matched { room_id: room.clone(), world_type: world };
                if let Err(e) = self.hub.notify(&member.member_id, &matched).await {
                    tracing::warn!(error = %e, member = %member.member_id, "matching: MATCHED not sent");
                }
            }
            status.room_id = party.iter().any(|a| a.member_id == actor.member_id).then_some(room);
        }
        Ok(status)
    }

    /// A private game room for a matched party; it starts once all of them have joined.
    async fn make_party_room(self: &Arc<Self>, party: &[Actor], world: WorldType) -> Result<RoomId, HubError> {
        let size = party.len() as u32;
        let room = RoomRecord {
            room_id: RoomId(Uuid::now_v7().to_string()),
            name: format!("{} quest", world.label()),
            max_capacity: size,
            created_by: party[0].member_id.clone(),
            created_at: now_rfc3339(),
            room_type: RoomType::Game,
            private: true,
            allowed: party.iter().map(|a| a.member_id.clone()).collect(),
            game: Some(self.new_setup(world, Some(size))),
        };
        self.hub.create_room(room.clone()).await?;
        self.watch(&room);
        Ok(room.room_id)
    }

    /// Where the member stands (`GET /api/matching`): waiting, or matched a moment ago.
    pub async fn match_status(&self, member: &MemberId) -> Result<MatchStatus, HubError> {
        let queue = &self.hub.cluster().queue;
        let size = self.settings.match_size;
        if let Some((world_type, waiting)) = queue.status(member).await? {
            return Ok(MatchStatus { world_type, waiting, size, room_id: None });
        }
        match queue.matched(member).await? {
            Some((room, world_type)) => Ok(MatchStatus { world_type, waiting: 0, size, room_id: Some(room) }),
            None => Err(refused(ErrorCode::NotQueued, "You are not waiting for a game.")),
        }
    }

    /// A notification stream of `member` closed: when none of theirs is open on this node a
    /// moment later (`QUEUE_GRACE`, a page reload), they leave the queue, since a MATCHED could
    /// no longer reach them.
    pub fn stream_closed(self: &Arc<Self>, member: MemberId) {
        let games = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = games.shutdown.cancelled() => return,
                _ = tokio::time::sleep(QUEUE_GRACE) => {}
            }
            if !games.hub.listens(&member)
                && let Err(e) = games.leave_queue(&member).await
            {
                tracing::warn!(error = %e, "matching: could not take a gone member out of the queue");
            }
        });
    }

    /// Takes the member out of the queue (`DELETE /api/matching`, or their last notification
    /// stream closed); false when they were not in it.
    pub async fn leave_queue(&self, member: &MemberId) -> Result<bool, HubError> {
        Ok(self.hub.cluster().queue.dequeue(member).await?)
    }
}
