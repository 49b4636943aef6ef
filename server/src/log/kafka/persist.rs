//! This node's share of writing the topic to the store: one consumer group, shared by all nodes,
//! so each partition is written by one node at a time and taken over by another when that node
//! goes. A batch is inserted (idempotently: a replay after a crash stores nothing twice), then the
//! partition's watermark is recorded, then the offsets are committed. While the store is down the
//! batch is retried and nothing more is read: the topic, not this process, holds the backlog.
//!
//! The store is a fold of the log: it keeps exactly what the readers delivered. The same
//! messageId window as theirs (`dedupe.rs`, filled from the topic when a partition is taken
//! over) drops the same retries, so a retry and its original in one batch leave the original's
//! seq; a repeat the window no longer covers was delivered as new, and is stored as new. An
//! envelope this node cannot decode is never skipped: its partition stops there (the watermark
//! and the commit stay before it) and is reported on `/metrics` and `/readyz` until a node that
//! can read it takes the partition over.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::dedupe::Window;
use super::warm::warm;
use super::{LogError, Role, Shared, client, envelope, log_time, unavailable};
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::model::StoredEvent;
use crate::store::{Inserted, Store, StoreError};

/// The store group of a topic's epoch: the first keeps the configured name.
fn store_group(name: &str, epoch: u64) -> String {
    if epoch == 0 { name.to_owned() } else { format!("{name}-epoch{epoch}") }
}

/// The store writer of this node.
pub(super) struct Persister {
    consumer: StreamConsumer,
    /// The settings of the consumer that fills a taken-over partition's window from the topic:
    /// a new one each time, since a takeover often follows a broker outage, and a consumer kept
    /// idle through it may still wait out its stale connections (`socket.timeout.ms`).
    warmer: ClientConfig,
    shared: Arc<Shared>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    batch_max: usize,
    window_ms: u64,
    timeout: Duration,
    /// Per partition: the offset the window has read up to, and the window.
    windows: HashMap<i32, (i64, Window)>,
}

