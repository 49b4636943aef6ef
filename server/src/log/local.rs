//! The single-process room log: one writer thread batches appends into one store transaction, then
//! hands the events to the inbox in seq order.
//!
//! One writer means per-room delivery order equals seq order without a lock per room, and a burst
//! of messages costs one commit (one fsync) instead of one each: what arrives during a commit is
//! the next batch. The writer is an OS thread of its own, so a commit (and its fsync) happens where
//! the batch is, with no hand-off to a blocking pool and back. Seqs are per room and contiguous;
//! the writer keeps every room's head in memory (loaded from the store at start; one number per
//! room, kept as long as the room exists, like the room itself).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use dungeontalk_app::wire::RoomId;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::{LogError, Pending, RoomLog};
use crate::metrics::Metrics;
use crate::model::{Appended, Draft, Inbox, StoredEvent};
use crate::store::{Inserted, Store};

/// One append waiting for the writer.
struct Job {
    draft: Draft,
    reply: oneshot::Sender<Result<Appended, LogError>>,
}

/// The last seq of each room that the writer has handed to the inbox.
#[derive(Default)]
struct Heads(RwLock<HashMap<RoomId, u64>>);

impl Heads {
    fn get(&self, room: &RoomId) -> u64 {
        self.0.read().expect("heads lock").get(room).copied().unwrap_or(0)
    }

    fn set(&self, room: &RoomId, seq: u64) {
        let mut heads = self.0.write().expect("heads lock");
        match heads.get_mut(room) {
            Some(head) => *head = seq,
            None => {
                heads.insert(room.clone(), seq);
            }
        }
    }
}

/// How the writer batches: at most `max` appends per commit, `queue_len` waiting, and a wait of
/// `group` for more when at least `group_min` are already waiting.
#[derive(Clone, Copy, Debug)]
pub struct BatchLimits {
    pub max: usize,
    pub queue_len: usize,
    pub group: std::time::Duration,
    pub group_min: usize,
}

impl BatchLimits {
    /// The writer's share of the settings.
    pub fn from_settings(s: &crate::config::Settings) -> BatchLimits {
        BatchLimits {
            max: s.write_batch_max,
            queue_len: s.write_queue_len,
            group: std::time::Duration::from_micros(s.write_group_us),
            group_min: s.write_group_min.max(2),
        }
    }
}

/// The embedded log: a writer thread over the store.
pub struct LocalLog {
    tx: mpsc::Sender<Job>,
    heads: Arc<Heads>,
}

impl LocalLog {
    /// Loads the rooms' heads and starts the writer; the task ends once the log is dropped and
    /// its queue is drained.
    pub async fn start(
        store: Arc<dyn Store>,
        inbox: Arc<dyn Inbox>,
        metrics: Arc<Metrics>,
        batch: BatchLimits,
    ) -> Result<(LocalLog, JoinHandle<()>), LogError> {
        let BatchLimits { max: batch_max, queue_len, group, group_min } = batch;
        let heads = Arc::new(Heads(RwLock::new(store.heads().await?.into_iter().collect())));
        let (tx, rx) = mpsc::channel(queue_len);
        let runtime = tokio::runtime::Handle::current();
        let writer = Writer { store, inbox, metrics, heads: heads.clone(), batch_max, group, group_min, runtime };
        let (done, finished) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("dt-log-writer".into())
            .spawn(move || {
                writer.run(rx);
                let _ = done.send(());
            })
            .map_err(|e| LogError::Unavailable(format!("cannot start the log writer: {e}")))?;
        let task = tokio::spawn(async move {
            let _ = finished.await;
        });
        Ok((LocalLog { tx, heads }, task))
    }
}

#[async_trait]
impl RoomLog for LocalLog {
    async fn enqueue(&self, draft: Draft) -> Result<Pending, LogError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Job { draft, reply }).await.map_err(|_| LogError::Stopped)?;
        Ok(Box::pin(async move { answer.await.map_err(|_| LogError::Stopped)? }))
    }

    fn position(&self, room: &RoomId) -> u64 {
        self.heads.get(room)
    }

    async fn durable_through(&self, _room: &RoomId) -> Result<u64, LogError> {
        // The writer stores before it delivers: whatever a reader has seen is in the store.
        Ok(u64::MAX)
    }

    async fn ping(&self) -> Result<(), LogError> {
        if self.tx.is_closed() { Err(LogError::Stopped) } else { Ok(()) }
    }
}

struct Writer {
    store: Arc<dyn Store>,
    inbox: Arc<dyn Inbox>,
    metrics: Arc<Metrics>,
    heads: Arc<Heads>,
    batch_max: usize,
    /// How long a batch under load waits for more before its commit.
    group: std::time::Duration,
    /// How many appends must be waiting for that wait: fewer is a moderate load, where the
    /// commit (one journal sync) is cheap and the wait would be most of the latency.
    group_min: usize,
    /// For stores that only work async (MongoDB): their calls are run to completion from here.
    runtime: tokio::runtime::Handle,
}

