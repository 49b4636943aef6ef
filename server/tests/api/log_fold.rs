//! The store is a fold of the log (issue 32): what every reader delivers, the store keeps, and
//! nothing the topic holds is skipped or numbered twice. Events are written straight to the topic
//! here where a test needs what no node would write: a log time from a skewed clock, a repeat the
//! sender's own check would have stopped, an envelope from a newer node.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dungeontalk::log::kafka::envelope;
use dungeontalk::model::{Draft, EventBody};
use dungeontalk_app::wire::{MemberId, RoomId};
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::link::Transport;
use crate::nodes::Backends;
use crate::support::eventually;

const TOPIC: &str = "chat-messages";
const PARTITIONS: i32 = 4;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn contents(events: &[Value]) -> Vec<String> {
    events.iter().filter(|e| e["type"] == "TALK").map(|e| e["content"].as_str().unwrap().to_owned()).collect()
}

/// Writes to the topic as another producer would, with the log time it says.
struct Writer(FutureProducer);

impl Writer {
    fn new(b: &Backends) -> Writer {
        Writer(ClientConfig::new().set("bootstrap.servers", b.kafka.url()).create().unwrap())
    }

    async fn raw(&self, room: &str, payload: &[u8], at_ms: i64) {
        let record = FutureRecord::to(TOPIC)
            .partition(envelope::partition_of(room, PARTITIONS))
            .key(room)
            .payload(payload)
            .timestamp(at_ms);
        self.0.send(record, Duration::from_secs(5)).await.unwrap();
    }

    async fn talk(&self, room: &str, member: &str, content: &str, id: Uuid, at_ms: i64) {
        let body = EventBody::Talk {
            message_id: id,
            sender_id: MemberId(member.into()),
            sender_nickname: "Aria".into(),
            content: content.into(),
            receiver_id: None,
            mentions: Vec::new(),
        };
        self.raw(room, &envelope::encode(&Draft::new(RoomId(room.into()), body)), at_ms).await;
    }
}

/// Makes the topic as an operator would, with the nodes' partition count.
async fn make_topic(b: &Backends) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<_> = ClientConfig::new().set("bootstrap.servers", b.kafka.url()).create().unwrap();
    let topic = NewTopic::new(TOPIC, PARTITIONS, TopicReplication::Fixed(1));
    for made in admin.create_topics(&[topic], &AdminOptions::new()).await.unwrap() {
        made.unwrap();
    }
}

