//! `dtbench game`: plays whole games against a running server (three guests per game, matched
//! through the queue, every move and roll over REST, the game read on the first player's
//! WebSocket) and measures what a player waits for: the first words of the game master after a
//! turn closes, how fast the answer streams, and chat latency in another room while games
//! narrate against none. Writes the first game's transcript as Markdown.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;

use crate::proto::Endpoint;
use crate::proto::dt::guest_named;
use crate::report::Latency;

/// The worlds games are played in; concurrent games each take another, so the queue never mixes
/// two parties.
const WORLDS: [&str; 3] = ["FANTASY", "SF", "MODERN"];
const NAMES: [[&str; 3]; 3] = [["Aria", "Borin", "Cyd"], ["Dax", "Eve", "Fenn"], ["Gil", "Hana", "Ivo"]];
const DICE: [&str; 7] = ["d20", "str", "dex", "int", "wis", "wil", "luk"];
const MOVES: [&[&str]; 3] = [
    &[
        "search the room for traps",
        "light a torch and read the runes on the wall",
        "guard the door with my shield",
        "sneak ahead to scout the corridor",
        "pray to the old gods for guidance",
        "try to pick the lock on the iron chest",
        "throw a dagger at the nearest foe",
        "talk to the raven and ask about the crown",
        "climb the broken stairs",
    ],
    &[
        "scan the corridor with my sensor",
        "hack the airlock panel",
        "cover the others with my rifle",
        "reroute power to the shields",
        "search the wreck for supplies",
        "call the station on the radio",
        "patch the hull breach",
        "follow the blinking lights",
        "fire at the drone",
    ],
    &[
        "check the security footage",
        "question the night guard",
        "pick the lock of the office",
        "follow the car across town",
        "search the desk for letters",
        "call an old friend at the police",
        "hide behind the counter",
        "chase the man in the grey coat",
        "read the files on the laptop",
    ],
];

/// What one game measured.
#[derive(Default)]
pub struct Played {
    /// Microseconds from the turn closing (TURN … AI_RESPONSE) to its first GM_CHUNK.
    pub first_chunk_us: Vec<u64>,
    /// Characters narrated, and microseconds from first chunk to GM_MESSAGE, over all turns.
    pub chars: u64,
    pub streaming_us: u64,
    pub turns: u32,
    pub transcript: String,
    /// With a second node: microseconds from a chunk made (its `sentAtUs`, the narrating node's
    /// clock: this machine's) to its arrival at the later of the two nodes' clients.
    pub cross_node_us: Vec<u64>,
}

/// Microseconds from each chunk (turn, index) made to its arrival at a client.
type Arrivals = Arc<std::sync::Mutex<HashMap<(u64, u64), u64>>>;

fn now_us() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

fn note_chunk(arrivals: &Arrivals, f: &Value) {
    if f["type"] == "GM_CHUNK"
        && let (Some(turn), Some(index), Some(sent)) = (f["turn"].as_u64(), f["index"].as_u64(), f["sentAtUs"].as_u64())
    {
        arrivals.lock().expect("arrivals").entry((turn, index)).or_insert_with(|| now_us().saturating_sub(sent));
    }
}

