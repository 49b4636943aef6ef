//! This node's rooms that have readers: one ring of recent events per room.
//!
//! Each event is pushed once and every reader reads the same `Arc` by position, under the room's
//! own lock (no global lock on delivery; the room map is sharded). A ring has a *floor*: it holds
//! every event of the room with a seq above it, so a reader whose cursor is at or above the floor
//! needs no store read (reconnect storms and history on join are served from memory). The floor
//! is the log's position when the ring was made, and rises as old events fall out. A reader that
//! falls out of the ring is told (`Lagged`), never silently skipped. A ring lives while it has
//! readers.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use dungeontalk_app::wire::RoomId;
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::model::StoredEvent;

const SHARDS: usize = 16;

/// How many events a room's ring keeps: `per_reader` for each of its readers here, at least
/// `min`, at most `max`. A three-player room needs far less than a hall of hundreds.
#[derive(Clone, Copy, Debug)]
pub struct RingSize {
    pub max: usize,
    pub min: usize,
    pub per_reader: usize,
}

impl RingSize {
    /// The same size whatever the readers.
    pub fn fixed(n: usize) -> RingSize {
        RingSize { max: n, min: n, per_reader: 0 }
    }

    /// From `outgoing_queue_len`, `ring_min_events` and `ring_events_per_reader`.
    pub fn from_settings(s: &crate::config::Settings) -> RingSize {
        RingSize { max: s.outgoing_queue_len, min: s.ring_min_events, per_reader: s.ring_events_per_reader }
    }

    fn for_readers(self, readers: usize) -> usize {
        readers.saturating_mul(self.per_reader).max(self.min).min(self.max).max(1)
    }
}

/// Room → ring, for the rooms with readers on this node.
pub struct Rooms {
    shards: Vec<RwLock<HashMap<RoomId, Arc<Ring>>>>,
    hasher: std::collections::hash_map::RandomState,
    size: RingSize,
    metrics: Arc<Metrics>,
}

/// One room's recent events.
pub struct Ring {
    room_id: RoomId,
    state: RwLock<RingState>,
    /// The position after the newest event; readers wait on it.
    head: watch::Sender<u64>,
    readers: AtomicUsize,
}

struct RingState {
    buf: VecDeque<Arc<StoredEvent>>,
    /// The position of `buf[0]` (positions count every event ever pushed into this ring).
    start: u64,
    /// Every event of the room with a higher seq that reached this node is in `buf`.
    floor: u64,
}

/// Where a ring stands: `[start, end)` are the positions it holds; `floor` as above.
#[derive(Clone, Copy, Debug)]
pub struct Snapshot {
    pub start: u64,
    pub end: u64,
    pub floor: u64,
}

/// What one read from a ring found.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// Events were added to the output; the reader's position moved.
    Got,
    /// Nothing new yet.
    Empty,
    /// The reader's position fell out of the ring.
    Lagged,
}

impl Rooms {
    /// Rooms whose rings are sized by `size`.
    pub fn new(size: RingSize, metrics: Arc<Metrics>) -> Rooms {
        Rooms {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            hasher: Default::default(),
            size,
            metrics,
        }
    }

    fn shard(&self, room: &RoomId) -> &RwLock<HashMap<RoomId, Arc<Ring>>> {
        &self.shards[self.hasher.hash_one(room) as usize % SHARDS]
    }

    /// Registers a reader of the room. A new ring takes `position()` as its floor, read after the
    /// ring is in place, so an event the log hands over after that read lands in the ring.
    pub fn open(self: &Arc<Self>, room: &RoomId, position: impl FnOnce() -> u64) -> Subscription {
        let mut map = self.shard(room).write().expect("rooms lock");
        let ring = match map.get(room) {
            Some(ring) => ring.clone(),
            None => {
                let ring = Arc::new(Ring {
                    room_id: room.clone(),
                    state: RwLock::new(RingState { buf: VecDeque::new(), start: 0, floor: u64::MAX }),
                    head: watch::Sender::new(0),
                    readers: AtomicUsize::new(0),
                });
                map.insert(room.clone(), ring.clone());
                ring.state.write().expect("ring lock").floor = position();
                self.metrics.rings.inc();
                ring
            }
        };
        ring.readers.fetch_add(1, Ordering::SeqCst);
        drop(map);
        let head = ring.head.subscribe();
        Subscription { ring, rooms: self.clone(), head }
    }

    /// Hands an event to the room's readers on this node, if it has any.
    pub fn push(&self, event: Arc<StoredEvent>) {
        let ring = self.shard(&event.room_id).read().expect("rooms lock").get(&event.room_id).cloned();
        if let Some(ring) = ring {
            let capacity = self.size.for_readers(ring.readers.load(Ordering::Relaxed));
            ring.push(event, capacity);
        }
    }

    fn release(&self, ring: &Arc<Ring>) {
        if ring.readers.fetch_sub(1, Ordering::SeqCst) != 1 {
            return;
        }
        let mut map = self.shard(&ring.room_id).write().expect("rooms lock");
        let unused = ring.readers.load(Ordering::SeqCst) == 0;
        if unused && map.get(&ring.room_id).is_some_and(|r| Arc::ptr_eq(r, ring)) {
            map.remove(&ring.room_id);
            self.metrics.rings.dec();
        }
    }

