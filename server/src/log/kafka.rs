//! The room log on Kafka: the topic is the one order. `seq` = partition offset + 1, so every node
//! gives an event the same seq; a room's seqs rise (one partition per room, key = roomId) but
//! are not contiguous. A topic made anew under the same store starts a new *epoch*, whose seqs
//! are `epoch << 40 | offset + 1`: above every seq of the old topic, so cursors stay valid. An append returns once the broker has it (`acks=all`, idempotent
//! producer); each node reads every partition itself (manual assignment, never a shared group)
//! and hands each event to its inbox; one consumer group shared by the nodes writes the topic to
//! the store in batches and records how far it got (the partition's *watermark*), which is what
//! readers wait for before they read the store up to a ring's floor.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use dungeontalk_app::wire::RoomId;
use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{LogError, Pending, RoomLog};
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::model::{Appended, Draft, Inbox, now_ms};
use crate::store::Store;

mod apply;
mod dedupe;
pub mod envelope;
mod persist;
mod topic;
mod warm;

use dedupe::Window;
use topic::{ensure_topic, epoch, report_lag};

/// A seq's bits below this are the offset + 1; above it, the topic's epoch.
const EPOCH_SHIFT: u32 = 40;
/// Seqs stay below 2^53, the largest integer a browser's JSON numbers hold exactly.
const MAX_EPOCH: u64 = (1 << (53 - EPOCH_SHIFT)) - 1;

/// The seq of the event at `offset` in a topic of `epoch` (`offset` -1: the seq before the first).
fn seq_of(epoch: u64, offset: i64) -> u64 {
    (epoch << EPOCH_SHIFT) | (offset + 1).max(0) as u64
}

/// Headers that let a node recognise its own appends when it reads them back.
const NODE_HEADER: &str = "dt-node";
const REQUEST_HEADER: &str = "dt-req";
/// The longest pause between two attempts to reach a broker that is down (librdkafka: 10 s).
const RECONNECT_BACKOFF_MAX_MS: u64 = 1000;

/// What this node's reader found for one of its own appends.
type Outcome = oneshot::Sender<Appended>;

/// The state the appending side and this node's reader share.
struct Shared {
    topic: String,
    partitions: i32,
    /// How many times the topic was made anew under this store (see [`seq_of`]).
    epoch: u64,
    node: String,
    /// Per partition: the seq through which this node has handed events to its inbox.
    positions: Vec<AtomicU64>,
    /// Per partition: the persister's watermark as last read from the store, and when.
    durable: Vec<(AtomicU64, Mutex<Option<Instant>>)>,
    /// Per partition: the messageIds of the dedupe window, as this node's reader read them.
    dedupe: Vec<Mutex<Window>>,
    /// Appends of this node waiting to learn their outcome from the reader.
    pending: Mutex<HashMap<u64, Outcome>>,
    /// Partitions stopped at an envelope this node cannot decode, by (reader or store, partition):
    /// why, for `/readyz`. Rare, so one lock; the reader's hot path reads `reader_parked`.
    parked: Mutex<BTreeMap<(Role, i32), String>>,
    reader_parked: Vec<AtomicBool>,
    /// The topic is no longer the one this node started on (see [`Shared::topic_changed`]).
    changed: AtomicBool,
}

impl Shared {
    fn partition(&self, room: &RoomId) -> i32 {
        envelope::partition_of(&room.0, self.partitions)
    }

    fn watermark_key(&self, partition: i32) -> String {
        watermark_key(&self.topic, partition)
    }

    /// The seq of the event at `offset`.
    fn seq(&self, offset: i64) -> u64 {
        seq_of(self.epoch, offset)
    }

    /// The offset just after the event with `seq`, in this epoch's topic (0 for an older epoch).
    fn offset_after(&self, seq: u64) -> u64 {
        if seq >> EPOCH_SHIFT == self.epoch { seq & ((1 << EPOCH_SHIFT) - 1) } else { 0 }
    }

    /// Refuses every append, and stops this node's store writer, from now on: the topic's
    /// partitions were added to, or it was made anew, while this node ran. A room's partition is
    /// its roomId's hash modulo the count, and its seqs are offsets in this epoch: either change
    /// would give a room a second order, or seqs that clients hold already. A node started on a
    /// topic made anew begins its next epoch; one started with added partitions refuses to start.
    fn topic_changed(&self, why: String, metrics: &Metrics) {
        if !self.changed.swap(true, Ordering::SeqCst) {
            tracing::error!("kafka: {why}; appends are refused until the nodes are restarted (README: the room log)");
            metrics.backend_errors.with_label_values(&["log"]).inc();
            self.parked.lock().expect("parked lock").insert((Role::Topic, -1), why);
        }
    }

    /// Whether `role` stopped at an envelope of partition `p`.
    fn is_parked(&self, role: Role, p: i32) -> bool {
        match role {
            Role::Reader => self.reader_parked.get(p as usize).is_some_and(|b| b.load(Ordering::Relaxed)),
            _ => self.parked.lock().expect("parked lock").contains_key(&(role, p)),
        }
    }

