//! One reader's view of a room, the same for every transport: stored events after a seq, then live
//! ones, each exactly once and in seq order.
//!
//! The feed subscribes before it reads the store, so nothing published meanwhile falls between the
//! two; seq decides what was sent already. `next` is cancel-safe: it changes no state across an
//! `.await`, so transports can race it against their socket in `select!`.

use std::collections::VecDeque;
use std::sync::Arc;

use dungeontalk_app::wire::{MemberId, RoomId};
use tokio::sync::broadcast::{self, error::RecvError};

use super::{Hub, StoredEvent};
use crate::store::{Store, StoreError};

/// What a feed does when its reader falls a whole queue behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnLag {
    /// Tell the reader (`Item::Lagged`): the WebSocket's RESYNC, the client fetches the gap.
    Report,
    /// Read the gap from the store, at the reader's pace (SSE, long polling).
    CatchUp,
}

/// The next thing a reader gets.
#[derive(Debug)]
pub enum Item {
    Event(Arc<StoredEvent>),
    /// Events after `after` were dropped for this reader (only with [`OnLag::Report`]).
    Lagged {
        after: u64,
    },
}

/// Why a feed ended.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the hub has stopped")]
    Closed,
}

/// A room's events for one reader; `last` is the highest seq it has been given.
pub struct Feed {
    store: Arc<dyn Store>,
    room_id: RoomId,
    live: broadcast::Receiver<Arc<StoredEvent>>,
    /// Events read (from the store or the bus) but not yet given out, in seq order.
    pending: VecDeque<Arc<StoredEvent>>,
    last: u64,
    /// Still reading stored pages after `last`.
    catching_up: bool,
    page: usize,
    on_lag: OnLag,
    /// A gap right after `last` is expected (the reader was told it lagged) and not filled here.
    gap_ok: bool,
    /// Whose feed this is: events for others (whispers) are skipped.
    reader: MemberId,
}

impl Feed {
    /// A feed of the room that starts live now; call [`Feed::resume`] or [`Feed::recent`] next.
    pub fn open(hub: &Hub, room_id: &RoomId, reader: &MemberId, page: usize, on_lag: OnLag) -> Feed {
        Feed {
            live: hub.subscribe(room_id),
            store: hub.store().clone(),
            room_id: room_id.clone(),
            pending: VecDeque::new(),
            last: 0,
            catching_up: false,
            page: page.max(1),
            on_lag,
            gap_ok: false,
            reader: reader.clone(),
        }
    }

    /// Gives every stored event after `after` first, then live ones.
    pub fn resume(&mut self, after: u64) {
        self.last = after;
        self.catching_up = true;
    }

    /// Gives the newest `n` stored events first (history on join), then live ones. (A whisper for
    /// others counts towards `n` and is skipped, so a reader may get fewer.)
    pub async fn recent(&mut self, n: usize) -> Result<(), StoreError> {
        let newest = self.store.before(&self.room_id, u64::MAX, n.max(1)).await?;
        let head = newest.first().map_or(0, |e| e.seq);
        let shown: Vec<_> = newest.into_iter().take(n).collect();
        self.last = shown.last().map_or(head, |oldest| oldest.seq - 1);
        self.pending.extend(shown.into_iter().rev().map(Arc::new));
        Ok(())
    }

    /// The highest seq given out so far (the cursor a client resumes from).
    pub fn last(&self) -> u64 {
        self.last
    }

    /// True when the next event is already here: [`Feed::next`] will not wait.
    pub fn ready(&self) -> bool {
        !self.pending.is_empty() || !self.live.is_empty()
    }

    /// The next event after `last`, waiting for one if need be.
    pub async fn next(&mut self) -> Result<Item, FeedError> {
        loop {
            let Some(event) = self.pending.front().cloned() else {
                if self.catching_up {
                    // A fresh receiver before each read: whatever the read misses, it has, and a
                    // backlog from before the read (already in the store) can no longer lag it.
                    self.live = self.live.resubscribe();
                    let page = self.store.after(&self.room_id, self.last, self.page).await?;
                    self.catching_up = page.len() == self.page;
                    self.pending.extend(page.into_iter().map(Arc::new));
                    continue;
                }
                match self.live.recv().await {
                    Ok(event) => self.pending.push_back(event),
                    Err(RecvError::Lagged(skipped)) => {
                        tracing::debug!(room = %self.room_id, skipped, "reader lagged");
                        match self.on_lag {
                            OnLag::Report => {
                                self.gap_ok = true;
                                return Ok(Item::Lagged { after: self.last });
                            }
                            OnLag::CatchUp => self.catching_up = true,
                        }
                    }
                    Err(RecvError::Closed) => return Err(FeedError::Closed),
                }
                continue;
            };
            if event.is_ephemeral() {
                self.pending.pop_front();
                if event.visible_to(&self.reader) {
                    return Ok(Item::Event(event));
                }
                continue;
            }
            if event.seq <= self.last {
                self.pending.pop_front();
                continue;
            }
            if event.seq > self.last + 1 && !self.gap_ok {
                // Only if a publish failed after its commit: the store has what the bus lost.
                let missing = (event.seq - self.last - 1) as usize;
                let fill = self.store.after(&self.room_id, self.last, missing).await?;
                self.gap_ok = fill.is_empty(); // nothing to fill with: go on rather than spin
                for e in fill.into_iter().rev().filter(|e| e.seq < event.seq) {
                    self.pending.push_front(Arc::new(e));
                }
                continue;
            }
            self.gap_ok = false;
            self.pending.pop_front();
            self.last = event.seq;
            // A whisper between others still moves the cursor: it is a seq this reader has passed.
            if event.visible_to(&self.reader) {
                return Ok(Item::Event(event));
            }
        }
    }
}
