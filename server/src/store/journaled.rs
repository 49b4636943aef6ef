//! Room events on their way into redb: made durable by the journal on the inserting thread (the
//! log's writer), served from memory, and written into redb in bulk by a thread of their own.
//!
//! The writer's work per batch is then a lookup, one journal write with its `fdatasync`, and a
//! few map inserts; redb's B-tree work (page copies, its cache, checksums, the commit) happens
//! once per journal file (`store_journal_bytes`), or once events have waited [`APPLY_AFTER`],
//! off the path between a send and its delivery.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use redb::Database;

use super::journal::Journal;
use super::overlay::{Layer, Overlay, then_redb};
use super::{Inserted, StoreError, fail, tables};
use crate::model::StoredEvent;

/// How far past its limit, in limits, a journal file may run while the applier is still busy
/// with the other one; past that the writer waits for the applier (which then is the limit).
const OVERRUN_LIMITS: u64 = 4;

/// How long journaled events wait in memory at most (give or take as long again) before the
/// applier takes them though their file is not full: at a light load the overlay stays small
/// and the heap flat, instead of holding a whole journal file's events for hours.
const APPLY_AFTER: Duration = Duration::from_secs(1);

/// The journal, the overlay and the applier thread.
pub(super) struct Journaled {
    shared: Arc<Shared>,
    to_applier: Option<SyncSender<Arc<Layer>>>,
    applier: Option<JoinHandle<()>>,
}

struct Shared {
    /// Held through a whole insert (and a hand-off): the journal's order is the overlay's.
    /// Lock order: the journal, then the overlay.
    journal: Mutex<Journal>,
    overlay: Mutex<Overlay>,
    /// Signalled when the applier is done with a layer.
    applied: Condvar,
}

impl Journaled {
    /// Starts the applier over `db` for a journal that was just started (empty).
    pub(super) fn start(db: Arc<Database>, journal: Journal) -> std::io::Result<Journaled> {
        let shared = Arc::new(Shared {
            journal: Mutex::new(journal),
            overlay: Mutex::new(Overlay::default()),
            applied: Condvar::new(),
        });
        let (to_applier, layers) = sync_channel(1);
        let applier = std::thread::Builder::new().name("dt-store-applier".into()).spawn({
            let shared = shared.clone();
            move || apply_all(&db, &shared, layers)
        })?;
        Ok(Journaled { shared, to_applier: Some(to_applier), applier: Some(applier) })
    }

    /// What is journaled and not yet in redb; read it before redb (see `overlay.rs`).
    pub(super) fn overlay(&self) -> MutexGuard<'_, Overlay> {
        self.shared.overlay.lock().expect("overlay lock")
    }

    /// Stores a batch: each event new to the overlay and to redb is journaled (durable when this
    /// returns) and then served from the overlay until the applier has written it into redb.
    pub(super) fn insert(&self, db: &Database, events: &[Arc<StoredEvent>]) -> Result<Vec<Inserted>, StoreError> {
        let journal = self.shared.journal.lock().expect("journal lock");
        let mut out: Vec<Option<Inserted>> = {
            let overlay = self.overlay();
            if let Some(e) = &overlay.failed {
                return Err(fail(format!("the journal could not be applied ({e}); restart to recover from it")));
            }
            events.iter().map(|e| known(&overlay, e)).collect()
        };
        // What the overlay does not know, redb may (a replayed batch).
        then_redb(&mut out, |open| {
            let asked: Vec<&Arc<StoredEvent>> = open.iter().map(|i| &events[*i]).collect();
            tables::known(db, &asked).map_err(fail)
        })?;
        let fresh = fresh_in_batch(events, &mut out);
        self.journal_and_hold(journal, &fresh)?;
        Ok(out.into_iter().map(|i| i.expect("every event decided")).collect())
    }

    /// [`Journaled::insert`] for events the caller checked are new (`Store::insert_new_now`):
    /// the same journal record, without the overlay's and redb's lookups.
    pub(super) fn insert_new(&self, events: &[Arc<StoredEvent>]) -> Result<(), StoreError> {
        let journal = self.shared.journal.lock().expect("journal lock");
        if let Some(e) = &self.overlay().failed {
            return Err(fail(format!("the journal could not be applied ({e}); restart to recover from it")));
        }
        self.journal_and_hold(journal, events)
    }

    /// Journals `fresh` (durable when this returns) and serves it from the overlay.
    fn journal_and_hold(
        &self,
        mut journal: MutexGuard<'_, Journal>,
        fresh: &[Arc<StoredEvent>],
    ) -> Result<(), StoreError> {
        if fresh.is_empty() {
            return Ok(());
        }
        let refs: Vec<&StoredEvent> = fresh.iter().map(|e| &**e).collect();
        let full = journal.append(&refs).map_err(|e| fail(format!("journal: {e}")))?;
        let mut overlay = self.overlay();
        for event in fresh {
            overlay.filling.add(event);
        }
        if full {
            self.hand_off(&mut journal, overlay);
        }
        Ok(())
    }

    /// Gives the full journal file's layer to the applier and goes on in the other file; while
    /// the applier is busy with that one, goes on in this file (up to [`OVERRUN_LIMITS`]).
    fn hand_off(&self, journal: &mut Journal, mut overlay: MutexGuard<'_, Overlay>) {
        loop {
            if overlay.failed.is_some() {
                return;
            }
            if overlay.applying.is_none() {
                let layer = take_filling(journal, &mut overlay);
                drop(overlay);
                if let Some(to_applier) = &self.to_applier {
                    // Never blocks: the applier took the last layer before it cleared `applying`.
                    let _ = to_applier.send(layer);
                }
                return;
            }
            if journal.overrun() < OVERRUN_LIMITS {
                return;
            }
            overlay = self.shared.applied.wait(overlay).expect("overlay lock");
        }
    }
}