    /// Stops `role` at the envelope at `offset` of partition `p`, which this node cannot decode:
    /// a rolling upgrade that changed the envelope. Skipping it would lose an acknowledged
    /// event; stopped, the node says so until one that can read it takes the partition.
    fn park(&self, role: Role, p: i32, offset: i64, why: &dyn std::fmt::Display, metrics: &Metrics) {
        let said = format!("{} stopped at partition {p} offset {offset}: {why}", role.name());
        tracing::error!("kafka: {said}");
        if role == Role::Reader
            && let Some(flag) = self.reader_parked.get(p as usize)
        {
            flag.store(true, Ordering::Relaxed);
        }
        self.parked.lock().expect("parked lock").insert((role, p), said);
        metrics.log_parked.with_label_values(&[role.name(), &p.to_string()]).set(offset + 1);
    }
}

/// Who on this node stops at what it cannot read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    /// The reader that hands the topic's events to this node's readers.
    Reader,
    /// This node's share of the store group.
    Store,
    /// The whole topic (it changed under the node).
    Topic,
}

impl Role {
    /// Its name on `/metrics` and `/readyz`.
    fn name(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Store => "store",
            Role::Topic => "topic",
        }
    }
}

/// The Kafka room log of this node.
pub struct KafkaLog {
    producer: FutureProducer,
    shared: Arc<Shared>,
    store: Arc<dyn Store>,
    next_request: AtomicU64,
    timeout: Duration,
    dedupe_window: Duration,
}

fn unavailable(e: impl std::fmt::Display) -> LogError {
    LogError::Unavailable(e.to_string())
}

/// Where the store keeps how far the store group has written a partition of `topic` (a seq).
fn watermark_key(topic: &str, partition: i32) -> String {
    format!("{topic}/{partition}")
}

/// Where the store keeps the epoch of `topic`.
fn epoch_key(topic: &str) -> String {
    format!("{topic}/epoch")
}

/// An event's log time, as every reader of the topic sees it (0 if it has none: never a
/// node's own clock, which would make the dedupe rule differ between nodes).
fn log_time(m: &impl rdkafka::message::Message) -> u64 {
    m.timestamp().to_millis().map_or(0, |t| t.max(0) as u64)
}

/// The client settings every connection of this node shares.
fn client(settings: &Settings, brokers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers).set("client.id", &settings.node_id).set("socket.timeout.ms", "10000");
    // librdkafka backs off up to 10 s between attempts to reach a broker that went away, so a
    // restarted broker stayed unused (sends refused) for up to that long after it was back. At
    // most a second apart, the cost is one connection attempt a second per broker while it is down.
    c.set("reconnect.backoff.max.ms", RECONNECT_BACKOFF_MAX_MS.to_string());
    c
}

