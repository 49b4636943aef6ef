//! A member who talks in one room: each message gets a fresh messageId and is sent through a
//! live node, by POST, over a WebSocket or as a STOMP SEND (each sender keeps one way), then
//! retried with the same messageId through whichever node answers next until one acknowledges it
//! (a refused seat is taken again first, by POST: a JOIN is the same on every transport).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dungeontalk_app::wire::stomp::{Command, Decoder, Frame, Item};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use uuid::Uuid;

use super::cluster::Cluster;
use super::{Counts, Rng};

/// How long one message is retried before the sender moves on (it may or may not be stored).
const GIVE_UP: Duration = Duration::from_secs(60);
/// How long one attempt waits for its answer on a socket.
const ANSWER: Duration = Duration::from_secs(10);

/// Everything the senders sent and what they were told.
#[derive(Default)]
pub struct Sent {
    /// messageId → (room, content) of every message sent.
    pub sent: Mutex<HashMap<String, (String, String)>>,
    /// messageId → every seq an acknowledgement gave it (retries included). A STOMP RECEIPT
    /// carries no seq: its message is in the map with the seqs of its other answers, if any.
    pub acked: Mutex<HashMap<String, Vec<u64>>>,
}

/// The way a sender sends its TALKs.
#[derive(Clone, Copy, Debug)]
pub enum Via {
    Post,
    Ws,
    Stomp,
}

pub struct Args {
    pub room: String,
    pub token: String,
    pub via: Via,
    pub rng: Rng,
}

/// What one attempt came to.
enum Answer {
    /// Acknowledged (with its seq, when the transport says it).
    Acked(Option<u64>),
    /// The member holds no seat (any more): JOIN first.
    NotJoined,
    /// Refused or lost: wait this long (or a random while), then try again elsewhere.
    Again(Option<u64>),
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
            let talk = json!({"type": "TALK", "content": content, "messageId": id, "roomId": args.room});
            let answer = if !seated {
                match post(&cluster, &base, &args, json!({"type": "JOIN"})).await {
                    Answer::Acked(_) => {
                        seated = true;
                        continue;
                    }
                    other => other,
                }
            } else {
                match args.via {
                    Via::Post => post(&cluster, &base, &args, talk).await,
                    Via::Ws => ws(&base, &args, &id, &talk).await.unwrap_or(Answer::Again(None)),
                    Via::Stomp => stomp(&base, &args, &talk).await.unwrap_or(Answer::Again(None)),
                }
            };
            match answer {
                Answer::Acked(seq) => {
                    sent.acked.lock().unwrap().entry(id.clone()).or_default().extend(seq);
                    break;
                }
                Answer::NotJoined => seated = false,
                Answer::Again(wait) => {
                    // A socket refused at its handshake says why only in its status (409 for a
                    // seat lost meanwhile): take the seat again first, a repeat JOIN costs nothing.
                    seated &= matches!(args.via, Via::Post);
                    let wait = wait.unwrap_or_else(|| args.rng.range(200, 1000));
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
            }
        }
        n += 1;
        tokio::time::sleep(Duration::from_millis(args.rng.range(300, 1200))).await;
    }
}

/// What an error frame or body says to do.
fn refused(body: &Value) -> Answer {
    match body["code"].as_str() {
        Some("room.not_joined") => Answer::NotJoined,
        _ => Answer::Again(body["retryAfterMs"].as_u64()),
    }
}

async fn post(cluster: &Cluster, base: &str, args: &Args, frame: Value) -> Answer {
    let url = format!("{base}/api/rooms/{}/messages", args.room);
    let answer = cluster.http.post(url).bearer_auth(&args.token).json(&frame).send().await;
    let (status, body) = match answer {
        Ok(resp) => (resp.status().as_u16(), resp.json::<Value>().await.unwrap_or(Value::Null)),
        Err(_) => (0, Value::Null),
    };
    match status {
        202 => Answer::Acked(body["seq"].as_u64()),
        _ => refused(&body),
    }
}

type Failed = Box<dyn std::error::Error + Send + Sync>;

/// A TALK over a new `/ws` socket: its ACK, or the ERROR that answers it.
async fn ws(base: &str, args: &Args, id: &str, talk: &Value) -> Result<Answer, Failed> {
    let url = format!("{}/ws?token={}&roomId={}", base.replace("http://", "ws://"), args.token, args.room);
    let (mut socket, _) = tokio::time::timeout(ANSWER, tokio_tungstenite::connect_async(url)).await??;
    socket.send(Message::Text(talk.to_string().into())).await?;
    let deadline = tokio::time::Instant::now() + ANSWER;
    while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, socket.next()).await {
        let Message::Text(t) = msg? else { continue };
        let frame: Value = serde_json::from_str(&t)?;
        match frame["type"].as_str() {
            Some("ACK") if frame["messageId"] == id => return Ok(Answer::Acked(frame["acceptedSeq"].as_u64())),
            Some("ERROR") => return Ok(refused(&frame)),
            _ => {}
        }
    }
    Ok(Answer::Again(None))
}

/// A TALK as a STOMP SEND over a new `/ws-chat` socket: its RECEIPT, or the ERROR that answers it.
async fn stomp(base: &str, args: &Args, talk: &Value) -> Result<Answer, Failed> {
    let url = format!("{}/ws-chat?token={}", base.replace("http://", "ws://"), args.token);
    let mut req = url.into_client_request()?;
    req.headers_mut().insert("Sec-WebSocket-Protocol", "v12.stomp".parse()?);
    let (mut socket, _) = tokio::time::timeout(ANSWER, tokio_tungstenite::connect_async(req)).await??;
    let text = |f: Frame| Message::Text(String::from_utf8(f.encode()).unwrap().into());
    socket.send(text(Frame::new(Command::Connect).header("accept-version", "1.2").header("host", "dt"))).await?;
    let send = Frame::new(Command::Send).header("destination", "/pub/chat/send").header("receipt", "talk");
    socket.send(text(send.body(talk.to_string()))).await?;
    let mut decoder = Decoder::new(1 << 20);
    let deadline = tokio::time::Instant::now() + ANSWER;
    while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, socket.next()).await {
        let bytes = match msg? {
            Message::Text(t) => t.as_bytes().to_vec(),
            Message::Binary(b) => b.to_vec(),
            _ => continue,
        };
        for item in decoder.push(&bytes)? {
            let Item::Frame(frame) = item else { continue };
            match frame.command {
                Command::Receipt if frame.get("receipt-id") == Some("talk") => return Ok(Answer::Acked(None)),
                // A refusal with no errors subscription: its code is the `message` header.
                Command::Error => return Ok(refused(&json!({"code": frame.get("message")}))),
                _ => {}
            }
        }
    }
    Ok(Answer::Again(None))
}
