//! Who is connected to and joined in each room on this node.

use std::collections::HashMap;
use std::sync::Mutex;

use dungeontalk_app::wire::{MemberId, RoomId};

use super::Actor;

#[derive(Default)]
struct Member {
    connections: u32,
    joined: bool,
}

/// Connections and membership per room; a member with several tabs counts once.
#[derive(Default)]
pub struct Presence {
    rooms: Mutex<HashMap<RoomId, HashMap<MemberId, Member>>>,
}

impl Presence {
    fn with<R>(&self, room_id: &RoomId, f: impl FnOnce(&mut HashMap<MemberId, Member>) -> R) -> R {
        let mut rooms = self.rooms.lock().expect("presence lock");
        let members = rooms.entry(room_id.clone()).or_default();
        let out = f(members);
        if members.is_empty() {
            rooms.remove(room_id);
        }
        out
    }

    /// Counts one more open connection of the actor.
    pub fn connect(&self, room_id: &RoomId, actor: &Actor) {
        self.with(room_id, |m| m.entry(actor.member_id.clone()).or_default().connections += 1);
    }

    /// Counts one connection less; true when it was the last one of a joined member, who has now left.
    pub fn disconnect(&self, room_id: &RoomId, member_id: &MemberId) -> bool {
        self.with(room_id, |m| {
            let Some(member) = m.get_mut(member_id) else { return false };
            member.connections = member.connections.saturating_sub(1);
            if member.connections > 0 {
                return false;
            }
            let was_joined = member.joined;
            m.remove(member_id);
            was_joined
        })
    }

    /// Marks the actor joined; true when they were not joined before.
    pub fn join(&self, room_id: &RoomId, actor: &Actor) -> bool {
        self.with(room_id, |m| {
            let member = m.entry(actor.member_id.clone()).or_default();
            !std::mem::replace(&mut member.joined, true)
        })
    }

    /// Marks the member not joined; true when they were joined before.
    pub fn leave(&self, room_id: &RoomId, member_id: &MemberId) -> bool {
        self.with(room_id, |m| {
            let Some(member) = m.get_mut(member_id) else { return false };
            let was_joined = std::mem::replace(&mut member.joined, false);
            if member.connections == 0 {
                m.remove(member_id);
            }
            was_joined
        })
    }

    /// Members with at least one open connection.
    pub fn connected_count(&self, room_id: &RoomId) -> u32 {
        let rooms = self.rooms.lock().expect("presence lock");
        rooms.get(room_id).map_or(0, |m| m.values().filter(|x| x.connections > 0).count() as u32)
    }
}
