//! Each listed room's newest stored event and newest line worth previewing, kept up to date as
//! this node receives its events (every node receives every room's events): what the room list
//! shows without a store read.
//!
//! A cache of the rooms a room list asked for: each is read from the store once, then follows
//! its events. Bounded: a shard past [`MAX_LATEST_ROOMS`]`/SHARDS` rooms is emptied (its rooms
//! are read again when listed).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use dungeontalk_app::wire::RoomId;

use crate::model::StoredEvent;

const SHARDS: usize = 16;
/// Rooms the table holds at most.
pub const MAX_LATEST_ROOMS: usize = 8_192;

/// Frames a room's list entry may preview (as their JSON starts); whispers never are.
const PREVIEWED: [&str; 4] =
    [r#"{"type":"TALK""#, r#"{"type":"ACTION""#, r#"{"type":"GM_MESSAGE""#, r#"{"type":"GAME_END""#];

/// What the table knows of a room.
#[derive(Clone, Default)]
pub struct Last {
    /// The newest stored event's seq.
    pub head: u64,
    /// The newest event a preview can be made of.
    pub line: Option<Arc<StoredEvent>>,
    /// The store was read for it: `line` is the newest of all, not only of what came since.
    filled: bool,
}

/// Room → its [`Last`].
pub struct Latest {
    shards: Vec<Mutex<HashMap<RoomId, Last>>>,
    hasher: std::collections::hash_map::RandomState,
}

impl Default for Latest {
    fn default() -> Latest {
        Latest { shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(), hasher: Default::default() }
    }
}

/// Whether an event can be a room's preview.
pub fn previewable(event: &StoredEvent) -> bool {
    event.audience.is_none() && !event.is_ephemeral() && PREVIEWED.iter().any(|p| event.json.as_str().starts_with(p))
}

impl Latest {
    fn shard(&self, room: &RoomId) -> &Mutex<HashMap<RoomId, Last>> {
        &self.shards[self.hasher.hash_one(room) as usize % SHARDS]
    }

    /// Notes a stored event this node received, for a room the table holds.
    pub fn on_event(&self, event: &Arc<StoredEvent>) {
        if event.is_ephemeral() {
            return;
        }
        let mut map = self.shard(&event.room_id).lock().expect("latest lock");
        let Some(last) = map.get_mut(&event.room_id) else { return };
        last.head = last.head.max(event.seq);
        if previewable(event) && last.line.as_ref().is_none_or(|l| l.seq < event.seq) {
            last.line = Some(event.clone());
        }
    }

    /// Starts holding a room before its store read, so an event that arrives during the read is
    /// kept (see [`Latest::fill`]).
    pub fn begin(&self, room: &RoomId) {
        let mut map = self.shard(room).lock().expect("latest lock");
        if map.len() >= MAX_LATEST_ROOMS / SHARDS && !map.contains_key(room) {
            map.clear();
        }
        map.entry(room.clone()).or_default();
    }

    /// What the table holds of the room, once the store was read for it.
    pub fn get(&self, room: &RoomId) -> Option<Last> {
        self.shard(room).lock().expect("latest lock").get(room).filter(|l| l.filled).cloned()
    }

    /// Puts what the store holds of a room (after [`Latest::begin`]), keeping anything newer this
    /// node received meanwhile.
    pub fn fill(&self, room: &RoomId, head: u64, line: Option<Arc<StoredEvent>>) -> Last {
        let from_store = Last { head, line, filled: true };
        let mut map = self.shard(room).lock().expect("latest lock");
        let last = map.entry(room.clone()).or_default();
        last.filled = true;
        last.head = last.head.max(from_store.head);
        let newer = |l: &Option<Arc<StoredEvent>>| l.as_ref().map_or(0, |e| e.seq);
        if newer(&from_store.line) > newer(&last.line) {
            last.line = from_store.line;
        }
        last.clone()
    }

    /// Rooms held (for `/metrics`' tables).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().expect("latest lock").len()).sum()
    }

    /// True when no room is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Utf8Bytes;

    fn event(room: &str, seq: u64, json: &str) -> Arc<StoredEvent> {
        Arc::new(StoredEvent::new(RoomId(room.into()), seq, Utf8Bytes::from(json.to_owned())))
    }

    #[test]
    fn a_room_is_read_from_the_store_once_and_keeps_what_came_meanwhile() {
        let latest = Latest::default();
        let room = RoomId("r".into());
        latest.on_event(&event("r", 8, r#"{"type":"JOIN"}"#));
        assert!(latest.get(&room).is_none(), "a room nobody listed is not held");
        latest.begin(&room);
        latest.on_event(&event("r", 9, r#"{"type":"JOIN"}"#));
        assert!(latest.get(&room).is_none(), "not read from the store yet");
        let stored = event("r", 7, r#"{"type":"TALK","seq":7}"#);
        let last = latest.fill(&room, 8, Some(stored));
        assert_eq!((last.head, last.line.as_ref().map(|l| l.seq)), (9, Some(7)));
        latest.on_event(&event("r", 10, r#"{"type":"GM_MESSAGE","seq":10}"#));
        latest.on_event(&event("r", 11, r#"{"type":"DICE","seq":11}"#));
        let last = latest.get(&room).unwrap();
        assert_eq!((last.head, last.line.as_ref().map(|l| l.seq)), (11, Some(10)));
    }

    #[test]
    fn the_table_never_holds_more_than_its_bound() {
        let latest = Latest::default();
        for n in 0..(MAX_LATEST_ROOMS + 1000) {
            latest.begin(&RoomId(format!("room-{n}")));
        }
        assert!(latest.len() <= MAX_LATEST_ROOMS, "{}", latest.len());
    }
}
