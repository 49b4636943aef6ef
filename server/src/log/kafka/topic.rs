//! The topic itself: made if missing and checked at start (its partition count, its epoch: a
//! new one when it ends before what the store holds, how many replicas keep it), and watched
//! while the node runs (how far each reader is behind its end; partitions added or the topic made
//! anew).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{FutureProducer, Producer};
use rdkafka::types::RDKafkaErrorCode;
use tokio_util::sync::CancellationToken;

use super::{EPOCH_SHIFT, LogError, MAX_EPOCH, Shared, client, epoch_key, seq_of, unavailable, watermark_key};
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::store::Store;

/// The topic's partition count, after making the topic if it does not exist.
pub(super) async fn ensure_topic(
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

/// The topic's epoch: how many times it was made anew under this store. A topic that ends before
/// what the store holds of it (deleted and made again, or its data lost) starts the next epoch,
/// whose seqs (`seq_of`) lie above every seq of the old one: clients resume with the cursors they
/// hold and miss nothing, and no stored seq is given out again. Two nodes starting at once on the
/// new topic reach the same epoch (each takes the highest the store says, then bumps it alike).
pub(super) async fn epoch(
    settings: &Settings,
    producer: &FutureProducer,
    store: &dyn Store,
    partitions: i32,
    timeout: Duration,
) -> Result<u64, LogError> {
    let topic = settings.kafka_topic.clone();
    // The store's marks first, then the topic's ends: a mark the store group writes in between
    // is not taken for a topic that ends before it.
    let mut stored = Vec::with_capacity(partitions as usize);
    for p in 0..partitions {
        stored.push(store.watermark(&watermark_key(&topic, p)).await?);
    }
    // Read after the watermarks, which a bump writes after the epoch: a node that sees any bumped
    // watermark sees the bumped epoch too, and the highest of all wins.
    let mut epoch = store.watermark(&epoch_key(&topic)).await?;
    epoch = stored.iter().map(|w| w >> EPOCH_SHIFT).fold(epoch, u64::max);
    let mask = (1 << EPOCH_SHIFT) - 1;
    // A new epoch cannot be undone: the topic must end before the store's mark at every look
    // (a broker that has just restarted may answer with a partial view for a moment).
    let mut behind = None;
    for look in 0..EPOCH_LOOKS {
        if look > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let ends = ends(producer, &topic, partitions, timeout).await?;
        behind = ends
            .iter()
            .zip(&stored)
            .enumerate()
            .find(|(_, (end, w))| *w >> EPOCH_SHIFT == epoch && *w & mask > **end)
            .map(|(p, (end, w))| (p, *end, *w));
        if behind.is_none() {
            return Ok(epoch);
        }
    }
    let Some((p, end, held)) = behind else { return Ok(epoch) };
    epoch += 1;
    if epoch > MAX_EPOCH {
        return Err(unavailable(format!("kafka_topic {topic} was made anew {epoch} times: use another topic name")));
    }
    store.set_watermark(&epoch_key(&topic), epoch).await?;
    // The old epoch is as stored as it will ever be: readers wait for nothing below the new one.
    for p in 0..partitions {
        store.set_watermark(&watermark_key(&topic, p), seq_of(epoch, -1)).await?;
    }
    tracing::warn!(
        "kafka_topic {topic} partition {p} ends at offset {end}, but the store holds it through offset {}: the topic \
         was made anew; its events now count from seq {} (epoch {epoch}), above every stored one",
        held & mask,
        seq_of(epoch, 0)
    );
    Ok(epoch)
}

/// Looks at start that must all find the topic ending before the store's mark before a new epoch.
const EPOCH_LOOKS: u32 = 3;

/// Each partition's end (the offset after its last event).
async fn ends(
    producer: &FutureProducer,
    topic: &str,
    partitions: i32,
    timeout: Duration,
) -> Result<Vec<u64>, LogError> {
    let (producer, topic) = (producer.clone(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        (0..partitions)
            .map(|p| producer.client().fetch_watermarks(&topic, p, timeout).map(|(_, h)| h.max(0) as u64))
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(unavailable)?
    .map_err(unavailable)
}

/// Rounds of `report_lag` in a row that must find the topic changed before a node stops appending.
const CHANGED_STRIKES: u32 = 3;

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
pub(super) async fn report_lag(
    producer: FutureProducer,
    shared: Arc<Shared>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let mut timer = tokio::time::interval(Duration::from_secs(5));
    let mut strikes = 0;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = timer.tick() => {}
        }
        // Read before the topic's ends: what this node read then lies within the ends found
        // after it, however much arrives in between (read after, it could pass them).
        let read: Vec<u64> =
            shared.positions.iter().map(|pos| shared.offset_after(pos.load(Ordering::SeqCst))).collect();
        let (p2, s2) = (producer.clone(), shared.clone());
        let ends = tokio::task::spawn_blocking(move || {
            let wait = Duration::from_secs(2);
            let metadata = p2.client().fetch_metadata(Some(&s2.topic), wait)?;
            let count = metadata.topics().iter().find(|t| t.name() == s2.topic).map_or(0, |t| t.partitions().len());
            let ends = (0..s2.partitions)
                .map(|p| p2.client().fetch_watermarks(&s2.topic, p, wait).map(|(_, h)| h.max(0) as u64))
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, rdkafka::error::KafkaError>((count, ends))
        })
        .await;
        let Ok(Ok((count, ends))) = ends else { continue };
        let mut changed = (count != shared.partitions as usize && count > 0)
            .then(|| format!("kafka_topic {} now has {count} partitions, not {}", shared.topic, shared.partitions));
        for (p, end) in ends.into_iter().enumerate() {
            let label = p.to_string();
            let read = read[p];
            if end < read {
                changed.get_or_insert_with(|| {
                    let topic = &shared.topic;
                    format!("kafka_topic {topic} partition {p} ends at {end}, before this node read {read}: it was made anew")
                });
            }
            metrics.consumer_lag.with_label_values(&["reader", &label]).set(end.saturating_sub(read) as i64);
            if let Ok(stored) = store.watermark(&shared.watermark_key(p as i32)).await {
                let stored = shared.offset_after(stored);
                metrics.consumer_lag.with_label_values(&["store", &label]).set(end.saturating_sub(stored) as i64);
            }
        }
        // A broker that has just restarted may answer with a partial view for a moment: only
        // what stays so for several rounds is taken for a changed topic.
        strikes = if changed.is_some() { strikes + 1 } else { 0 };
        match changed {
            Some(why) if strikes >= CHANGED_STRIKES => shared.topic_changed(why, &metrics),
            Some(why) => tracing::warn!("kafka: {why}? (looking again)"),
            None => {}
        }
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
