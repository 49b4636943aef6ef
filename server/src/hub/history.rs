//! Pages of a room's stored history, cut where the store is known to be whole.
//!
//! With Kafka the store group writes batches while nodes already deliver what follows, so the
//! store can hold seq 105 before 103. A page that reached past the partition's watermark could
//! hand a client 105, and the client, resuming after 105, would never see 103. Every read of
//! history therefore stops at the seq through which the log says the store is complete.

use dungeontalk_app::wire::RoomId;

use super::{Hub, HubError};
use crate::model::StoredEvent;

/// A page of stored events and whether more may follow (in the direction read).
pub struct Page {
    pub events: Vec<StoredEvent>,
    /// The page was full and ended below the store's complete point: ask again from its end.
    pub more: bool,
}

/// Keeps the events at or below `through` (`events` oldest first); whether the page was cut.
pub fn cut_at(events: &mut Vec<StoredEvent>, through: u64) -> bool {
    let keep = events.partition_point(|e| e.seq <= through);
    let cut = keep < events.len();
    events.truncate(keep);
    cut
}

impl Hub {
    /// Up to `limit` stored events after `after`, oldest first, none past the store's complete point.
    pub async fn history_after(&self, room: &RoomId, after: u64, limit: usize) -> Result<Page, HubError> {
        let through = self.log.durable_through(room).await?;
        if after >= through {
            return Ok(Page { events: Vec::new(), more: false });
        }
        let mut events = self.store.after(room, after, limit).await?;
        let full = events.len() == limit;
        let cut = cut_at(&mut events, through);
        Ok(Page { events, more: full && !cut })
    }

    /// Up to `limit` stored events before `before`, newest first, none past the store's complete
    /// point (the newest events not yet stored reach a client through its live feed).
    pub async fn history_before(&self, room: &RoomId, before: u64, limit: usize) -> Result<Page, HubError> {
        let through = self.log.durable_through(room).await?;
        let before = before.min(through.saturating_add(1));
        let events = self.store.before(room, before, limit).await?;
        let more = events.len() == limit;
        Ok(Page { events, more })
    }
}
