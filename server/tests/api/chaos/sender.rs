//! A member who talks in one room: each message gets a fresh messageId and is sent by POST
//! through a live node, then retried with the same messageId through whichever node answers
//! next until one acknowledges it (a refused seat is taken again first).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use uuid::Uuid;

use super::cluster::Cluster;
use super::{Counts, Rng};

/// How long one message is retried before the sender moves on (it may or may not be stored).
const GIVE_UP: Duration = Duration::from_secs(60);

/// Everything the senders sent and what they were told.
#[derive(Default)]
pub struct Sent {
    /// messageId → (room, content) of every message sent.
    pub sent: Mutex<HashMap<String, (String, String)>>,
    /// messageId → every seq an acknowledgement gave it (retries included).
    pub acked: Mutex<HashMap<String, Vec<u64>>>,
}

pub struct Args {
    pub room: String,
    pub token: String,
    pub rng: Rng,
}

/// Talks until `halt`, finishing the message it is on.
pub async fn run(cluster: Arc<Cluster>, mut args: Args, sent: Arc<Sent>, counts: Arc<Counts>, halt: Arc<AtomicBool>) {
    let mut seated = false;
    let mut n = 0u64;
    while !halt.load(Ordering::SeqCst) {
        let id = Uuid::now_v7().to_string();
        let content = format!("{} {n}", &args.token[args.token.len() - 8..]);
        sent.sent.lock().unwrap().insert(id.clone(), (args.room.clone(), content.clone()));
        let started = Instant::now();
        while started.elapsed() < GIVE_UP {
            let Some(base) = cluster.pick(&mut args.rng) else {
                tokio::time::sleep(Duration::from_millis(300)).await;
                continue;
            };
            counts.operations.fetch_add(1, Ordering::SeqCst);
            let url = format!("{base}/api/rooms/{}/messages", args.room);
            let frame = if seated {
                json!({"type": "TALK", "content": content, "messageId": id})
            } else {
                json!({"type": "JOIN"})
            };
            let answer = cluster.http.post(url).bearer_auth(&args.token).json(&frame).send().await;
            let (status, body) = match answer {
                Ok(resp) => (resp.status().as_u16(), resp.json::<Value>().await.unwrap_or(Value::Null)),
                Err(_) => (0, Value::Null),
            };
            match (status, body["code"].as_str()) {
                (202, _) if !seated => seated = true,
                (202, _) => {
                    let seq = body["seq"].as_u64().unwrap_or(0);
                    sent.acked.lock().unwrap().entry(id.clone()).or_default().push(seq);
                    break;
                }
                (_, Some("room.not_joined")) => seated = false,
                _ => {
                    let wait = body["retryAfterMs"].as_u64().unwrap_or_else(|| args.rng.range(200, 1000));
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
            }
        }
        n += 1;
        tokio::time::sleep(Duration::from_millis(args.rng.range(300, 1200))).await;
    }
}
