//! The room log on Kafka: the topic is the one order. `seq` = partition offset + 1, so every node
//! gives an event the same seq; a room's seqs rise (one partition per room, key = roomId) but
//! are not contiguous. An append returns once the broker has it (`acks=all`, idempotent
//! producer); each node reads every partition itself (manual assignment, never a shared group)
//! and hands each event to its inbox; one consumer group shared by the nodes writes the topic to
//! the store in batches and records how far it got (the partition's *watermark*), which is what
//! readers wait for before they read the store up to a ring's floor.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use dungeontalk_app::wire::RoomId;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
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

use dedupe::Dedupe;

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
    node: String,
    /// Per partition: the seq through which this node has handed events to its inbox.
    positions: Vec<AtomicU64>,
    /// Per partition: the persister's watermark as last read from the store, and when.
    durable: Vec<(AtomicU64, Mutex<Option<Instant>>)>,
    dedupe: Mutex<Dedupe>,
    /// Appends of this node waiting to learn their outcome from the reader.
    pending: Mutex<HashMap<u64, Outcome>>,
}

impl Shared {
    fn partition(&self, room: &RoomId) -> i32 {
        envelope::partition_of(&room.0, self.partitions)
    }

    fn watermark_key(&self, partition: i32) -> String {
        format!("{}/{partition}", self.topic)
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
        let shared = Arc::new(Shared {
            topic: settings.kafka_topic.clone(),
            partitions,
            node: settings.node_id.clone(),
            positions: (0..partitions).map(|_| AtomicU64::new(0)).collect(),
            durable: (0..partitions).map(|_| (AtomicU64::new(0), Mutex::new(None))).collect(),
            dedupe: Mutex::new(Dedupe::new(settings.dedupe_window_secs * 1000)),
            pending: Mutex::new(HashMap::new()),
        });
        let reader = apply::Reader::start(settings, brokers, shared.clone(), inbox, metrics.clone(), timeout).await?;
        let mut tasks = vec![tokio::spawn(reader.run(shutdown.clone()))];
        let persister = persist::Persister::new(settings, brokers, shared.clone(), store.clone(), metrics.clone())?;
        tasks.push(tokio::spawn(persister.run(shutdown.clone())));
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
        if let Some(seq) = self.shared.dedupe.lock().expect("dedupe lock").get(room, id) {
            return Ok(Some(seq));
        }
        // A UUIDv7 says when it was made: one older than half the window may have left it.
        let made_ms = id.get_timestamp().map(|t| t.to_unix()).map(|(s, n)| s * 1000 + u64::from(n) / 1_000_000);
        let old = made_ms.is_none_or(|ms| ms + self.dedupe_window.as_millis() as u64 / 2 < now_ms());
        if old { Ok(self.store.message_seq(room, id).await?) } else { Ok(None) }
    }
}

/// The topic's partition count, after making the topic if it does not exist.
async fn ensure_topic(
    settings: &Settings,
    brokers: &str,
    producer: &FutureProducer,
    timeout: Duration,
) -> Result<i32, LogError> {
    let topic = settings.kafka_topic.clone();
    let admin: AdminClient<DefaultClientContext> =
        client(settings, brokers).create().map_err(|e| unavailable(format!("kafka_brokers: {e}")))?;
    let new = NewTopic::new(&topic, settings.kafka_partitions, TopicReplication::Fixed(settings.kafka_replication));
    let made = admin
        .create_topics(&[new], &AdminOptions::new().operation_timeout(Some(timeout)).request_timeout(Some(timeout)))
        .await
        .map_err(|e| unavailable(format!("kafka_brokers: cannot reach Kafka: {e}")))?;
    for result in made {
        if let Err((name, code)) = result
            && code != RDKafkaErrorCode::TopicAlreadyExists
        {
            return Err(unavailable(format!("kafka_topic: cannot create {name}: {code}")));
        }
    }
    let producer = producer.clone();
    tokio::task::spawn_blocking(move || {
        let metadata = producer.client().fetch_metadata(Some(&topic), timeout).map_err(unavailable)?;
        let found = metadata.topics().iter().find(|t| t.name() == topic);
        let replicas = found.and_then(|t| t.partitions().iter().map(|p| p.replicas().len()).min());
        if let Some(warning) = replicas.and_then(|r| durability_warning(&topic, r)) {
            tracing::warn!("{warning}");
        }
        match found.map(|t| t.partitions().len()) {
            Some(n) if n > 0 => Ok(n as i32),
            _ => Err(unavailable(format!("kafka_topic: {topic} has no partitions"))),
        }
    })
    .await
    .map_err(unavailable)?
}

/// Replicas a partition needs so that an acknowledged event survives losing a broker (with
/// `min.insync.replicas` 2 and `acks=all`).
pub const DURABLE_REPLICAS: usize = 3;

/// What to say at start when the topic keeps fewer copies than a durable setup needs.
fn durability_warning(topic: &str, replicas: usize) -> Option<String> {
    (replicas < DURABLE_REPLICAS).then(|| {
        format!(
            "kafka_topic {topic} keeps {replicas} replica(s) per partition: an acknowledged event is lost with its \
             broker; a durable setup needs replication >= {DURABLE_REPLICAS} and min.insync.replicas = 2"
        )
    })
}

/// Every few seconds: how far this node's reader and the store group are behind the topic's end.
async fn report_lag(
    producer: FutureProducer,
    shared: Arc<Shared>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let mut timer = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = timer.tick() => {}
        }
        let (p2, s2) = (producer.clone(), shared.clone());
        let ends = tokio::task::spawn_blocking(move || {
            (0..s2.partitions)
                .map(|p| {
                    p2.client().fetch_watermarks(&s2.topic, p, Duration::from_secs(2)).map(|(_, h)| h.max(0) as u64)
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await;
        let Ok(Ok(ends)) = ends else { continue };
        for (p, end) in ends.into_iter().enumerate() {
            let label = p.to_string();
            let read = shared.positions[p].load(Ordering::SeqCst);
            metrics.consumer_lag.with_label_values(&["reader", &label]).set(end.saturating_sub(read) as i64);
            if let Ok(stored) = store.watermark(&shared.watermark_key(p as i32)).await {
                metrics.consumer_lag.with_label_values(&["store", &label]).set(end.saturating_sub(stored) as i64);
            }
        }
    }
}

#[async_trait]
impl RoomLog for KafkaLog {
    async fn enqueue(&self, draft: Draft) -> Result<Pending, LogError> {
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
                    Ok(Appended { seq: offset as u64 + 1, message_id, duplicate: false })
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
        let producer = self.producer.clone();
        let (topic, timeout) = (self.shared.topic.clone(), self.timeout);
        tokio::task::spawn_blocking(move || producer.client().fetch_metadata(Some(&topic), timeout).map(|_| ()))
            .await
            .map_err(unavailable)?
            .map_err(unavailable)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fewer_than_three_replicas_is_said_at_start() {
        let said = super::durability_warning("chat", 1).expect("a warning");
        assert!(said.contains("1 replica(s)") && said.contains("replication >= 3"), "{said}");
        assert_eq!(super::durability_warning("chat", 3), None);
    }
}