impl KafkaLog {
    /// Connects (failing at once if no broker answers), makes the topic if it is missing, warms
    /// the dedupe window up from the topic, and starts this node's reader and its share of the
    /// store writers. Returns the log and its background tasks.
    pub async fn start(
        settings: &Settings,
        brokers: &str,
        store: Arc<dyn Store>,
        inbox: Arc<dyn Inbox>,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
    ) -> Result<(KafkaLog, Vec<JoinHandle<()>>), LogError> {
        let timeout = Duration::from_millis(settings.backend_timeout_ms);
        let producer: FutureProducer = client(settings, brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("compression.type", "lz4")
            .set("linger.ms", "1")
            .set("message.timeout.ms", timeout.as_millis().to_string())
            .create()
            .map_err(|e| unavailable(format!("kafka_brokers: {e}")))?;
        let partitions = ensure_topic(settings, brokers, &producer, timeout).await?;
        if partitions != settings.kafka_partitions {
            return Err(unavailable(format!(
                "kafka_topic {} has {partitions} partitions but kafka_partitions is {}: every node must map rooms \
                 to partitions alike (set kafka_partitions = {partitions}; a topic's partitions cannot be added to)",
                settings.kafka_topic, settings.kafka_partitions
            )));
        }
        let epoch = epoch(settings, &producer, &*store, partitions, timeout).await?;
        let shared = Arc::new(Shared {
            topic: settings.kafka_topic.clone(),
            partitions,
            epoch,
            node: settings.node_id.clone(),
            positions: (0..partitions).map(|_| AtomicU64::new(0)).collect(),
            durable: (0..partitions).map(|_| (AtomicU64::new(0), Mutex::new(None))).collect(),
            dedupe: (0..partitions).map(|_| Mutex::new(Window::new(settings.dedupe_window_secs * 1000))).collect(),
            pending: Mutex::new(HashMap::new()),
            parked: Mutex::new(BTreeMap::new()),
            reader_parked: (0..partitions).map(|_| AtomicBool::new(false)).collect(),
            changed: AtomicBool::new(false),
        });
        let reader = apply::Reader::start(settings, brokers, shared.clone(), inbox, metrics.clone(), timeout).await?;
        let mut tasks = vec![tokio::spawn(reader.run(shutdown.clone()))];
        if settings.kafka_store_writer {
            let persister = persist::Persister::new(settings, brokers, shared.clone(), store.clone(), metrics.clone())?;
            tasks.push(tokio::spawn(persister.run(shutdown.clone())));
        }
        tasks.push(tokio::spawn(report_lag(producer.clone(), shared.clone(), store.clone(), metrics, shutdown)));
        let log = KafkaLog {
            producer,
            shared,
            store,
            next_request: AtomicU64::new(1),
            timeout,
            dedupe_window: Duration::from_secs(settings.dedupe_window_secs),
        };
        Ok((log, tasks))
    }

    /// Whether a messageId was appended before: the window first, the store for ids older than it.
    async fn earlier(&self, room: &RoomId, id: Uuid) -> Result<Option<u64>, LogError> {
        let window = &self.shared.dedupe[self.shared.partition(room) as usize];
        if let Some(seq) = window.lock().expect("dedupe lock").get(room, id) {
            return Ok(Some(seq));
        }
        // A UUIDv7 says when it was made: one older than half the window may have left it.
        let made_ms = id.get_timestamp().map(|t| t.to_unix()).map(|(s, n)| s * 1000 + u64::from(n) / 1_000_000);
        let old = made_ms.is_none_or(|ms| ms + self.dedupe_window.as_millis() as u64 / 2 < now_ms());
        if old { Ok(self.store.message_seq(room, id).await?) } else { Ok(None) }
    }
}

#[async_trait]
impl RoomLog for KafkaLog {
    async fn enqueue(&self, draft: Draft) -> Result<Pending, LogError> {
        if self.shared.changed.load(Ordering::Relaxed) {
            return Err(unavailable("the room log's topic changed under this node"));
        }
        let message_id = draft.message_id();
        if let Some(id) = message_id
            && let Some(seq) = self.earlier(&draft.room_id, id).await?
        {
            return Ok(Box::pin(std::future::ready(Ok(Appended { seq, message_id, duplicate: true }))));
        }
        let request = self.next_request.fetch_add(1, Ordering::Relaxed);
        let (tx, outcome) = oneshot::channel();
        self.shared.pending.lock().expect("pending lock").insert(request, tx);
        let shared = self.shared.clone();
        let forget = move || shared.pending.lock().expect("pending lock").remove(&request);
        let payload = envelope::encode(&draft);
        let request_bytes = request.to_string();
        let headers = OwnedHeaders::new()
            .insert(Header { key: NODE_HEADER, value: Some(self.shared.node.as_bytes()) })
            .insert(Header { key: REQUEST_HEADER, value: Some(request_bytes.as_bytes()) });
        let record = FutureRecord::to(&self.shared.topic)
            .partition(self.shared.partition(&draft.room_id))
            .key(draft.room_id.0.as_str())
            .payload(&payload)
            .headers(headers);
        // Enqueued now, in call order: the producer keeps that order within the partition.
        let delivery = match self.producer.send_result(record) {
            Ok(d) => d,
            Err((e, _)) => {
                forget();
                return Err(unavailable(e));
            }
        };
        let timeout = self.timeout;
        let epoch = self.shared.epoch;
        Ok(Box::pin(async move {
            let offset = match delivery.await {
                Ok(Ok(d)) => d.offset,
                Ok(Err((e, _))) => {
                    forget();
                    return Err(unavailable(e));
                }
                Err(_) => {
                    forget();
                    return Err(LogError::Stopped);
                }
            };
            // Durable now. This node's reader says whether another node's copy came first.
            match tokio::time::timeout(timeout, outcome).await {
                Ok(Ok(appended)) => Ok(appended),
                _ => {
                    forget();
                    Ok(Appended { seq: seq_of(epoch, offset), message_id, duplicate: false })
                }
            }
        }))
    }

    fn position(&self, room: &RoomId) -> u64 {
        self.shared.positions[self.shared.partition(room) as usize].load(Ordering::SeqCst)
    }

    async fn durable_through(&self, room: &RoomId) -> Result<u64, LogError> {
        let p = self.shared.partition(room);
        let (value, read_at) = &self.shared.durable[p as usize];
        // Readers waiting together share one store read per partition every few ms.
        let fresh = read_at.lock().expect("durable lock").is_some_and(|t| t.elapsed() < Duration::from_millis(10));
        if !fresh {
            let through = self.store.watermark(&self.shared.watermark_key(p)).await?;
            value.fetch_max(through, Ordering::SeqCst);
            *read_at.lock().expect("durable lock") = Some(Instant::now());
        }
        Ok(value.load(Ordering::SeqCst))
    }

    async fn ping(&self) -> Result<(), LogError> {
        if let Some(said) = self.shared.parked.lock().expect("parked lock").values().next() {
            return Err(unavailable(said));
        }
        let producer = self.producer.clone();
        let (topic, timeout) = (self.shared.topic.clone(), self.timeout);
        tokio::task::spawn_blocking(move || producer.client().fetch_metadata(Some(&topic), timeout).map(|_| ()))
            .await
            .map_err(unavailable)?
            .map_err(unavailable)
    }
}
