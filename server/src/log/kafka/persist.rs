//! This node's share of writing the topic to the store: one consumer group, shared by all nodes,
//! so each partition is written by one node at a time and taken over by another when that node
//! goes. A batch is inserted (idempotently: a replay after a crash stores nothing twice), then the
//! partition's watermark is recorded, then the offsets are committed. While the store is down the
//! batch is retried and nothing more is read: the topic, not this process, holds the backlog.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::{LogError, Shared, client, envelope, unavailable};
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::model::StoredEvent;
use crate::store::{Store, StoreError};

/// The store writer of this node.
pub(super) struct Persister {
    consumer: StreamConsumer,
    shared: Arc<Shared>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    batch_max: usize,
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
            .set("group.id", &settings.kafka_store_group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", "50")
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "1000")
            .create()
            .map_err(unavailable)?;
        consumer.subscribe(&[&shared.topic]).map_err(unavailable)?;
        Ok(Persister { consumer, shared, store, metrics, batch_max: settings.write_batch_max })
    }

    /// Writes batches until the server stops.
    pub async fn run(self, shutdown: CancellationToken) {
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
    async fn write(&self, batch: Vec<OwnedMessage>, shutdown: &CancellationToken) -> bool {
        let mut through: BTreeMap<i32, i64> = BTreeMap::new();
        let mut events = Vec::with_capacity(batch.len());
        for m in &batch {
            through.insert(m.partition(), m.offset());
            match envelope::decode(m.payload().unwrap_or_default()) {
                Ok(draft) => events.push(Arc::new(StoredEvent::seal(draft, m.offset() as u64 + 1))),
                Err(e) => tracing::warn!(error = %e, offset = m.offset(), "kafka: not stored"),
            }
        }
        let store = &self.store;
        if !self.retry(shutdown, || async { store.insert(events.clone()).await.map(|_| ()) }).await {
            return false;
        }
        for (&p, &offset) in &through {
            let key = self.shared.watermark_key(p);
            let seq = offset as u64 + 1;
            if !self.retry(shutdown, || store.set_watermark(&key, seq)).await {
                return false;
            }
        }
        let mut commit = TopicPartitionList::new();
        for (&p, &offset) in &through {
            let _ = commit.add_partition_offset(&self.shared.topic, p, Offset::Offset(offset + 1));
        }
        if let Err(e) = self.consumer.commit(&commit, CommitMode::Async) {
            // Not fatal: whoever reads the partition next writes the batch again, harmlessly.
            tracing::warn!(error = %e, "kafka: store group commit failed");
        }
        true
    }

    /// Runs `op` until it succeeds (backing off up to 2 s); false if the server stops first.
    async fn retry<F, Fut>(&self, shutdown: &CancellationToken, op: F) -> bool
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<(), StoreError>>,
    {
        let mut pause = Duration::from_millis(50);
        loop {
            match op().await {
                Ok(()) => return true,
                Err(e) => {
                    self.metrics.backend_errors.with_label_values(&["store"]).inc();
                    tracing::warn!(error = %e, "kafka: store write failed; retrying");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return false,
                _ = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }
}