impl Persister {
    /// Joins the store group.
    pub fn new(
        settings: &Settings,
        brokers: &str,
        shared: Arc<Shared>,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
    ) -> Result<Persister, LogError> {
        let consumer: StreamConsumer = client(settings, brokers)
            // A new epoch's topic has offsets of its own: the old group's commits would skip them.
            .set("group.id", store_group(&settings.kafka_store_group, shared.epoch))
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", "50")
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "1000")
            .create()
            .map_err(unavailable)?;
        consumer.subscribe(&[&shared.topic]).map_err(unavailable)?;
        let mut warmer = client(settings, brokers);
        warmer
            .set("group.id", format!("{}-warm-{}", settings.kafka_store_group, settings.node_id))
            .set("enable.auto.commit", "false");
        Ok(Persister {
            consumer,
            warmer,
            shared,
            store,
            metrics,
            batch_max: settings.write_batch_max,
            window_ms: settings.dedupe_window_secs * 1000,
            timeout: Duration::from_millis(settings.backend_timeout_ms),
            windows: HashMap::new(),
        })
    }

    /// Writes batches until the server stops.
    pub async fn run(mut self, shutdown: CancellationToken) {
        loop {
            let first = tokio::select! {
                _ = shutdown.cancelled() => return,
                m = self.consumer.recv() => m.map(|m| m.detach()),
            };
            let mut batch = match first {
                Ok(m) => vec![m],
                Err(e) => {
                    tracing::warn!(error = %e, "kafka: store group read failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            // Whatever else is ready joins the batch: one insert, one commit.
            while batch.len() < self.batch_max {
                match tokio::time::timeout(Duration::from_millis(2), self.consumer.recv()).await {
                    Ok(Ok(m)) => batch.push(m.detach()),
                    _ => break,
                }
            }
            if !self.write(batch, &shutdown).await {
                return;
            }
        }
    }

    /// Stores a batch, records the watermarks and commits; false if the server stopped first.
    async fn write(&mut self, batch: Vec<OwnedMessage>, shutdown: &CancellationToken) -> bool {
        let mut through: BTreeMap<i32, i64> = BTreeMap::new();
        let mut events = Vec::with_capacity(batch.len());
        for m in &batch {
            let (p, offset) = (m.partition(), m.offset());
            if self.shared.is_parked(Role::Store, p) {
                continue;
            }
            let draft = match envelope::decode(m.payload().unwrap_or_default()) {
                Ok(draft) => draft,
                Err(e) => {
                    self.park(p, offset, &e);
                    continue;
                }
            };
            through.insert(p, offset);
            let seq = self.shared.seq(offset);
            let Some(window) = self.window(p, offset, shutdown).await else { return false };
            if let Some(id) = draft.message_id()
                && window.note(&draft.room_id, id, seq, log_time(m)).is_some()
            {
                continue; // every reader dropped this retry too
            }
            let mut event = StoredEvent::seal(draft, seq);
            event.born_ms = log_time(m);
            events.push(Arc::new(event));
        }
        let store = &self.store;
        let Some(out) = self.retry(shutdown, || store.insert(events.clone())).await else { return false };
        // The store refuses a messageId it holds under another seq. The window let this one
        // through, so it was delivered as a new message: it is stored as one, by its seq alone.
        let again: Vec<Arc<StoredEvent>> = events
            .iter()
            .zip(&out)
            .filter(|(_, o)| matches!(o, Inserted::Duplicate(_)))
            .map(|(e, _)| {
                let mut alone = StoredEvent::clone(e);
                alone.message_id = None;
                Arc::new(alone)
            })
            .collect();
        if !again.is_empty() && self.retry(shutdown, || store.insert(again.clone())).await.is_none() {
            return false;
        }
        for (&p, &offset) in &through {
            let key = self.shared.watermark_key(p);
            let seq = self.shared.seq(offset);
            if self.retry(shutdown, || store.set_watermark(&key, seq)).await.is_none() {
                return false;
            }
        }
        let mut commit = TopicPartitionList::new();
        for (&p, &offset) in &through {
            let _ = commit.add_partition_offset(&self.shared.topic, p, Offset::Offset(offset + 1));
        }
        if !through.is_empty()
            && let Err(e) = self.consumer.commit(&commit, CommitMode::Async)
        {
            // Not fatal: whoever reads the partition next writes the batch again, harmlessly.
            tracing::warn!(error = %e, "kafka: store group commit failed");
        }
        true
    }

    /// The partition's window, ready for the event at `offset`: filled from the topic when this
    /// node did not read the partition up to there (it was just assigned, or it moved).
    async fn window(&mut self, p: i32, offset: i64, shutdown: &CancellationToken) -> Option<&mut Window> {
        if self.windows.get(&p).is_none_or(|(next, _)| *next != offset) {
            let mut pause = Duration::from_millis(50);
            let filled = loop {
                let (config, topic, epoch) = (self.warmer.clone(), self.shared.topic.clone(), self.shared.epoch);
                let (window_ms, timeout) = (self.window_ms, self.timeout);
                let got = tokio::task::spawn_blocking(move || {
                    let warmer: BaseConsumer = config.create().map_err(unavailable)?;
                    warm(&warmer, &topic, epoch, p, offset, window_ms, timeout)
                })
                .await;
                match got {
                    Ok(Ok(window)) => break window,
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, partition = p, "kafka: store group cannot fill its window; retrying")
                    }
                    Err(e) => tracing::warn!(error = %e, "kafka: store group window task failed; retrying"),
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return None,
                    _ = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(Duration::from_secs(2));
            };
            self.windows.insert(p, (offset, filled));
        }
        let (next, window) = self.windows.get_mut(&p)?;
        *next = offset + 1;
        Some(window)
    }

    /// Stops storing partition `p` at `offset`: nothing after it is stored or committed here.
    fn park(&mut self, p: i32, offset: i64, why: &dyn std::fmt::Display) {
        let mut paused = TopicPartitionList::new();
        let _ = paused.add_partition(&self.shared.topic, p);
        if let Err(e) = self.consumer.pause(&paused) {
            tracing::warn!(error = %e, partition = p, "kafka: cannot pause a parked partition");
        }
        self.windows.remove(&p);
        self.shared.park(Role::Store, p, offset, why, &self.metrics);
    }

    /// Runs `op` until it succeeds (backing off up to 2 s); `None` if the server stops first or
    /// the topic changed under the node (the store group then stops here).
    async fn retry<T, F, Fut>(&self, shutdown: &CancellationToken, op: F) -> Option<T>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        let mut pause = Duration::from_millis(50);
        loop {
            // The topic changed under this node: what it would write now could be numbered in
            // the old epoch; a node started on the new topic writes it.
            if self.shared.changed.load(std::sync::atomic::Ordering::Relaxed) {
                return None;
            }
            match op().await {
                Ok(v) => return Some(v),
                Err(e) => {
                    self.metrics.backend_errors.with_label_values(&["store"]).inc();
                    tracing::warn!(error = %e, "kafka: store write failed; retrying");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return None,
                _ = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }
}