impl Drop for Journaled {
    fn drop(&mut self) {
        // What the overlay holds is in the journal: the next open re-applies it. The applier
        // must be gone before the database can be opened again.
        drop(self.to_applier.take());
        if let Some(applier) = self.applier.take() {
            let _ = applier.join();
        }
    }
}

/// What the overlay says of an event about to be inserted: `None` if it is new to the overlay.
fn known(overlay: &Overlay, event: &StoredEvent) -> Option<Inserted> {
    if let Some(mid) = event.message_id
        && let Some(seq) = overlay.message_seq(&event.room_id, mid)
    {
        return Some(if seq == event.seq { Inserted::Stored } else { Inserted::Duplicate(seq) });
    }
    overlay.holds(&event.room_id, event.seq).then_some(Inserted::Stored)
}

/// Decides the events neither the overlay nor redb knew, against the batch itself (a batch may
/// repeat an event or a message id), and returns the new ones.
fn fresh_in_batch(events: &[Arc<StoredEvent>], out: &mut [Option<Inserted>]) -> Vec<Arc<StoredEvent>> {
    let mut fresh = Vec::with_capacity(events.len());
    let mut ids: HashMap<(&str, uuid::Uuid), u64> = HashMap::new();
    let mut seqs: HashSet<(&str, u64)> = HashSet::new();
    for (event, slot) in events.iter().zip(out.iter_mut()) {
        if slot.is_some() {
            continue;
        }
        let room = event.room_id.0.as_str();
        if let Some(seq) = event.message_id.and_then(|mid| ids.get(&(room, mid))) {
            *slot = Some(if *seq == event.seq { Inserted::Stored } else { Inserted::Duplicate(*seq) });
            continue;
        }
        *slot = Some(Inserted::Stored);
        if seqs.insert((room, event.seq)) {
            if let Some(mid) = event.message_id {
                ids.insert((room, mid), event.seq);
            }
            fresh.push(event.clone());
        }
    }
    fresh
}

/// Makes the filling layer the one being applied, and goes on in the journal's other file.
fn take_filling(journal: &mut Journal, overlay: &mut Overlay) -> Arc<Layer> {
    let layer = Arc::new(std::mem::take(&mut overlay.filling));
    overlay.applying = Some(layer.clone());
    journal.rotate();
    layer
}

/// The filling layer, if its events have waited [`APPLY_AFTER`] and the applier is free.
fn stale(shared: &Shared) -> Option<Arc<Layer>> {
    // Only if the journal is free: a writer that holds it may be waiting for this thread.
    let mut journal = shared.journal.try_lock().ok()?;
    let mut overlay = shared.overlay.lock().expect("overlay lock");
    let waited = overlay.filling.since.is_some_and(|t| t.elapsed() >= APPLY_AFTER);
    if overlay.failed.is_some() || overlay.applying.is_some() || !waited {
        return None;
    }
    Some(take_filling(&mut journal, &mut overlay))
}

/// The applier: writes each layer it is handed (or finds stale) into redb, then drops it from
/// the overlay.
fn apply_all(db: &Database, shared: &Shared, layers: Receiver<Arc<Layer>>) {
    loop {
        let layer = match layers.recv_timeout(APPLY_AFTER) {
            Ok(layer) => layer,
            Err(RecvTimeoutError::Timeout) => match stale(shared) {
                Some(layer) => layer,
                None => continue,
            },
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let started = Instant::now();
        let result = tables::apply(db, &layer);
        let mut overlay = shared.overlay.lock().expect("overlay lock");
        match result {
            Ok(()) => {
                overlay.applying = None;
                let ms = started.elapsed().as_millis() as u64;
                tracing::debug!(events = layer.len, bytes = layer.bytes, ms, "journal applied to the store");
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot apply the journal to the store; new events are refused until a restart");
                overlay.failed = Some(e.to_string());
            }
        }
        drop(overlay);
        shared.applied.notify_all();
    }
}
