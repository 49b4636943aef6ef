//! The window of recent messageIds kept per partition while the log is read, so that a TALK
//! retried through another node is delivered once. Every reader of the topic (each node's reader
//! and the store group) applies the same rule to the same partition order, so they all drop the
//! same copies and the store keeps the seq clients saw live.
//!
//! The rule is a function of the partition alone: its clock is the highest log time read in it
//! so far (producers' clocks differ, so log times are not in order), and a TALK repeats an earlier
//! copy of its `(roomId, messageId)` when the newest such copy's log time is within `window_ms` of
//! that clock. No node's own clock and no other partition take part, and a reader that starts
//! late reads (`warm.rs`) every copy the rule can still reach, so its answers equal those of a
//! reader that read the partition from its start.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};

use dungeontalk_app::wire::RoomId;
use uuid::Uuid;

/// One partition's recent (room, messageId) → the seq delivered for it.
pub struct Window {
    window_ms: u64,
    /// The highest log time read in the partition.
    clock: u64,
    /// Key → (seq of the copy delivered, newest log time of any copy).
    seqs: HashMap<u64, (u64, u64)>,
    /// (log time, key) in reading order: the eviction order.
    order: VecDeque<(u64, u64)>,
}

/// A fixed-key hash, the same on every node.
fn key(room: &RoomId, message_id: Uuid) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    room.0.hash(&mut h);
    message_id.as_u128().hash(&mut h);
    h.finish()
}

impl Window {
    /// A window of `window_ms` of log time.
    pub fn new(window_ms: u64) -> Window {
        Window { window_ms, clock: 0, seqs: HashMap::new(), order: VecDeque::new() }
    }

    fn fresh(&self, at: u64) -> bool {
        at.saturating_add(self.window_ms) >= self.clock
    }

    /// The seq delivered for this messageId in the room, if a copy is in the window.
    pub fn get(&self, room: &RoomId, message_id: Uuid) -> Option<u64> {
        self.seqs.get(&key(room, message_id)).filter(|(_, at)| self.fresh(*at)).map(|(seq, _)| *seq)
    }

    /// Notes a TALK read at `seq` with log time `at`; returns the seq delivered before when it
    /// repeats a copy in the window (then it is not delivered; it still renews the window).
    pub fn note(&mut self, room: &RoomId, message_id: Uuid, seq: u64, at: u64) -> Option<u64> {
        self.clock = self.clock.max(at);
        while let Some(&(t, k)) = self.order.front() {
            if self.fresh(t) {
                break;
            }
            self.order.pop_front();
            // A key renewed later has a newer entry further on: only its last one removes it.
            if self.seqs.get(&k).is_some_and(|(_, newest)| !self.fresh(*newest)) {
                self.seqs.remove(&k);
            }
        }
        let k = key(room, message_id);
        let earlier = self.seqs.get(&k).filter(|(_, newest)| self.fresh(*newest)).map(|(seq, _)| *seq);
        let entry = self.seqs.entry(k).or_insert((seq, at));
        match earlier {
            Some(_) => entry.1 = entry.1.max(at),
            None => *entry = (seq, at),
        }
        self.order.push_back((at, k));
        earlier
    }

    /// Entries held (for the eviction test).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.seqs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_within_the_window_is_caught_and_old_entries_go() {
        let mut w = Window::new(1000);
        let (r, other) = (RoomId("r".into()), RoomId("o".into()));
        let id = Uuid::now_v7();
        assert_eq!(w.note(&r, id, 5, 10_000), None);
        assert_eq!(w.note(&r, id, 9, 10_500), Some(5), "a retry through another node");
        assert_eq!(w.note(&other, id, 10, 10_600), None, "per room");
        assert_eq!(w.get(&r, id), Some(5));
        w.note(&r, Uuid::now_v7(), 11, 12_000);
        assert_eq!(w.get(&r, id), None, "forgotten after the window");
        assert_eq!(w.len(), 1, "memory returns as time moves on");
    }

    #[test]
    fn the_clock_is_the_partitions_highest_log_time_not_the_latest() {
        let mut w = Window::new(1000);
        let r = RoomId("r".into());
        let (id, late) = (Uuid::now_v7(), Uuid::now_v7());
        w.note(&r, id, 1, 10_000);
        w.note(&r, Uuid::now_v7(), 2, 12_000);
        // A producer whose clock is behind writes a copy stamped inside the old window: the
        // partition's clock (12 000) has left 10 000 behind, so the copy is new, on every node.
        assert_eq!(w.note(&r, id, 3, 10_500), None);
        // A message stamped in the past does not move the clock back.
        w.note(&r, late, 4, 11_900);
        assert_eq!(w.note(&r, late, 5, 12_100), Some(4));
    }

    #[test]
    fn each_copy_renews_the_window_and_the_first_seq_is_kept() {
        let mut w = Window::new(1000);
        let r = RoomId("r".into());
        let id = Uuid::now_v7();
        w.note(&r, id, 1, 10_000);
        assert_eq!(w.note(&r, id, 2, 10_900), Some(1));
        w.note(&r, Uuid::now_v7(), 3, 11_500);
        assert_eq!(w.note(&r, id, 4, 11_800), Some(1), "the copy at 10 900 is still in the window");
    }
}