/// Starts a node expected to refuse: its exit code and what it said.
async fn refused(b: &Backends, kafka: &str, extra: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_dungeontalk"));
    cmd.args(["--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("DUNGEONTALK_JWT_SECRET", crate::support::JWT_SECRET)
        .env("DUNGEONTALK_MONGODB_URI", b.mongo.url())
        .env("DUNGEONTALK_KAFKA_BROKERS", kafka)
        .env("DUNGEONTALK_KAFKA_PARTITIONS", PARTITIONS.to_string())
        .env("DUNGEONTALK_REDIS_URL", b.redis.url())
        .env("DUNGEONTALK_LOG", "warn")
        .kill_on_drop(true);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output()).await.expect("the node gives up").unwrap();
    assert!(!out.status.success(), "the node started: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A node set to another partition count than the topic's would put rooms in other partitions:
/// it refuses to start, and says what to set.
#[tokio::test]
async fn a_topic_with_another_partition_count_is_refused_at_start() {
    let b = Backends::start().await;
    let a = b.node("a", &[]).await; // makes the topic with 4 partitions
    let said = refused(&b, &b.kafka.url(), &[("DUNGEONTALK_KAFKA_PARTITIONS", "2")]).await;
    assert!(said.contains("has 4 partitions but kafka_partitions is 2"), "{said}");
    drop(a);
}

/// A topic made anew (here: a new, empty broker) over a store that holds the old one. Its
/// offsets, which were seqs, would number events with seqs the store and the clients hold already:
/// clients resuming from their cursor skipped the new events, and the store group wedged on "seq
/// taken". A node that runs when it happens refuses appends and says so on /readyz; a node started
/// on it begins the topic's next epoch, whose seqs lie above every old one, so a client resuming
/// from its old cursor misses nothing and the room keeps one order.
#[tokio::test]
async fn a_topic_made_anew_starts_a_new_epoch_above_every_old_seq() {
    let mut b = Backends::start().await;
    let a = b.node("a", &[]).await;
    let (token, _) = a.guest("Aria").await;
    let room = a.room(&token, "Hall").await;
    assert_eq!(a.post_frame(&token, &room, json!({"type": "JOIN"})).await.0, 202);
    for n in 0..3 {
        let frame = json!({"type": "TALK", "content": format!("m{n}"), "messageId": Uuid::now_v7()});
        assert_eq!(a.post_frame(&token, &room, frame).await.0, 202);
    }
    let old = eventually(|| async {
        let h = a.history(&token, &room).await;
        if contents(&h).len() == 3 { Ok(h) } else { Err(format!("{h:?}")) }
    })
    .await;
    let cursor = old.iter().filter_map(|e| e["seq"].as_u64()).max().unwrap();
    // The topic is deleted and made again while the node runs (here: the broker loses it all).
    b.kafka.stop().await;
    b.kafka.start_empty().await;
    make_topic(&b).await;
    // It takes three looks, 5 s apart, so a broker's passing glitch is not taken for it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    let ready = loop {
        let resp = reqwest::get(format!("{}/readyz", a.base)).await.unwrap();
        let (status, body) = (resp.status().as_u16(), resp.json::<Value>().await.unwrap_or(Value::Null));
        if status == 503 && body.to_string().contains("made anew") {
            break body;
        }
        assert!(tokio::time::Instant::now() < deadline, "/readyz still says {status} {body}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(ready["status"], "unavailable", "{ready}");
    // (A JOIN: the seat taken before has lapsed meanwhile, and a JOIN is an append too.)
    let (status, body) = a.post_frame(&token, &room, json!({"type": "JOIN"})).await;
    assert_eq!((status, body["code"].as_str()), (503, Some("unavailable")), "{body}");
    a.kill().await;
    // A node started now takes the next epoch.
    let c = b.node("c", &[]).await;
    assert_eq!(c.post_frame(&token, &room, json!({"type": "JOIN"})).await.0, 202);
    let talk = json!({"type": "TALK", "content": "after", "messageId": Uuid::now_v7()});
    let (status, body) = c.post_frame(&token, &room, talk).await;
    assert_eq!(status, 202, "{body}");
    let seq = body["seq"].as_u64().unwrap();
    assert!(seq > cursor && seq >= 1 << 40, "the new epoch's seq {seq} is above the old cursor {cursor}");
    assert!(seq < 1 << 53, "a browser holds {seq} exactly");
    // The client that held `cursor` resumes from it and gets what came since.
    let (status, page) = c.get(&format!("/api/rooms/{room}/poll?after={cursor}&timeout=5000"), &token).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(contents(page["events"].as_array().unwrap()), ["after"], "{page}");
    let h = eventually(|| async {
        let h = c.history(&token, &room).await;
        if contents(&h).len() == 4 { Ok(h) } else { Err(format!("{h:?}")) }
    })
    .await;
    assert_eq!(contents(&h), ["m0", "m1", "m2", "after"], "one order, old epoch then new");
}

/// An envelope this node cannot read (a newer node wrote it during a rolling upgrade) stops its
/// partition: what follows is neither delivered here nor stored past it, and the node says why on
/// /readyz and /metrics. Before, it was skipped: acknowledged, and never stored.
#[tokio::test]
async fn an_envelope_a_node_cannot_read_stops_its_partition() {
    let b = Backends::start().await;
    let a = b.node("a", &[("DUNGEONTALK_BACKEND_TIMEOUT_MS", "2000")]).await;
    let (token, _) = a.guest("Aria").await;
    let room = a.room(&token, "Hall").await;
    assert_eq!(a.post_frame(&token, &room, json!({"type": "JOIN"})).await.0, 202);
    let talk = |content: &str| json!({"type": "TALK", "content": content, "messageId": Uuid::now_v7()});
    assert_eq!(a.post_frame(&token, &room, talk("before")).await.0, 202);
    eventually(|| async {
        let h = a.history(&token, &room).await;
        if contents(&h) == ["before"] { Ok(()) } else { Err(format!("{h:?}")) }
    })
    .await;
    let newer = json!({"v": 2, "roomId": room, "body": {"type": "TALK", "content": "from the future"}});
    Writer::new(&b).raw(&room, newer.to_string().as_bytes(), now_ms()).await;
    assert_eq!(a.post_frame(&token, &room, talk("after")).await.0, 202);
    let ready = eventually(|| async {
        let resp = reqwest::get(format!("{}/readyz", a.base)).await.map_err(|e| e.to_string())?;
        let (status, body) = (resp.status().as_u16(), resp.json::<Value>().await.unwrap_or(Value::Null));
        if status == 503 { Ok(body) } else { Err(format!("{status} {body}")) }
    })
    .await;
    assert!(ready["errors"].to_string().contains("stopped at partition"), "{ready}");
    assert!(ready["errors"].to_string().contains("newer than this node reads"), "{ready}");
    let metrics = reqwest::get(format!("{}/metrics", a.base)).await.unwrap().text().await.unwrap();
    for group in ["reader", "store"] {
        let line = format!("dungeontalk_log_parked{{group=\"{group}\"");
        assert!(metrics.contains(&line), "{group} reported on /metrics");
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(contents(&a.history(&token, &room).await), ["before"], "nothing stored past the unread envelope");
}

/// A retry stamped by a producer whose clock is behind, inside the window of its original: a node
/// that started after the original had left the window by its own clock judged it new and
/// delivered it, while the node that read the original dropped it. The window is the partition's
/// own (its highest log time), so both drop it.
#[tokio::test]
async fn a_retry_near_the_window_edge_is_judged_alike_by_every_node() {
    let b = Backends::start().await;
    let window = [("DUNGEONTALK_DEDUPE_WINDOW_SECS", "3")];
    let a = b.node("a", &window).await;
    let (token, member) = a.guest("Aria").await;
    let room = a.room(&token, "Hall").await;
    let writer = Writer::new(&b);
    let (id, t0) = (Uuid::now_v7(), now_ms());
    writer.talk(&room, &member, "original", id, t0).await;
    let mut on_a = a.link(Transport::Ws, &token, &room, Some(0)).await;
    assert_eq!(contents(&on_a.events_until_talks(1).await), ["original"]);
    // B starts once the original is older than the window by B's clock.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let c = b.node("b", &window).await;
    let mut on_b = c.link(Transport::Ws, &token, &room, Some(0)).await;
    assert_eq!(contents(&on_b.events_until_talks(1).await), ["original"]);
    writer.talk(&room, &member, "original", id, t0 + 1000).await;
    writer.talk(&room, &member, "next", Uuid::now_v7(), now_ms()).await;
    assert_eq!(contents(&on_a.events_until_talks(1).await), ["next"], "A dropped the retry");
    assert_eq!(contents(&on_b.events_until_talks(1).await), ["next"], "so did B");
}

/// A repeat of a messageId that the window no longer covers is a new message to every reader,
/// so the store keeps it too (the store's unique messageId refused it: clients had seen an event
/// that history then lacked). One inside the window is kept nowhere.
#[tokio::test]
async fn the_store_keeps_what_the_readers_delivered() {
    let b = Backends::start().await;
    let a = b.node("a", &[("DUNGEONTALK_DEDUPE_WINDOW_SECS", "3")]).await;
    let (token, member) = a.guest("Aria").await;
    let room = a.room(&token, "Hall").await;
    let mut reader = a.link(Transport::Ws, &token, &room, Some(0)).await;
    let writer = Writer::new(&b);
    let (id, t0) = (Uuid::now_v7(), now_ms());
    writer.talk(&room, &member, "hello", id, t0).await;
    writer.talk(&room, &member, "hello", id, t0 + 1000).await; // a retry: dropped
    writer.talk(&room, &member, "hello", id, t0 + 5000).await; // the window has passed: new
    writer.talk(&room, &member, "end", Uuid::now_v7(), t0 + 5001).await;
    let live = reader.events_until_talks(3).await;
    assert_eq!(contents(&live), ["hello", "hello", "end"]);
    let history = eventually(|| async {
        let h = a.history(&token, &room).await;
        if contents(&h).len() >= 3 { Ok(h) } else { Err(format!("{h:?}")) }
    })
    .await;
    let seqs = |events: &[Value]| -> Vec<u64> {
        events.iter().filter(|e| e["type"] == "TALK").map(|e| e["seq"].as_u64().unwrap()).collect()
    };
    assert_eq!(seqs(&history), seqs(&live), "the store holds what the reader was given, at the same seqs");
}