async fn send(ep: &Endpoint, token: &str, room: &str, frame: Value) -> Result<()> {
    let resp =
        ep.http.post(format!("{}/api/rooms/{room}/messages", ep.base)).bearer_auth(token).json(&frame).send().await?;
    if !resp.status().is_success() {
        bail!("{} answered {}: {}", frame["type"], resp.status(), resp.text().await.unwrap_or_default());
    }
    Ok(())
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(ep: &Endpoint, token: &str, room: &str) -> Result<Ws> {
    let url = format!("{}/ws?token={token}&roomId={room}", ep.ws_base());
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    ws.send(Message::text(r#"{"type":"JOIN"}"#)).await?;
    Ok(ws)
}

/// Plays game number `g` (0..3) to its end; with `other`, the second player reads the game on
/// that node, and each chunk's hop between the nodes is measured.
pub async fn play(ep: &Endpoint, g: usize, other: Option<&Endpoint>) -> Result<Played> {
    let (world, names) = (WORLDS[g % 3], NAMES[g % 3]);
    let mut tokens = Vec::new();
    let mut room = None;
    for name in names {
        let token = guest_named(ep, name).await?;
        let resp = ep
            .http
            .post(format!("{}/api/matching", ep.base))
            .bearer_auth(&token)
            .json(&json!({ "worldType": world }))
            .send()
            .await?;
        let body: Value = resp.error_for_status()?.json().await?;
        room = body["roomId"].as_str().map(str::to_owned).or(room);
        tokens.push(token);
    }
    let room = room.context("three players were not matched (is match_size 3?)")?;
    let mut ws = open(ep, &tokens[0], &room).await?;
    for token in &tokens[1..] {
        send(ep, token, &room, json!({"type": "JOIN"})).await?;
    }
    let (here, there): (Arrivals, Arrivals) = Default::default();
    let far_reader = match other {
        Some(b) => {
            let mut far = open(b, &tokens[1], &room).await?;
            let there = there.clone();
            Some(tokio::spawn(async move {
                while let Some(Ok(Message::Text(text))) = far.next().await {
                    if let Ok(f) = serde_json::from_str::<Value>(text.as_str()) {
                        note_chunk(&there, &f);
                    }
                }
            }))
        }
        None => None,
    };
    let mut played = Played::default();
    let mut closed_at = None;
    let mut first_at = None;
    let mut lines = vec![format!("World: {world}. Players: {}.", names.join(", "))];
    let nick = |v: &Value| v["nickname"].as_str().unwrap_or("?").to_owned();
    while let Some(msg) = tokio::time::timeout(Duration::from_secs(300), ws.next()).await.context("the game stalled")? {
        let Message::Text(text) = msg? else { continue };
        let f: Value = serde_json::from_str(text.as_str())?;
        note_chunk(&here, &f);
        let turn = f["turn"].as_u64().unwrap_or(0);
        match f["type"].as_str().unwrap_or("") {
            "TURN" if f["phase"] == "TURN_INPUT" => {
                lines.push(format!("\n## Turn {turn}\n"));
                for (i, token) in tokens.iter().enumerate() {
                    let die = DICE[(turn as usize + i) % DICE.len()];
                    send(ep, token, &room, json!({"type": "ROLL", "die": die, "messageId": uuid::Uuid::now_v7()}))
                        .await?;
                    let moves = MOVES[g % 3];
                    let content = moves[(turn as usize * 3 + i) % moves.len()];
                    let id = uuid::Uuid::now_v7();
                    send(ep, token, &room, json!({"type": "ACTION", "content": content, "messageId": id})).await?;
                }
            }
            "TURN" if f["phase"] == "AI_RESPONSE" => {
                closed_at = Some(Instant::now());
                first_at = None;
            }
            "DICE" => {
                lines.push(format!("- {} rolls {}: **{}**", nick(&f), f["die"].as_str().unwrap_or(""), f["result"]))
            }
            "ACTION" => lines.push(format!("- {}: *{}*", nick(&f), f["content"].as_str().unwrap_or(""))),
            "GM_CHUNK" if first_at.is_none() => {
                let now = Instant::now();
                if let Some(closed) = closed_at {
                    played.first_chunk_us.push(now.duration_since(closed).as_micros() as u64);
                }
                first_at = Some(now);
            }
            "GM_MESSAGE" => {
                let content = f["content"].as_str().unwrap_or("");
                played.chars += content.chars().count() as u64;
                if let Some(first) = first_at {
                    played.streaming_us += first.elapsed().as_micros() as u64;
                }
                played.turns += 1;
                lines.push(format!("\n> **Game master:** {content}"));
            }
            "SYSTEM" => lines.push(format!("\n*System: {}*", f["content"].as_str().unwrap_or(""))),
            "GAME_END" => {
                lines.push(format!("\n## The end\n\n{}", f["result"].as_str().unwrap_or("")));
                break;
            }
            _ => {}
        }
    }
    played.transcript = lines.join("\n");
    if let Some(reader) = far_reader {
        tokio::time::sleep(Duration::from_millis(500)).await;
        reader.abort();
        let (here, there) = (here.lock().expect("arrivals"), there.lock().expect("arrivals"));
        for (key, a) in here.iter() {
            if let Some(b) = there.get(key) {
                played.cross_node_us.push(*a.max(b));
            }
        }
    }
    Ok(played)
}

/// Echo latency of a chat line in a room of its own, sent every `every`, until `stop` is set.
pub async fn chat_probe(ep: Endpoint, every: Duration, stop: Arc<AtomicBool>) -> Result<hdrhistogram::Histogram<u64>> {
    let ep = &ep;
    let token = guest_named(ep, "probe").await?;
    let body: Value = ep
        .http
        .post(format!("{}/api/rooms", ep.base))
        .bearer_auth(&token)
        .json(&json!({"name": "probe", "maxCapacity": 0}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let room = body["roomId"].as_str().context("no roomId")?.to_owned();
    let (mut sink, mut stream) = open(ep, &token, &room).await?.split();
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let hist = Arc::new(Mutex::new(hdrhistogram::Histogram::<u64>::new(3)?));
    let reader = {
        let (sent, hist) = (sent.clone(), hist.clone());
        tokio::spawn(async move {
            while let Some(Ok(Message::Text(text))) = stream.next().await {
                let Ok(f) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                if f["type"] != "TALK" {
                    continue;
                }
                let Some(at) = f["content"].as_str().and_then(|c| sent.try_lock().ok()?.remove(c)) else { continue };
                let _ = hist.lock().await.record(at.elapsed().as_micros() as u64);
            }
        })
    };
    let mut tick = tokio::time::interval(every);
    for n in 0u64.. {
        tick.tick().await;
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let content = format!("probe {n}");
        sent.lock().await.insert(content.clone(), Instant::now());
        sink.send(Message::text(json!({"type": "TALK", "content": content}).to_string())).await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    reader.abort();
    let h = hist.lock().await.clone();
    Ok(h)
}

/// Percentiles of microsecond samples.
pub fn latency(samples: &[u64]) -> Latency {
    let mut h = hdrhistogram::Histogram::<u64>::new(3).expect("a histogram");
    for &s in samples {
        let _ = h.record(s);
    }
    Latency::of(&h)
}

/// The server's `dungeontalk_gm_work` counts from `/metrics`, by kind.
pub async fn gm_work(ep: &Endpoint) -> Result<HashMap<String, f64>> {
    let text = ep.http.get(format!("{}/metrics", ep.base)).send().await?.text().await?;
    Ok(text
        .lines()
        .filter_map(|l| l.strip_prefix("dungeontalk_gm_work{kind=\""))
        .filter_map(|l| {
            let (kind, rest) = l.split_once("\"}")?;
            Some((kind.to_owned(), rest.trim().parse().ok()?))
        })
        .collect())
}

/// The resident and peak memory of a process, KiB.
pub fn rss(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
