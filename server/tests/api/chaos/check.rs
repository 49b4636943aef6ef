//! The checks on the whole history, once the cluster is whole again and quiet:
//! - every acknowledged messageId is stored exactly once, at the seq its acknowledgements gave;
//! - every reader of a room saw one order, with no gap after its resumes, and caught up;
//! - no event appears that no client sent;
//! - the store equals what the log says (every record of the topic is stored at its seq, or is a
//!   retry dropped for an earlier copy; nothing is stored that the topic lacks).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use dungeontalk::log::kafka::envelope;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::Value;

use super::cluster::Cluster;
use super::reader::{Journal, Seen};
use super::sender::Sent;

const TOPIC: &str = "chat-messages";
const PARTITIONS: i32 = 4;

/// A room's stored history, by seq.
type History = BTreeMap<u64, Seen>;

/// Waits until every node is ready, the history of every room stands still and every reader
/// has caught up with it (or `patience` runs out), then checks; returns the anomalies.
pub async fn run(
    cluster: &Cluster,
    token: &str,
    rooms: &[String],
    journals: &[Arc<Journal>],
    sent: &Sent,
    patience: Duration,
) -> Vec<String> {
    let deadline = Instant::now() + patience;
    let mut anomalies = Vec::new();
    let mut histories: HashMap<String, History> = HashMap::new();
    loop {
        let mut settled = all_ready(cluster).await;
        for room in rooms {
            let h = history(cluster, token, room).await;
            let head = h.keys().next_back().copied().unwrap_or(0);
            let behind = journals.iter().any(|j| j.room == *room && j.cursor.load(Ordering::SeqCst) < head);
            let same =
                histories.get(room).is_some_and(|old| old.len() == h.len() && old.keys().max() == h.keys().max());
            settled &= !behind && same;
            histories.insert(room.clone(), h);
        }
        if settled || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    check_messages(&histories, sent, &mut anomalies);
    for j in journals {
        check_reader(j, &histories[&j.room], &mut anomalies);
    }
    let kafka = cluster.backends.lock().await.kafka.url();
    let rooms: HashSet<&String> = rooms.iter().collect();
    match tokio::task::spawn_blocking(move || read_log(&kafka)).await.unwrap() {
        Ok(log) => check_log(&log, &histories, &rooms, &mut anomalies),
        Err(e) => anomalies.push(format!("the topic could not be read: {e}")),
    }
    anomalies
}

async fn all_ready(cluster: &Cluster) -> bool {
    for base in cluster.live() {
        match cluster.http.get(format!("{base}/readyz")).send().await {
            Ok(r) if r.status().is_success() => {}
            _ => return false,
        }
    }
    cluster.live().len() == 3
}

/// A room's whole stored history, paged with `after=` through a live node.
async fn history(cluster: &Cluster, token: &str, room: &str) -> History {
    let mut out = History::new();
    let mut after = 0;
    for base in cluster.live().into_iter().cycle().take(200) {
        let url = format!("{base}/api/rooms/{room}/messages?after={after}&limit=200");
        let Ok(resp) = cluster.http.get(url).bearer_auth(token).send().await else { continue };
        let Ok(page) = resp.json::<Value>().await else { continue };
        let events = page["events"].as_array().cloned().unwrap_or_default();
        for e in &events {
            let seq = e["seq"].as_u64().unwrap_or(0);
            let kind = e["type"].as_str().unwrap_or("").to_owned();
            out.insert(seq, Seen { seq, kind, message_id: e["messageId"].as_str().map(str::to_owned) });
            after = seq;
        }
        if events.len() < 200 {
            break;
        }
    }
    out
}

fn check_messages(histories: &HashMap<String, History>, sent: &Sent, anomalies: &mut Vec<String>) {
    let sent_ids = sent.sent.lock().unwrap();
    let mut stored: HashMap<(String, String), Vec<u64>> = HashMap::new();
    for (room, h) in histories {
        for e in h.values().filter(|e| e.kind == "TALK") {
            let id = e.message_id.clone().unwrap_or_default();
            match sent_ids.get(&id) {
                Some((r, _)) if r == room => {}
                _ => anomalies.push(format!("room {room} seq {} holds a TALK no client sent ({id})", e.seq)),
            }
            stored.entry((room.clone(), id)).or_default().push(e.seq);
        }
    }
    for (key, seqs) in &stored {
        if seqs.len() > 1 {
            anomalies.push(format!("messageId {} is stored {} times in room {}: {seqs:?}", key.1, seqs.len(), key.0));
        }
    }
    for (id, acks) in sent.acked.lock().unwrap().iter() {
        let room = &sent_ids[id].0;
        let at = stored.get(&(room.clone(), id.clone()));
        match at.map(Vec::as_slice) {
            None => anomalies.push(format!("acknowledged messageId {id} (seq {acks:?}) is not stored")),
            Some([seq]) if acks.iter().all(|a| a == seq) => {}
            Some(seqs) => anomalies.push(format!("messageId {id} was acknowledged at {acks:?}, stored at {seqs:?}")),
        }
    }
}

fn check_reader(j: &Journal, history: &History, anomalies: &mut Vec<String>) {
    anomalies.extend(j.anomalies.lock().unwrap().iter().cloned());
    let seen = j.seen.lock().unwrap();
    let head = history.keys().next_back().copied().unwrap_or(0);
    let last = seen.last().map_or(0, |s| s.seq);
    if last < head {
        anomalies.push(format!("{} stopped at seq {last}; the room's head is {head}", j.name()));
    }
    let got: HashMap<u64, &Seen> = seen.iter().map(|s| (s.seq, s)).collect();
    for (seq, stored) in history.range(..=last) {
        match got.get(seq) {
            None => anomalies.push(format!("{} never got seq {seq} ({})", j.name(), stored.kind)),
            Some(s) if s.kind != stored.kind || s.message_id != stored.message_id => {
                anomalies.push(format!("{} got {s:?} at seq {seq}; the store holds {stored:?}", j.name()))
            }
            Some(_) => {}
        }
    }
    for s in seen.iter().filter(|s| !history.contains_key(&s.seq)) {
        anomalies.push(format!("{} got seq {} ({}), which the store lacks", j.name(), s.seq, s.kind));
    }
}

/// One record of the topic, as the checker reads it.
struct Record {
    room: String,
    seq: u64,
    kind: String,
    message_id: Option<String>,
}

/// Every record of the topic, from the start of each partition to its end.
fn read_log(kafka: &str) -> Result<Vec<Record>, String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka)
        .set("group.id", "chaos-check")
        .create()
        .map_err(|e| e.to_string())?;
    let wait = Duration::from_secs(10);
    let mut out = Vec::new();
    for p in 0..PARTITIONS {
        let (low, high) = consumer.fetch_watermarks(TOPIC, p, wait).map_err(|e| e.to_string())?;
        if high <= low {
            continue;
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(TOPIC, p, Offset::Offset(low)).map_err(|e| e.to_string())?;
        consumer.assign(&tpl).map_err(|e| e.to_string())?;
        let (mut next, mut since) = (low, Instant::now());
        while next < high {
            let Some(m) = consumer.poll(Duration::from_millis(500)) else {
                if since.elapsed() > Duration::from_secs(60) {
                    return Err(format!("partition {p} stalled at {next}"));
                }
                continue;
            };
            let m = m.map_err(|e| e.to_string())?;
            (next, since) = (m.offset() + 1, Instant::now());
            let draft = envelope::decode(m.payload().unwrap_or_default()).map_err(|e| e.to_string())?;
            let event = dungeontalk::model::StoredEvent::seal(draft, m.offset() as u64 + 1);
            out.push(Record {
                room: event.room_id.0.clone(),
                seq: event.seq,
                kind: event.kind().to_owned(),
                message_id: event.message_id.map(|m| m.to_string()),
            });
        }
    }
    Ok(out)
}

fn check_log(
    log: &[Record],
    histories: &HashMap<String, History>,
    rooms: &HashSet<&String>,
    anomalies: &mut Vec<String>,
) {
    let mut in_log: HashSet<(&str, u64)> = HashSet::new();
    for r in log.iter().filter(|r| rooms.contains(&r.room)) {
        in_log.insert((&r.room, r.seq));
        let h = &histories[&r.room];
        match h.get(&r.seq) {
            Some(s) if s.kind == r.kind && s.message_id == r.message_id => {}
            Some(s) => anomalies.push(format!("room {} seq {}: the log has {} the store {s:?}", r.room, r.seq, r.kind)),
            // A retry dropped for an earlier copy: that copy is stored at a lower seq.
            None if r.kind == "TALK" && h.range(..r.seq).any(|(_, s)| s.message_id == r.message_id) => {}
            None => {
                anomalies.push(format!("room {} seq {} ({}) is on the log but not in the store", r.room, r.seq, r.kind))
            }
        }
    }
    for (room, h) in histories {
        for seq in h.keys().filter(|seq| !in_log.contains(&(room.as_str(), **seq))) {
            anomalies.push(format!("room {room} seq {seq} is in the store but not on the log"));
        }
    }
}
