//! Journaled room events that redb does not hold yet, kept in memory and read before redb.
//!
//! Two layers: what the writer has journaled since the last hand-off (`filling`), and what the
//! applier is writing into redb now (`applying`). A reader copies what it needs from both under
//! one lock and only then reads redb: an event leaves `applying` only after redb's commit holds
//! it, so a reader that missed it here finds it there.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use dungeontalk_app::wire::RoomId;
use uuid::Uuid;

use crate::model::StoredEvent;

/// Events journaled together, with what the store's tables would say about them, by room: a
/// lookup hashes the room once and compares seqs, not room ids (and clones none).
#[derive(Default)]
pub(super) struct Layer {
    pub(super) rooms: HashMap<RoomId, RoomLayer>,
    /// Events held, all rooms together.
    pub(super) len: usize,
    /// The JSON bytes held, for the log.
    pub(super) bytes: usize,
    /// When the first event came in.
    pub(super) since: Option<std::time::Instant>,
}

/// One room's part of a layer.
#[derive(Default)]
pub(super) struct RoomLayer {
    /// seq → event.
    pub(super) events: BTreeMap<u64, Arc<StoredEvent>>,
    /// messageId → seq.
    pub(super) ids: HashMap<u128, u64>,
}

impl RoomLayer {
    /// The room's highest seq here.
    pub(super) fn head(&self) -> u64 {
        self.events.last_key_value().map_or(0, |(seq, _)| *seq)
    }
}

impl Layer {
    /// Takes in an event the journal holds.
    pub(super) fn add(&mut self, event: &Arc<StoredEvent>) {
        let room = match self.rooms.get_mut(&event.room_id) {
            Some(room) => room,
            None => self.rooms.entry(event.room_id.clone()).or_default(),
        };
        if let Some(mid) = event.message_id {
            room.ids.insert(mid.as_u128(), event.seq);
        }
        if room.events.insert(event.seq, event.clone()).is_none() {
            self.len += 1;
        }
        self.bytes += event.json.len();
        self.since.get_or_insert_with(std::time::Instant::now);
    }
}

/// The layers not yet in redb; the store keeps it behind one lock.
#[derive(Default)]
pub(super) struct Overlay {
    pub(super) filling: Layer,
    pub(super) applying: Option<Arc<Layer>>,
    /// The applier could not write a layer into redb: the journal still holds it, so the store
    /// refuses new events until a restart re-applies the journal.
    pub(super) failed: Option<String>,
}

impl Overlay {
    /// The room's part of each layer that has one, the older layer first.
    fn room<'a>(&'a self, room: &'a RoomId) -> impl Iterator<Item = &'a RoomLayer> + 'a {
        self.applying.as_deref().into_iter().chain(std::iter::once(&self.filling)).filter_map(|l| l.rooms.get(room))
    }

    /// The seq stored under a room's message id, if the overlay has it.
    pub(super) fn message_seq(&self, room: &RoomId, mid: Uuid) -> Option<u64> {
        let mid = mid.as_u128();
        self.room(room).find_map(|r| r.ids.get(&mid).copied())
    }

    /// Whether the overlay holds this seq of the room.
    pub(super) fn holds(&self, room: &RoomId, seq: u64) -> bool {
        self.room(room).any(|r| r.events.contains_key(&seq))
    }

    /// Up to `limit` of the room's events here with seq > `after`, oldest first.
    pub(super) fn after(&self, room: &RoomId, after: u64, limit: usize) -> Vec<Arc<StoredEvent>> {
        let mut out: Vec<Arc<StoredEvent>> = Vec::new();
        if after == u64::MAX {
            return out;
        }
        for r in self.room(room) {
            out.extend(r.events.range(after + 1..).take(limit).map(|(_, e)| e.clone()));
        }
        out
    }

    /// Up to `limit` of the room's events here with seq < `before`, newest first.
    pub(super) fn before(&self, room: &RoomId, before: u64, limit: usize) -> Vec<Arc<StoredEvent>> {
        let mut out: Vec<Arc<StoredEvent>> = Vec::new();
        for r in self.room(room) {
            out.extend(r.events.range(..before).rev().take(limit).map(|(_, e)| e.clone()));
        }
        out
    }

    /// Every room's highest seq here.
    pub(super) fn heads(&self) -> HashMap<RoomId, u64> {
        let mut out = HashMap::new();
        let layers = self.applying.as_deref().into_iter().chain(std::iter::once(&self.filling));
        for (room, r) in layers.flat_map(|l| l.rooms.iter()) {
            let head = out.entry(room.clone()).or_insert(0);
            *head = (*head).max(r.head());
        }
        out
    }
}

