//! This node's reader of the whole topic (every partition assigned by hand, never through a
//! group shared with other nodes): it seals each event with its seq (`seq_of`), drops a messageId
//! repeated within the dedupe window, moves the partition's position, then hands the event to
//! the inbox, and tells this node's waiting appends how theirs ended.
//!
//! At start it fills each partition's dedupe window from the topic (`warm.rs`), so its window
//! answers as every other node's does; live delivery starts at the end of the topic.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use super::warm::warm;
use super::{LogError, NODE_HEADER, REQUEST_HEADER, Role, Shared, client, envelope, log_time, unavailable};
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::model::{Appended, Inbox, StoredEvent};

/// The reader of every partition for this node.
pub(super) struct Reader {
    consumer: StreamConsumer,
    shared: Arc<Shared>,
    inbox: Arc<dyn Inbox>,
    metrics: Arc<Metrics>,
}

impl Reader {
    /// Fills the dedupe windows and assigns every partition from the end of the topic on.
    pub async fn start(
        settings: &Settings,
        brokers: &str,
        shared: Arc<Shared>,
        inbox: Arc<dyn Inbox>,
        metrics: Arc<Metrics>,
        timeout: Duration,
    ) -> Result<Reader, LogError> {
        let group = format!("dungeontalk-reader-{}", settings.node_id);
        let consumer: StreamConsumer = client(settings, brokers)
            // Required by the client; never used to share work or to commit.
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("fetch.wait.max.ms", "20")
            .create()
            .map_err(unavailable)?;
        let warmer: BaseConsumer = client(settings, brokers)
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .create()
            .map_err(unavailable)?;
        let window_ms = settings.dedupe_window_secs * 1000;
        let s = shared.clone();
        let live_from = tokio::task::spawn_blocking(move || {
            let mut live_from = Vec::new();
            for p in 0..s.partitions {
                let (_, high) = warmer.fetch_watermarks(&s.topic, p, timeout).map_err(unavailable)?;
                *s.dedupe[p as usize].lock().expect("dedupe lock") =
                    warm(&warmer, &s.topic, s.epoch, p, high, window_ms, timeout)?;
                live_from.push(high);
            }
            Ok::<_, LogError>(live_from)
        })
        .await
        .map_err(unavailable)??;
        let mut assignment = TopicPartitionList::new();
        for p in 0..shared.partitions {
            // Everything before the end of the topic is the store's to serve.
            shared.positions[p as usize].store(shared.seq(live_from[p as usize] - 1), Ordering::SeqCst);
            assignment
                .add_partition_offset(&shared.topic, p, Offset::Offset(live_from[p as usize]))
                .map_err(unavailable)?;
        }
        consumer.assign(&assignment).map_err(unavailable)?;
        Ok(Reader { consumer, shared, inbox, metrics })
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
        let Some(position) = self.shared.positions.get(p as usize) else { return };
        if self.shared.is_parked(Role::Reader, p) {
            return;
        }
        let seq = self.shared.seq(offset);
        let mine = self.own_request(m);
        let draft = match envelope::decode(m.payload().unwrap_or_default()) {
            Ok(d) => d,
            Err(e) => {
                // Nothing after it is delivered here: a hole clients could not see would be worse
                // than a node that says it is not ready (its clients move to one that can read it).
                let mut paused = TopicPartitionList::new();
                let _ = paused.add_partition(&self.shared.topic, p);
                let _ = self.consumer.pause(&paused);
                self.shared.park(Role::Reader, p, offset, &e, &self.metrics);
                return;
            }
        };
        let at = log_time(m);
        let message_id = draft.message_id();
        if let Some(id) = message_id {
            let earlier = self.shared.dedupe[p as usize].lock().expect("dedupe lock").note(&draft.room_id, id, seq, at);
            if let Some(earlier) = earlier {
                position.fetch_max(seq, Ordering::SeqCst);
                self.resolve(mine, Appended { seq: earlier, message_id, duplicate: true });
                return;
            }
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
