//! Filling a partition's dedupe window for a reader that starts at an offset other than 0 (a
//! node's reader at the end of the topic, the store group at its committed offset).
//!
//! The rule (`dedupe.rs`) reaches copies whose log time is within the window of the partition's
//! clock, the highest log time so far, which is at least the log time of the last event before
//! the start. So the window is filled from the first event stamped at or after that time minus
//! the window (everything before it is stamped earlier), up to the start. Blocking: run it off
//! the runtime's threads.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::dedupe::Window;
use super::{LogError, envelope, log_time, seq_of, unavailable};

/// Reads partition `p` of `topic` (of `epoch`) before `until` into a window of `window_ms`.
/// `consumer` is a consumer of this node used for nothing else meanwhile (its assignment is
/// replaced).
pub(super) fn warm(
    consumer: &BaseConsumer,
    topic: &str,
    epoch: u64,
    p: i32,
    until: i64,
    window_ms: u64,
    timeout: Duration,
) -> Result<Window, LogError> {
    let mut window = Window::new(window_ms);
    let (low, _) = consumer.fetch_watermarks(topic, p, timeout).map_err(unavailable)?;
    if until <= low.max(0) {
        return Ok(window);
    }
    // The last event before the start says where the partition's clock stood, at least.
    let last = read(consumer, topic, p, until - 1, until, timeout, |_, at| at)?;
    let Some(clock) = last.into_iter().last() else { return Ok(window) };
    let mut since = TopicPartitionList::new();
    since
        .add_partition_offset(topic, p, Offset::Offset(clock.saturating_sub(window_ms) as i64))
        .map_err(unavailable)?;
    let found = consumer.offsets_for_times(since, timeout).map_err(unavailable)?;
    let from = match found.find_partition(topic, p).map(|e| e.offset()) {
        Some(Offset::Offset(o)) if o < until => o.max(low),
        _ => until - 1,
    };
    read(consumer, topic, p, from, until, timeout, |m, at| {
        if let Ok(draft) = envelope::decode(m.payload().unwrap_or_default())
            && let Some(id) = draft.message_id()
        {
            window.note(&draft.room_id, id, seq_of(epoch, m.offset()), at);
        }
    })?;
    Ok(window)
}

/// Reads offsets `from..until` of one partition, in order, calling `each` with every message
/// and its log time.
fn read<T>(
    consumer: &BaseConsumer,
    topic: &str,
    p: i32,
    from: i64,
    until: i64,
    timeout: Duration,
    mut each: impl FnMut(&rdkafka::message::BorrowedMessage<'_>, u64) -> T,
) -> Result<Vec<T>, LogError> {
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, p, Offset::Offset(from)).map_err(unavailable)?;
    consumer.assign(&assignment).map_err(unavailable)?;
    let mut out = Vec::new();
    let mut next = from;
    let mut deadline = Instant::now() + timeout;
    while next < until {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(unavailable(format!(
                "kafka: partition {p} unread from offset {next} (warming the dedupe window)"
            )));
        }
        match consumer.poll(left) {
            Some(Ok(m)) if m.partition() == p && m.offset() >= next => {
                next = m.offset() + 1;
                deadline = Instant::now() + timeout;
                if m.offset() < until {
                    out.push(each(&m, log_time(&m)));
                }
            }
            Some(Ok(_)) | None => {}
            Some(Err(e)) => return Err(unavailable(e)),
        }
    }
    consumer.unassign().map_err(unavailable)?;
    Ok(out)
}