/// What the writer decided for one job before the commit.
enum Plan {
    New(Arc<StoredEvent>),
    /// A repeat of a message stored earlier (or earlier in this batch: the job's index).
    Stored(u64, Uuid),
    Earlier(usize),
}

impl Writer {
    fn run(self, mut rx: mpsc::Receiver<Job>) {
        let mut jobs = Vec::with_capacity(self.batch_max);
        while let Some(first) = rx.blocking_recv() {
            jobs.push(first);
            self.drain(&mut rx, &mut jobs);
            // Many were waiting: the writer is near its limit and others are on their way. A
            // moment's wait makes one commit (one fsync) of them too; at lighter load the batch
            // goes at once.
            if jobs.len() >= self.group_min && jobs.len() < self.batch_max && !self.group.is_zero() {
                std::thread::sleep(self.group);
                self.drain(&mut rx, &mut jobs);
            }
            let (drafts, replies): (Vec<_>, Vec<_>) = jobs.drain(..).map(|j| (j.draft, j.reply)).unzip();
            match self.commit(drafts) {
                Ok(results) => {
                    for (result, reply) in results.into_iter().zip(replies) {
                        let _ = reply.send(Ok(result));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "append failed");
                    self.metrics.backend_errors.with_label_values(&["store"]).inc();
                    for reply in replies {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
        }
    }

    fn drain(&self, rx: &mut mpsc::Receiver<Job>, jobs: &mut Vec<Job>) {
        while jobs.len() < self.batch_max {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
    }

    /// Gives each new draft the next seq of its room, stores the batch, then delivers it.
    fn commit(&self, drafts: Vec<Draft>) -> Result<Vec<Appended>, LogError> {
        let keys: Vec<(RoomId, Uuid)> =
            drafts.iter().filter_map(|d| d.message_id().map(|m| (d.room_id.clone(), m))).collect();
        let mut known: HashMap<(RoomId, Uuid), u64> = HashMap::new();
        if !keys.is_empty() {
            let seqs = match self.store.message_seqs_now(&keys) {
                Some(found) => found?,
                None => self.runtime.block_on(self.store.message_seqs(keys.clone()))?,
            };
            known.extend(keys.into_iter().zip(seqs).filter_map(|(k, s)| s.map(|s| (k, s))));
        }
        let mut next: HashMap<RoomId, u64> = HashMap::new();
        let mut first_in_batch: HashMap<(RoomId, Uuid), usize> = HashMap::new();
        let mut plans = Vec::with_capacity(drafts.len());
        for (i, draft) in drafts.into_iter().enumerate() {
            if let Some(mid) = draft.message_id() {
                let key = (draft.room_id.clone(), mid);
                if let Some(seq) = known.get(&key) {
                    plans.push(Plan::Stored(*seq, mid));
                    continue;
                }
                if let Some(j) = first_in_batch.get(&key) {
                    plans.push(Plan::Earlier(*j));
                    continue;
                }
                first_in_batch.insert(key, i);
            }
            let head = next.entry(draft.room_id.clone()).or_insert_with(|| self.heads.get(&draft.room_id));
            *head += 1;
            plans.push(Plan::New(Arc::new(StoredEvent::seal(draft, *head))));
        }
        let new: Vec<Arc<StoredEvent>> =
            plans.iter().filter_map(|p| if let Plan::New(e) = p { Some(e.clone()) } else { None }).collect();
        if !new.is_empty() {
            // Checked above: every seq follows its room's head, no message id is stored yet.
            let inserted = match self.store.insert_new_now(&new) {
                Some(done) => done?,
                None => self.runtime.block_on(self.store.insert(new))?,
            };
            if let Some(dup) = inserted.iter().find(|i| matches!(i, Inserted::Duplicate(_))) {
                // One writer checked first, so only a second writer on the same store gets here.
                return Err(LogError::Unavailable(format!("another writer shares this store ({dup:?})")));
            }
        }
        let mut out: Vec<Appended> = Vec::with_capacity(plans.len());
        for plan in plans {
            let appended = match plan {
                Plan::New(event) => {
                    // Position first, then delivery: a reader registered in between relies on it.
                    // In place: a room id is cloned only for a room's first event.
                    self.heads.set(&event.room_id, event.seq);
                    self.metrics.events_appended.inc();
                    self.inbox.event(event.clone());
                    Appended { seq: event.seq, message_id: event.message_id, duplicate: false }
                }
                Plan::Stored(seq, mid) => Appended { seq, message_id: Some(mid), duplicate: true },
                Plan::Earlier(j) => Appended { seq: out[j].seq, message_id: out[j].message_id, duplicate: true },
            };
            out.push(appended);
        }
        Ok(out)
    }
}
