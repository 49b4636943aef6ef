//! A backend out for a while under traffic and back again: Redis, the store and the broker are
//! stopped (SIGTERM) and started again with the data they kept; the broker is also frozen
//! (SIGSTOP: connections open, nothing answers, as a hung broker or a partition) and thawed.
//! Every message that got a 202 is delivered and stored exactly once; a sender meanwhile gets 202
//! or a clear `unavailable` (503), never a silent drop; readers keep their connections; `/readyz`
//! names the backend while it is out; the nodes recover by themselves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::link::{Link, Transport};
use crate::nodes::{Backends, Node};
use crate::services::Service;
use crate::support::eventually;

/// Which backend the test stops.
#[derive(Clone, Copy, Debug)]
enum Down {
    Redis,
    Mongo,
    Kafka,
    /// The broker hung rather than stopped.
    KafkaHang,
}

impl Down {
    /// The name `/readyz` gives it.
    fn name(self) -> &'static str {
        match self {
            Down::Redis => "redis",
            Down::Mongo => "mongodb",
            Down::Kafka | Down::KafkaHang => "kafka",
        }
    }

    fn service(self, b: &mut Backends) -> &mut Service {
        match self {
            Down::Redis => &mut b.redis,
            Down::Mongo => &mut b.mongo,
            Down::Kafka | Down::KafkaHang => &mut b.kafka,
        }
    }

    async fn out(self, b: &mut Backends) {
        match self {
            Down::KafkaHang => b.kafka.freeze(),
            _ => self.service(b).stop().await,
        }
    }

    async fn back(self, b: &mut Backends) {
        match self {
            Down::KafkaHang => b.kafka.thaw(),
            _ => self.service(b).start_again().await,
        }
    }
}

/// What the sender's POSTs got: the contents answered 202, and the refusals (status, code).
#[derive(Default)]
struct Sent {
    accepted: Vec<String>,
    refused: Vec<(u16, String)>,
}

impl Sent {
    /// POSTs one TALK; true when it was accepted.
    async fn talk(&mut self, node: &Node, token: &str, room: &str, content: String) -> bool {
        let frame = json!({"type": "TALK", "content": content, "messageId": Uuid::now_v7()});
        let (status, body) = node.post_frame(token, room, frame).await;
        if status == 202 {
            self.accepted.push(content);
            true
        } else {
            self.refused.push((status, body["code"].as_str().unwrap_or("").to_owned()));
            false
        }
    }
}

/// `/readyz` of a node: (status, failing backends).
async fn ready(node: &Node) -> (u16, Vec<String>) {
    let resp = node.http.get(format!("{}/readyz", node.base)).send().await.unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    let failing = body["failing"].as_array().map(|a| a.iter().map(|f| f.as_str().unwrap().to_owned()).collect());
    (status, failing.unwrap_or_default())
}

/// How often each TALK's content came to a reader, counted as it reads.
type Heard = Arc<Mutex<HashMap<String, usize>>>;

/// Reads the room in the background for the rest of the test, as a client does (one that stops
/// reading stops answering pings, and is rightly dropped). The task ends if the server ends the link.
fn listen(mut reader: Link) -> (Heard, JoinHandle<()>) {
    let heard = Heard::default();
    let counts = heard.clone();
    let task = tokio::spawn(async move {
        while let Some(frame) = reader.read_untimed().await {
            if frame["type"] == "TALK" {
                *counts.lock().unwrap().entry(frame["content"].as_str().unwrap().to_owned()).or_default() += 1;
            }
        }
    });
    (heard, task)
}