    /// The seq of the newest stored event this node has delivered to the room's readers (0 when
    /// the room has no ring here, or its ring holds no stored event).
    pub fn newest_seq(&self, room: &RoomId) -> u64 {
        let ring = self.shard(room).read().expect("rooms lock").get(room).cloned();
        ring.map_or(0, |r| {
            let st = r.state.read().expect("ring lock");
            st.buf.iter().rev().find(|e| !e.is_ephemeral()).map_or(0, |e| e.seq)
        })
    }

    /// The rooms that have a ring.
    pub fn ids(&self) -> Vec<RoomId> {
        self.shards.iter().flat_map(|s| s.read().expect("rooms lock").keys().cloned().collect::<Vec<_>>()).collect()
    }

    /// Rooms with a ring (for tests and metrics).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().expect("rooms lock").len()).sum()
    }

    /// True when no room has a ring.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Ring {
    fn push(&self, event: Arc<StoredEvent>, capacity: usize) {
        let end = {
            let mut st = self.state.write().expect("ring lock");
            st.buf.push_back(event);
            // More than one falls out when readers left since the last event.
            while st.buf.len() > capacity
                && let Some(old) = st.buf.pop_front()
            {
                st.start += 1;
                st.floor = st.floor.max(old.seq);
            }
            if st.buf.capacity() > capacity.saturating_mul(2).max(64) {
                st.buf.shrink_to(capacity);
            }
            st.start + st.buf.len() as u64
        };
        self.head.send_replace(end);
    }
}

/// One reader's registration in a room's ring; dropping it frees the ring once it has no readers.
pub struct Subscription {
    ring: Arc<Ring>,
    rooms: Arc<Rooms>,
    head: watch::Receiver<u64>,
}

impl Subscription {
    /// Where the ring stands now.
    pub fn snapshot(&self) -> Snapshot {
        let st = self.ring.state.read().expect("ring lock");
        Snapshot { start: st.start, end: st.start + st.buf.len() as u64, floor: st.floor }
    }

    /// The stored (non-ephemeral) events the ring holds, oldest first.
    pub fn stored(&self) -> Vec<Arc<StoredEvent>> {
        let st = self.ring.state.read().expect("ring lock");
        st.buf.iter().filter(|e| !e.is_ephemeral()).cloned().collect()
    }

    /// The ring position right after the stored event `seq`, if the ring holds it.
    pub fn after_seq(&self, seq: u64) -> Option<u64> {
        let st = self.ring.state.read().expect("ring lock");
        let i = st.buf.iter().position(|e| e.seq == seq && !e.is_ephemeral())?;
        Some(st.start + i as u64 + 1)
    }

    /// Appends up to `max` events from position `*pos` to `out` and moves `*pos` past them.
    /// Ephemeral events from before `live_from` are skipped: they were news before this reader came.
    pub fn read(&self, pos: &mut u64, live_from: u64, max: usize, out: &mut VecDeque<Arc<StoredEvent>>) -> Read {
        let st = self.ring.state.read().expect("ring lock");
        if *pos < st.start {
            return Read::Lagged;
        }
        let end = st.start + st.buf.len() as u64;
        if *pos >= end {
            return Read::Empty;
        }
        let from = (*pos - st.start) as usize;
        let take = ((end - *pos) as usize).min(max.max(1));
        for (i, event) in st.buf.range(from..from + take).enumerate() {
            if !(event.is_ephemeral() && *pos + (i as u64) < live_from) {
                out.push_back(event.clone());
            }
        }
        *pos += take as u64;
        Read::Got
    }

    /// True when an event at or after `pos` is there already.
    pub fn ready(&self, pos: u64) -> bool {
        *self.head.borrow() > pos
    }

    /// Waits until the ring has an event at or after `pos` (cancel-safe).
    pub async fn wait(&mut self, pos: u64) {
        loop {
            if *self.head.borrow_and_update() > pos {
                return;
            }
            if self.head.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.rooms.release(&self.ring);
    }
}

#[cfg(test)]
mod tests {
    use dungeontalk_app::wire::ServerFrame;

    use super::*;

    fn held(sub: &Subscription) -> u64 {
        let s = sub.snapshot();
        s.end - s.start
    }

    #[test]
    fn a_ring_keeps_what_its_readers_need_and_gives_the_rest_back() {
        let size = RingSize { max: 100, min: 10, per_reader: 8 };
        let rooms = Arc::new(Rooms::new(size, Arc::new(Metrics::new())));
        let room = RoomId("r".into());
        let event = || Arc::new(StoredEvent::ephemeral(room.clone(), &ServerFrame::Resync { after: 0 }, None));
        let push = |n: usize| (0..n).for_each(|_| rooms.push(event()));
        let first = rooms.open(&room, || 0);
        push(50);
        assert_eq!(held(&first), 10, "one reader: the minimum");
        let more: Vec<Subscription> = (0..4).map(|_| rooms.open(&room, || 0)).collect();
        push(50);
        assert_eq!(held(&first), 40, "five readers, eight events each");
        let crowd: Vec<Subscription> = (0..20).map(|_| rooms.open(&room, || 0)).collect();
        push(200);
        assert_eq!(held(&first), 100, "never past the maximum");
        drop((more, crowd));
        push(1);
        assert_eq!(held(&first), 10, "the readers left: the ring shrinks at the next event");
    }
}
