//! The window of recent messageIds every node keeps while it reads the log, so that a TALK retried
//! through another node is delivered once. Every node reads the same log in the same order and
//! applies the same rule (a messageId seen in the room within `window` of log time before), so
//! every node drops the same copies; the store's unique index agrees.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};

use dungeontalk_app::wire::RoomId;
use uuid::Uuid;

/// Recent (room, messageId) → seq, forgotten `window_ms` of log time after they were written.
pub struct Dedupe {
    window_ms: u64,
    seqs: HashMap<u64, u64>,
    /// (log time, key) oldest first: the eviction order.
    order: VecDeque<(u64, u64)>,
}

/// A fixed-key hash, the same on every node.
fn key(room: &RoomId, message_id: Uuid) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    room.0.hash(&mut h);
    message_id.as_u128().hash(&mut h);
    h.finish()
}

impl Dedupe {
    /// A window of `window_ms` of log time.
    pub fn new(window_ms: u64) -> Dedupe {
        Dedupe { window_ms, seqs: HashMap::new(), order: VecDeque::new() }
    }

    /// The seq of an earlier event with this messageId in the room, if it is in the window.
    pub fn get(&self, room: &RoomId, message_id: Uuid) -> Option<u64> {
        self.seqs.get(&key(room, message_id)).copied()
    }

    /// Notes an event read from the log at `at_ms` (log time); returns the earlier seq when it
    /// repeats a messageId seen in the window (and then notes nothing).
    pub fn note(&mut self, room: &RoomId, message_id: Uuid, seq: u64, at_ms: u64) -> Option<u64> {
        while let Some(&(t, k)) = self.order.front() {
            if t + self.window_ms >= at_ms {
                break;
            }
            self.order.pop_front();
            self.seqs.remove(&k);
        }
        let k = key(room, message_id);
        if let Some(&earlier) = self.seqs.get(&k) {
            return Some(earlier);
        }
        self.seqs.insert(k, seq);
        self.order.push_back((at_ms, k));
        None
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
        let mut d = Dedupe::new(1000);
        let (r, other) = (RoomId("r".into()), RoomId("o".into()));
        let id = Uuid::now_v7();
        assert_eq!(d.note(&r, id, 5, 10_000), None);
        assert_eq!(d.note(&r, id, 9, 10_500), Some(5), "a retry through another node");
        assert_eq!(d.note(&other, id, 10, 10_600), None, "per room");
        assert_eq!(d.get(&r, id), Some(5));
        d.note(&r, Uuid::now_v7(), 11, 12_000);
        assert_eq!(d.get(&r, id), None, "forgotten after the window");
        assert_eq!(d.len(), 1, "memory returns as time moves on");
    }
}
