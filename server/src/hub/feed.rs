//! One reader's view of a room, the same for every transport: stored events after a seq, then live
//! ones, each exactly once and in seq order, on any node and with any log.
//!
//! The feed registers in the room's ring first; the ring then holds every event above its floor.
//! What lies between the reader's cursor and the floor comes from the store, once the store is
//! known to hold it (the log says how far it is durable). Seq decides what was sent already; seqs
//! rise per room but need not be contiguous. `next` is cancel-safe: it changes no state across an
//! `.await`, so transports can race it against their socket in `select!`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use dungeontalk_app::wire::{MemberId, RoomId};

use super::Hub;
use super::rooms::{Read, Subscription};
use crate::cluster::{ClusterError, Presence};
use crate::log::{LogError, RoomLog};
use crate::model::StoredEvent;
use crate::store::{Store, StoreError};

/// What a feed does when its reader falls a whole ring behind.
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
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("the hub has stopped")]
    Closed,
    /// The room filled up and this reader holds no seat in it (its capacity).
    #[error("the room is full")]
    RoomFull(u32),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// Everything the room holds so far was given out (only from [`Feed::next_or_head`]).
    #[error("no new event yet")]
    AtHead,
}

/// Events taken from the ring per read.
const RING_BATCH: usize = 64;
/// The longest a reader waits for a store that answers but makes no progress towards the log
/// (a store that does not answer at all is waited for as long as it takes).
const DURABLE_WAIT: Duration = Duration::from_secs(10);
/// The longest pause between two tries of a store the reader waits for.
const RETRY_MAX: Duration = Duration::from_millis(500);

/// A room's events for one reader; `last` is the highest seq it has been given.
pub struct Feed {
    store: Arc<dyn Store>,
    log: Arc<dyn RoomLog>,
    room_id: RoomId,
    sub: Subscription,
    /// The next ring position to read.
    pos: u64,
    /// The ring's end when the feed opened: older ephemeral frames are not news to this reader.
    live_from: u64,
    /// Events read (from the store or the ring) but not yet given out, in seq order.
    pending: VecDeque<Arc<StoredEvent>>,
    last: u64,
    /// Still reading stored pages after `last` (up to the ring's floor).
    catching_up: bool,
    page: usize,
    on_lag: OnLag,
    /// Whose feed this is: events for others (whispers) are skipped.
    reader: MemberId,
    /// Read from the ring since the last store page: a lag now is the reader's own slowness.
    live: bool,
    presence: Arc<dyn Presence>,
    /// Whether the reader holds a seat, once [`Feed::keep_seat`] says seats matter.
    seated: Option<bool>,
    /// Answer `AtHead` instead of waiting for the room's next event (once).
    stop_at_head: bool,
}

impl Feed {
    /// A feed of the room that starts live now; call [`Feed::resume`] or [`Feed::recent`] next.
    pub fn open(hub: &Hub, room_id: &RoomId, reader: &MemberId, page: usize, on_lag: OnLag) -> Feed {
        let log = hub.log.clone();
        let sub = hub.rooms.open(room_id, || log.position(room_id));
        let snap = sub.snapshot();
        Feed {
            store: hub.store.clone(),
            log,
            room_id: room_id.clone(),
            sub,
            pos: snap.end,
            live_from: snap.end,
            pending: VecDeque::new(),
            last: 0,
            catching_up: false,
            page: page.max(1),
            on_lag,
            reader: reader.clone(),
            live: true,
            presence: hub.cluster.presence.clone(),
            seated: None,
            stop_at_head: false,
        }
    }

    /// Ends the feed with [`FeedError::RoomFull`] when the room fills up while the reader holds
    /// no seat (`seated`: whether they hold one now). Seat news rides on JOIN, LEAVE and PRESENCE
    /// events; the shared state is asked only when a full room meets a reader thought seatless.
    pub fn keep_seat(&mut self, seated: bool) {
        self.seated = Some(seated);
    }

