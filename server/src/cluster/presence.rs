//! Who is connected to and joined in each room, in one process, and since when they are idle.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use dungeontalk_app::wire::{MemberId, PresenceMember, RoomId};

use super::Joined;
use crate::model::Actor;

struct Member {
    nickname: String,
    connections: u32,
    joined: bool,
    /// The last JOIN, TALK or heartbeat: a joined member idle longer than a session leaves.
    last_active: Instant,
}

/// Connections and membership per room; a member with several tabs or transports counts once.
#[derive(Default)]
pub struct LocalPresence {
    rooms: Mutex<HashMap<RoomId, HashMap<MemberId, Member>>>,
}

impl LocalPresence {
    fn with<R>(&self, room_id: &RoomId, f: impl FnOnce(&mut HashMap<MemberId, Member>) -> R) -> R {
        let mut rooms = self.rooms.lock().expect("presence lock");
        let members = rooms.entry(room_id.clone()).or_default();
        let out = f(members);
        if members.is_empty() {
            rooms.remove(room_id);
        }
        out
    }

    fn entry<'a>(m: &'a mut HashMap<MemberId, Member>, actor: &Actor) -> &'a mut Member {
        m.entry(actor.member_id.clone()).or_insert_with(|| Member {
            nickname: actor.nickname.clone(),
            connections: 0,
            joined: false,
            last_active: Instant::now(),
        })
    }

    /// Room and member entries held (for the eviction test and `/metrics`).
    pub fn held(&self) -> usize {
        let rooms = self.rooms.lock().expect("presence lock");
        rooms.len() + rooms.values().map(HashMap::len).sum::<usize>()
    }

    /// Counts one more open connection of the actor.
    pub fn connect(&self, room_id: &RoomId, actor: &Actor) {
        self.with(room_id, |m| Self::entry(m, actor).connections += 1);
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

    /// Joins the actor unless the room already holds `capacity` joined members (0 = unlimited).
    pub fn join(&self, room_id: &RoomId, actor: &Actor, capacity: u32) -> Joined {
        self.with(room_id, |m| {
            if m.get(&actor.member_id).is_some_and(|x| x.joined) {
                return Joined::Already;
            }
            let joined = m.values().filter(|x| x.joined).count() as u32;
            if capacity > 0 && joined >= capacity {
                return Joined::Full;
            }
            let member = Self::entry(m, actor);
            member.joined = true;
            member.last_active = Instant::now();
            Joined::Now
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

    /// Marks activity (a TALK or heartbeat); false when the member is not joined.
    pub fn touch(&self, room_id: &RoomId, member_id: &MemberId) -> bool {
        let mut rooms = self.rooms.lock().expect("presence lock");
        match rooms.get_mut(room_id).and_then(|m| m.get_mut(member_id)) {
            Some(member) if member.joined => {
                member.last_active = Instant::now();
                true
            }
            _ => false,
        }
    }

    /// Whether the member is joined in the room.
    pub fn is_joined(&self, room_id: &RoomId, member_id: &MemberId) -> bool {
        let rooms = self.rooms.lock().expect("presence lock");
        rooms.get(room_id).and_then(|m| m.get(member_id)).is_some_and(|x| x.joined)
    }

    /// Whether the member is joined, and how many members are.
    pub fn seat(&self, room_id: &RoomId, member_id: &MemberId) -> (bool, u32) {
        let rooms = self.rooms.lock().expect("presence lock");
        let Some(m) = rooms.get(room_id) else { return (false, 0) };
        let joined = m.get(member_id).is_some_and(|x| x.joined);
        (joined, m.values().filter(|x| x.joined).count() as u32)
    }

    /// Members with at least one open connection.
    pub fn connected_count(&self, room_id: &RoomId) -> u32 {
        let rooms = self.rooms.lock().expect("presence lock");
        rooms.get(room_id).map_or(0, |m| m.values().filter(|x| x.connections > 0).count() as u32)
    }

    /// The connected count and the joined members (by nickname), as presence events list them.
    pub fn snapshot(&self, room_id: &RoomId) -> (u32, Vec<PresenceMember>) {
        let rooms = self.rooms.lock().expect("presence lock");
        let Some(m) = rooms.get(room_id) else { return (0, Vec::new()) };
        let connected = m.values().filter(|x| x.connections > 0).count() as u32;
        let mut members: Vec<PresenceMember> = m
            .iter()
            .filter(|(_, x)| x.joined)
            .map(|(id, x)| PresenceMember {
                member_id: id.clone(),
                nickname: x.nickname.clone(),
                status: if x.connections > 0 { "ONLINE" } else { "AWAY" }.to_owned(),
            })
            .collect();
        members.sort_by(|a, b| a.nickname.cmp(&b.nickname).then(a.member_id.cmp(&b.member_id)));
        (connected, members)
    }

    /// Takes out of their rooms the joined members idle longer than `session`, and names them.
    pub fn expire(&self, session: Duration) -> Vec<(RoomId, Actor)> {
        let mut rooms = self.rooms.lock().expect("presence lock");
        let mut out = Vec::new();
        for (room_id, m) in rooms.iter_mut() {
            for (id, x) in m.iter_mut() {
                if x.joined && x.last_active.elapsed() > session {
                    x.joined = false;
                    out.push((room_id.clone(), Actor { member_id: id.clone(), nickname: x.nickname.clone() }));
                }
            }
            m.retain(|_, x| x.joined || x.connections > 0);
        }
        rooms.retain(|_, m| !m.is_empty());
        out
    }
}