async fn a_backend_restarts_under_traffic(down: Down) {
    let mut b = Backends::durable().await;
    // Outages here are shorter than the presence TTL: nobody may look gone because of one.
    let settings = [("DUNGEONTALK_BACKEND_TIMEOUT_MS", "1000"), ("DUNGEONTALK_PRESENCE_TTL_SECS", "30")];
    let (a, c) = tokio::join!(b.node("a", &settings), b.node("b", &settings));
    let (ta, _) = a.guest("Aria").await;
    let (tb, _) = c.guest("Bo").await;
    let room = a.room(&ta, "Hall").await;
    let mut reader = c.link(Transport::Ws, &tb, &room, Some(0)).await;
    reader.join().await;
    let (heard, listening) = listen(reader);
    // The sender reads the room too, as any client does: without a link it would be counted
    // gone once its last POST's linger ran out, and leave.
    let _sender_reads = a.link(Transport::Sse, &ta, &room, Some(0)).await;
    assert_eq!(a.post_frame(&ta, &room, json!({"type": "JOIN"})).await.0, 202);
    let mut sent = Sent::default();
    for i in 0..5 {
        assert!(sent.talk(&a, &ta, &room, format!("before{i}")).await, "{:?}", sent.refused);
    }

    let started = tokio::time::Instant::now();
    down.out(&mut b).await;
    eprintln!("{down:?} out after {:?}", started.elapsed());
    // While it is down: the sender keeps trying for a few seconds; /readyz names the backend.
    let mut named = false;
    let back_at = tokio::time::Instant::now() + Duration::from_secs(5);
    for i in 0.. {
        let t = tokio::time::Instant::now();
        sent.talk(&a, &ta, &room, format!("during{i}")).await;
        let (status, failing) = ready(&a).await;
        eprintln!("during{i}: send + /readyz took {:?}", t.elapsed());
        named |= status == 503 && failing == [down.name()];
        if tokio::time::Instant::now() > back_at && i >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(named, "/readyz named {} while it was down", down.name());
    for (status, code) in &sent.refused {
        assert_eq!((*status, code.as_str()), (503, "unavailable"), "a refusal says unavailable");
    }
    // Sending needs Redis (limits, seats) and the store (the room's record): refused, not dropped.
    assert!(!sent.refused.is_empty(), "sends were refused while {down:?} was down");

    down.back(&mut b).await;
    eprintln!("{down:?} back after {:?}", started.elapsed());
    // Both nodes recover by themselves.
    for node in [&a, &c] {
        eventually(|| async {
            match ready(node).await {
                (200, _) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
    }
    eprintln!("{down:?}: both nodes ready after {:?}", started.elapsed());
    let mut after = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while after < 5 {
        assert!(tokio::time::Instant::now() < deadline, "sending did not recover: {:?}", sent.refused.last());
        if sent.talk(&a, &ta, &room, format!("after{after}")).await {
            after += 1;
        } else {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    eprintln!("{down:?}: sending recovered after {:?}", started.elapsed());

    // The reader kept its connection and heard every accepted message once; a refused one at
    // most once (a producer may have written what it could not confirm).
    eventually(|| async {
        let heard = heard.lock().unwrap();
        let missing: Vec<&String> = sent.accepted.iter().filter(|c| !heard.contains_key(c.as_str())).collect();
        if missing.is_empty() { Ok(()) } else { Err(format!("not heard: {missing:?}")) }
    })
    .await;
    assert!(!listening.is_finished(), "the reader kept its connection");
    let heard = heard.lock().unwrap().clone();
    assert!(heard.values().all(|n| *n == 1), "nothing twice: {heard:?}");
    // The store holds each accepted message once.
    eventually(|| async {
        let stored = c.history(&tb, &room).await;
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for e in stored.iter().filter(|e| e["type"] == "TALK") {
            *counts.entry(e["content"].as_str().unwrap()).or_default() += 1;
        }
        let missing: Vec<&String> = sent.accepted.iter().filter(|c| !counts.contains_key(c.as_str())).collect();
        match (missing.is_empty(), counts.values().all(|n| *n == 1)) {
            (true, true) => Ok(()),
            _ => Err(format!("missing {missing:?}, counts {counts:?}")),
        }
    })
    .await;
}

#[tokio::test]
async fn redis_restarts_under_traffic() {
    a_backend_restarts_under_traffic(Down::Redis).await;
}

#[tokio::test]
async fn the_store_restarts_under_traffic() {
    a_backend_restarts_under_traffic(Down::Mongo).await;
}

#[tokio::test]
async fn the_broker_restarts_under_traffic() {
    a_backend_restarts_under_traffic(Down::Kafka).await;
}

#[tokio::test]
async fn the_broker_hangs_under_traffic() {
    a_backend_restarts_under_traffic(Down::KafkaHang).await;
}