    /// Follows the seat news of the next pending event; an error when it ends this reader.
    /// Cancel-safe: it only sets `seated` to what is true, and may be run again for the same event.
    async fn check_seat(&mut self) -> Result<(), FeedError> {
        let Some(seated) = self.seated else { return Ok(()) };
        let Some(seats) = self.pending.front().and_then(|e| e.seats.as_deref()) else { return Ok(()) };
        let mut seated = match &seats.change {
            Some((member, took)) if *member == self.reader => *took,
            _ => seated,
        };
        let capacity = seats.full_at;
        if capacity > 0 && !seated {
            // Its own JOIN may still be on its way to this reader: the shared state knows.
            let (joined, taken) = self.presence.seat(&self.room_id, &self.reader).await?;
            if !joined && taken >= capacity {
                return Err(FeedError::RoomFull(capacity));
            }
            seated = joined;
        }
        self.seated = Some(seated);
        Ok(())
    }

    /// Gives every stored event after `after` first, then live ones.
    pub fn resume(&mut self, after: u64) {
        self.last = after;
        self.live = false;
        self.pos = self.sub.snapshot().start;
        self.catching_up = true;
    }

    /// Also gives the ephemeral frames (GM_CHUNK, PRESENCE, TYPING) that came after the stored
    /// event `seq`, while this node's ring still holds that event; a client that reads in
    /// separate requests (long polling) would miss those that came between two of them.
    pub fn replay_ephemeral_after(&mut self, seq: u64) {
        if let Some(pos) = self.sub.after_seq(seq) {
            self.live_from = self.live_from.min(pos);
        }
    }

    /// Gives the newest `n` stored events first (history on join), then live ones. (A whisper for
    /// others counts towards `n` and is skipped, so a reader may get fewer.)
    pub async fn recent(&mut self, n: usize) -> Result<(), FeedError> {
        let snap = self.sub.snapshot();
        let held = self.sub.stored();
        self.pos = snap.start;
        self.catching_up = false;
        if n == 0 {
            self.last = held.last().map_or(snap.floor, |e| e.seq);
            self.pos = snap.end;
            return Ok(());
        }
        if held.len() >= n {
            // The ring has them all: no store read, however many readers arrive at once.
            self.last = held[held.len() - n].seq - 1;
            return Ok(());
        }
        self.live = false;
        self.wait_durable(snap.floor).await?;
        let older =
            patiently(&self.room_id, || self.store.before(&self.room_id, snap.floor.saturating_add(1), n - held.len()))
                .await;
        self.last = older.last().map_or(snap.floor, |oldest| oldest.seq - 1);
        self.pending.extend(older.into_iter().rev().map(Arc::new));
        Ok(())
    }

    /// The highest seq given out so far (the cursor a client resumes from).
    pub fn last(&self) -> u64 {
        self.last
    }

