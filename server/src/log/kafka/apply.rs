//! This node's reader of the whole topic (every partition assigned by hand, never through a
//! group shared with other nodes): it seals each event with seq = offset + 1, drops a messageId
//! repeated within the dedupe window, moves the partition's position, then hands the event to
//! the inbox, and tells this node's waiting appends how theirs ended.
//!
//! At start it reads the last `dedupe_window_secs` of the topic without delivering anything, so
//! its window holds what every other node's does; live delivery starts at the end of the topic.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::{LogError, NODE_HEADER, REQUEST_HEADER, Shared, client, envelope, unavailable};
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::model::{Appended, Inbox, StoredEvent, now_ms};

/// The reader of every partition for this node.
pub(super) struct Reader {
    consumer: StreamConsumer,
    shared: Arc<Shared>,
    inbox: Arc<dyn Inbox>,
    metrics: Arc<Metrics>,
    /// Per partition: the first offset delivered live (the end of the topic at start).
    live_from: Vec<i64>,
}

impl Reader {
    /// Assigns every partition, from the start of the dedupe window on.
    pub async fn start(
        settings: &Settings,
        brokers: &str,
        shared: Arc<Shared>,
        inbox: Arc<dyn Inbox>,
        metrics: Arc<Metrics>,
        timeout: Duration,
    ) -> Result<Reader, LogError> {
        let consumer: StreamConsumer = client(settings, brokers)
            // Required by the client; never used to share work or to commit.
            .set("group.id", format!("dungeontalk-reader-{}", settings.node_id))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("fetch.wait.max.ms", "20")
            .create()
            .map_err(unavailable)?;
        let window_ms = settings.dedupe_window_secs * 1000;
        let (topic, partitions) = (shared.topic.clone(), shared.partitions);
        let consumer = Arc::new(consumer);
        let c = consumer.clone();
        let (live_from, warm_from) = tokio::task::spawn_blocking(move || {
            let mut live_from = Vec::new();
            let mut since = TopicPartitionList::new();
            for p in 0..partitions {
                let (_, high) = c.fetch_watermarks(&topic, p, timeout).map_err(unavailable)?;
                live_from.push(high);
                since
                    .add_partition_offset(&topic, p, Offset::Offset(now_ms().saturating_sub(window_ms) as i64))
                    .map_err(unavailable)?;
            }
            let found = c.offsets_for_times(since, timeout).map_err(unavailable)?;
            let warm_from: Vec<i64> = (0..partitions)
                .map(|p| match found.find_partition(&topic, p).map(|e| e.offset()) {
                    Some(Offset::Offset(o)) => o.min(live_from[p as usize]),
                    _ => live_from[p as usize],
                })
                .collect();
            Ok::<_, LogError>((live_from, warm_from))
        })
        .await
        .map_err(unavailable)??;
        let mut assignment = TopicPartitionList::new();
        for p in 0..partitions {
            // Everything before the end of the topic is the store's to serve.
            shared.positions[p as usize].store(live_from[p as usize].max(0) as u64, Ordering::SeqCst);
            assignment
                .add_partition_offset(&shared.topic, p, Offset::Offset(warm_from[p as usize]))
                .map_err(unavailable)?;
        }
        consumer.assign(&assignment).map_err(unavailable)?;
        let consumer = Arc::try_unwrap(consumer).map_err(|_| unavailable("the reader is shared"))?;
        Ok(Reader { consumer, shared, inbox, metrics, live_from })
    }

    /// Reads until the server stops.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                msg = self.consumer.recv() => match msg {
                    Ok(m) => self.handle(&m),
                    Err(e) => {
                        self.metrics.backend_errors.with_label_values(&["log"]).inc();
                        tracing::warn!(error = %e, "kafka: read failed");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                },
            }
        }
    }

    fn handle(&self, m: &BorrowedMessage<'_>) {
        let (p, offset) = (m.partition(), m.offset());
        let Some(live_from) = self.live_from.get(p as usize).copied() else { return };
        let live = offset >= live_from;
        let seq = offset as u64 + 1;
        let position = &self.shared.positions[p as usize];
        let mine = self.own_request(m);
        let draft = match envelope::decode(m.payload().unwrap_or_default()) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, partition = p, offset, "kafka: skipped an event");
                self.metrics.backend_errors.with_label_values(&["log"]).inc();
                if live {
                    position.fetch_max(seq, Ordering::SeqCst);
                }
                return;
            }
        };
        let at = m.timestamp().to_millis().map_or_else(now_ms, |t| t.max(0) as u64);
        let message_id = draft.message_id();
        if let Some(id) = message_id {
            let earlier = self.shared.dedupe.lock().expect("dedupe lock").note(&draft.room_id, id, seq, at);
            if let Some(earlier) = earlier {
                if live {
                    position.fetch_max(seq, Ordering::SeqCst);
                    self.resolve(mine, Appended { seq: earlier, message_id, duplicate: true });
                }
                return;
            }
        }
        if !live {
            return;
        }
        let mut event = StoredEvent::seal(draft, seq);
        event.born_ms = at;
        // Position first, then delivery: a reader registered in between relies on it.
        position.fetch_max(seq, Ordering::SeqCst);
        self.inbox.event(Arc::new(event));
        self.resolve(mine, Appended { seq, message_id, duplicate: false });
    }

    /// The request id of an append made by this node, if the message is one.
    fn own_request(&self, m: &BorrowedMessage<'_>) -> Option<u64> {
        let headers = m.headers()?;
        let value = |name: &str| headers.iter().find(|h| h.key == name).and_then(|h| h.value);
        if value(NODE_HEADER)? != self.shared.node.as_bytes() {
            return None;
        }
        std::str::from_utf8(value(REQUEST_HEADER)?).ok()?.parse().ok()
    }

    fn resolve(&self, request: Option<u64>, appended: Appended) {
        if let Some(r) = request
            && let Some(waiting) = self.shared.pending.lock().expect("pending lock").remove(&r)
        {
            let _ = waiting.send(appended);
        }
    }
}