/// Fills the answers the overlay left open (`None`) with what `redb` answers for their indexes,
/// in order: the overlay is asked first, redb only for the rest (see the module's note).
pub(super) fn then_redb<T, E>(
    out: &mut [Option<T>],
    redb: impl FnOnce(&[usize]) -> Result<Vec<Option<T>>, E>,
) -> Result<(), E> {
    let open: Vec<usize> = (0..out.len()).filter(|i| out[*i].is_none()).collect();
    if !open.is_empty() {
        for (i, found) in open.iter().zip(redb(&open)?) {
            out[*i] = found;
        }
    }
    Ok(())
}

/// Merges what redb returned with what the overlay had (either may repeat the other: an event
/// applied between the two reads), ordered by seq as `newest_first` says, at most `limit`.
pub(super) fn merge(
    stored: Vec<StoredEvent>,
    overlay: Vec<Arc<StoredEvent>>,
    newest_first: bool,
    limit: usize,
) -> Vec<StoredEvent> {
    if overlay.is_empty() {
        return stored;
    }
    let mut by_seq: BTreeMap<u64, StoredEvent> = stored.into_iter().map(|e| (e.seq, e)).collect();
    for event in overlay {
        by_seq.entry(event.seq).or_insert_with(|| from_store(&event));
    }
    if newest_first {
        by_seq.into_values().rev().take(limit).collect()
    } else {
        by_seq.into_values().take(limit).collect()
    }
}

/// The event as a read from redb would give it: no append time (it is history, not news).
fn from_store(event: &StoredEvent) -> StoredEvent {
    let mut copy = event.clone();
    copy.born_ms = 0;
    copy
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Utf8Bytes;

    fn event(room: &str, seq: u64) -> Arc<StoredEvent> {
        let json = format!(r#"{{"type":"JOIN","seq":{seq},"roomId":"{room}"}}"#);
        Arc::new(StoredEvent::new(RoomId(room.into()), seq, Utf8Bytes::from(json)))
    }

    fn seqs(events: &[StoredEvent]) -> Vec<u64> {
        events.iter().map(|e| e.seq).collect()
    }

    #[test]
    fn reads_both_layers_of_one_room_and_merges_with_the_store() {
        let mut applying = Layer::default();
        for seq in 3..=5 {
            applying.add(&event("a", seq));
        }
        applying.add(&event("b", 9));
        let mut overlay = Overlay { applying: Some(Arc::new(applying)), ..Overlay::default() };
        for seq in 6..=7 {
            overlay.filling.add(&event("a", seq));
        }
        let a = RoomId("a".into());
        // redb holds 1..=3: 3 was applied between the overlay's read and redb's.
        let stored = |seqs: &[u64]| seqs.iter().map(|s| (*event("a", *s)).clone()).collect::<Vec<_>>();
        assert_eq!(seqs(&merge(stored(&[2, 3]), overlay.after(&a, 1, 10), false, 10)), [2, 3, 4, 5, 6, 7]);
        assert_eq!(seqs(&merge(stored(&[2, 3]), overlay.after(&a, 1, 3), false, 3)), [2, 3, 4]);
        assert_eq!(seqs(&merge(stored(&[3, 2, 1]), overlay.before(&a, 7, 3), true, 3)), [6, 5, 4]);
        assert_eq!(seqs(&merge(stored(&[2, 1]), overlay.before(&a, 3, 5), true, 5)), [2, 1]);
        assert!(overlay.holds(&a, 6) && overlay.holds(&a, 3) && !overlay.holds(&a, 9));
        assert_eq!(overlay.heads()[&a], 7);
        assert_eq!(overlay.heads()[&RoomId("b".into())], 9);
    }
}