    /// The next event if the room has one already (in the store or the ring); `None` once
    /// everything it holds so far was given out. A reader that must know when it has caught up
    /// (a game's driver) reads with this.
    pub async fn next_or_head(&mut self) -> Result<Option<Item>, FeedError> {
        self.stop_at_head = true;
        let got = self.next().await;
        self.stop_at_head = false;
        match got {
            Ok(item) => Ok(Some(item)),
            Err(FeedError::AtHead) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// True when the next event is already here: [`Feed::next`] will not wait.
    pub fn ready(&self) -> bool {
        !self.pending.is_empty() || (!self.catching_up && self.sub.ready(self.pos))
    }

    /// Waits until the store holds the room's events through `seq`. An outage pauses the reader
    /// (it keeps its connection, like a live reader); only a store that answers and stays behind
    /// for `DURABLE_WAIT` without progress ends it.
    async fn wait_durable(&self, seq: u64) -> Result<(), FeedError> {
        let mut deadline = tokio::time::Instant::now() + DURABLE_WAIT;
        let mut seen = None;
        let mut retry = Retry::new(&self.room_id);
        loop {
            match self.log.durable_through(&self.room_id).await {
                Ok(through) if through >= seq => return Ok(()),
                Ok(through) if seen != Some(through) => {
                    seen = Some(through);
                    deadline = tokio::time::Instant::now() + DURABLE_WAIT;
                }
                Ok(_) if tokio::time::Instant::now() >= deadline => {
                    return Err(LogError::Unavailable("the store is behind the log".into()).into());
                }
                Ok(_) => {}
                Err(e) => {
                    retry.failed(&e);
                    deadline = tokio::time::Instant::now() + DURABLE_WAIT;
                }
            }
            retry.pause().await;
        }
    }

    /// The next event after `last`, waiting for one if need be.
    pub async fn next(&mut self) -> Result<Item, FeedError> {
        loop {
            self.check_seat().await?;
            if let Some(event) = self.pending.pop_front() {
                if event.is_ephemeral() {
                    if event.visible_to(&self.reader) {
                        return Ok(Item::Event(event));
                    }
                    continue;
                }
                if event.seq <= self.last {
                    continue;
                }
                self.last = event.seq;
                // A whisper between others still moves the cursor: it is a seq this reader has passed.
                if event.visible_to(&self.reader) {
                    return Ok(Item::Event(event));
                }
                continue;
            }
            if self.catching_up {
                let snap = self.sub.snapshot();
                if self.last >= snap.floor {
                    self.catching_up = false;
                    continue;
                }
                // Boxed: catching up is rare, and inline these waits would size every idle
                // reader's future (this one sits in each connection's select).
                Box::pin(self.wait_durable(snap.floor)).await?;
                let read = || self.store.after(&self.room_id, self.last, self.page);
                let mut page = Box::pin(patiently(&self.room_id, read)).await;
                // The ring holds everything above its floor from `start` on; a short page means
                // the store had nothing more up to there. Nothing above the floor is taken from
                // the store: there it may have holes (a batch being written), and a reader given
                // 105 before 103 would skip 103 when the ring brings it.
                let full = page.len() == self.page;
                let cut = super::history::cut_at(&mut page, snap.floor);
                self.pos = self.pos.max(snap.start);
                self.live = false;
                self.catching_up = full && !cut;
                self.pending.extend(page.into_iter().map(Arc::new));
                continue;
            }
            match self.sub.read(&mut self.pos, self.live_from, RING_BATCH, &mut self.pending) {
                Read::Got => self.live = true,
                Read::Empty => {
                    // Store pages (up to `replay_page`) grew it past what ring reads need: give
                    // that back before idling, idle readers are most readers.
                    if self.pending.capacity() > RING_BATCH {
                        self.pending = VecDeque::new();
                    }
                    if std::mem::take(&mut self.stop_at_head) {
                        return Err(FeedError::AtHead);
                    }
                    self.sub.wait(self.pos).await
                }
                Read::Lagged => {
                    tracing::debug!(room = %self.room_id, "reader lagged");
                    self.pos = self.sub.snapshot().start;
                    // The ring moved on while the store was read: that is no fault of the reader.
                    match (self.on_lag, self.live) {
                        (OnLag::Report, true) => return Ok(Item::Lagged { after: self.last }),
                        _ => self.catching_up = true,
                    }
                }
            }
        }
    }
}

/// A store read a reader needs, tried until the store answers: an outage pauses the reader
/// instead of ending it (the transport still ends it on shutdown or when its client goes).
async fn patiently<T, F>(room: &RoomId, mut read: impl FnMut() -> F) -> T
where
    F: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut retry = Retry::new(room);
    loop {
        match read().await {
            Ok(v) => return v,
            Err(e) => retry.failed(&e),
        }
        retry.pause().await;
    }
}

/// Growing pauses (at most `RETRY_MAX`) between tries of a store a reader waits for; the first
/// failure is logged, the rest would only repeat it.
struct Retry<'a> {
    room: &'a RoomId,
    pause: Duration,
    warned: bool,
}

impl<'a> Retry<'a> {
    fn new(room: &'a RoomId) -> Self {
        Retry { room, pause: Duration::from_millis(5), warned: false }
    }

    fn failed(&mut self, e: &dyn std::fmt::Display) {
        if !std::mem::replace(&mut self.warned, true) {
            tracing::warn!(room = %self.room, error = %e, "a reader waits for the store");
        }
    }

    async fn pause(&mut self) {
        tokio::time::sleep(self.pause).await;
        self.pause = (self.pause * 2).min(RETRY_MAX);
    }
}
