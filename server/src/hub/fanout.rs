//! This node's subscribers, per room: one bounded broadcast ring per room with subscribers.
//!
//! Each event is pushed once and every receiver reads the same `Arc`; a receiver that falls more
//! than the ring's length behind gets `Lagged` and is told to RESYNC, never silently skipped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use dungeontalk_app::wire::RoomId;
use tokio::sync::broadcast;

use super::StoredEvent;

/// Room → live subscribers on this node.
pub struct Fanout {
    rooms: Mutex<HashMap<RoomId, broadcast::Sender<Arc<StoredEvent>>>>,
    /// How many events one subscriber may fall behind (`outgoing_queue_len`).
    queue_len: usize,
}

impl Fanout {
    /// A fan-out whose subscribers may each fall `queue_len` events behind.
    pub fn new(queue_len: usize) -> Fanout {
        Fanout { rooms: Mutex::new(HashMap::new()), queue_len }
    }

    /// A receiver of the room's events published from now on.
    pub fn subscribe(&self, room_id: &RoomId) -> broadcast::Receiver<Arc<StoredEvent>> {
        let mut rooms = self.rooms.lock().expect("fanout lock");
        match rooms.get(room_id) {
            Some(tx) => tx.subscribe(),
            None => {
                let (tx, rx) = broadcast::channel(self.queue_len);
                rooms.insert(room_id.clone(), tx);
                rx
            }
        }
    }

    /// Hands an event to the room's local subscribers; forgets rooms nobody listens to any more.
    pub fn deliver(&self, event: Arc<StoredEvent>) {
        let mut rooms = self.rooms.lock().expect("fanout lock");
        if let Some(tx) = rooms.get(&event.room_id) {
            let room_id = event.room_id.clone();
            if tx.send(event).is_err() {
                rooms.remove(&room_id);
            }
        }
    }
}
