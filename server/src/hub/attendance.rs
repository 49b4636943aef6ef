//! Open connections: each one counted in its room's presence while it lasts (and a linger after),
//! and in this node's caps of connections per member and per room.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use dungeontalk_app::wire::{ErrorCode, MemberId, RoomId};
use tokio_util::sync::CancellationToken;

use super::{Hub, HubError};
use crate::model::{Actor, Refusal};

/// Open connections on this node per member and per room; a key goes when its count is zero.
#[derive(Default)]
pub struct Counts {
    members: HashMap<MemberId, usize>,
    rooms: HashMap<RoomId, usize>,
}

impl Counts {
    fn add(&mut self, room: &RoomId, member: &MemberId) {
        *self.members.entry(member.clone()).or_default() += 1;
        *self.rooms.entry(room.clone()).or_default() += 1;
    }

    fn remove(&mut self, room: &RoomId, member: &MemberId) {
        for_key(&mut self.members, member);
        for_key(&mut self.rooms, room);
    }

    /// Keys held (for the eviction test).
    pub fn len(&self) -> usize {
        self.members.len() + self.rooms.len()
    }
}

fn for_key<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: &K) {
    if let Some(n) = map.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            map.remove(key);
        }
    }
}

/// One open connection counted in a room's presence; dropping it disconnects after `linger`.
///
/// Long polls and POSTs are separate requests, so each holds one of these and lingers a while
/// after it ends: a client that comes back in time never looked gone. WebSockets linger too.
pub struct Attendance {
    hub: Arc<Hub>,
    room_id: RoomId,
    actor: Actor,
    linger: Duration,
    shutdown: CancellationToken,
}

impl Hub {
    /// Counts a connection of `actor` in the room until the returned guard is dropped (and
    /// `linger` after); refused with `limit.connections` past this node's caps.
    pub async fn attend(
        self: &Arc<Self>,
        room_id: &RoomId,
        actor: &Actor,
        linger: Duration,
        shutdown: &CancellationToken,
    ) -> Result<Attendance, HubError> {
        {
            let mut counts = self.counts.lock().expect("counts lock");
            let mine = counts.members.get(&actor.member_id).copied().unwrap_or(0);
            let room = counts.rooms.get(room_id).copied().unwrap_or(0);
            let refusal = if mine >= self.limits.max_connections_per_member {
                Some(format!("You have {mine} connections open; close one first."))
            } else if room >= self.limits.max_connections_per_room {
                Some("This room has as many connections as it can take; try again later.".to_owned())
            } else {
                None
            };
            if let Some(msg) = refusal {
                return Err(HubError::Refused(Refusal::new(ErrorCode::TooManyConnections, msg)));
            }
            counts.add(room_id, &actor.member_id);
        }
        self.connect(room_id, actor).await;
        Ok(Attendance {
            hub: self.clone(),
            room_id: room_id.clone(),
            actor: actor.clone(),
            linger,
            shutdown: shutdown.clone(),
        })
    }

    /// Keys in the connection counts (for the eviction test).
    pub fn counted_keys(&self) -> usize {
        self.counts.lock().expect("counts lock").len()
    }
}

impl Drop for Attendance {
    fn drop(&mut self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let (hub, room_id, actor) = (self.hub.clone(), self.room_id.clone(), self.actor.clone());
        let (linger, shutdown) = (self.linger, self.shutdown.clone());
        // The connection is closed now: it leaves the caps at once; presence waits for the linger.
        hub.counts.lock().expect("counts lock").remove(&room_id, &actor.member_id);
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
