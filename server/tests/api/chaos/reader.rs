//! A reader of one room on one transport that never gives up: on any failure, a drop by the
//! fault schedule or a RESYNC, it reconnects through a live node with its cursor. It writes
//! down every room event it is given, in order, for `check.rs`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dungeontalk_app::wire::stomp::{Command, Decoder, Frame, Item};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::cluster::Cluster;
use super::{Counts, Rng};

/// How long a link may stay silent before the reader takes it for dead.
const SILENCE: Duration = Duration::from_secs(30);
/// How often a waiting reader looks at its flags.
const TICK: Duration = Duration::from_millis(200);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Ws,
    Sse,
    Poll,
    Stomp,
}

/// One room event as a reader got it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub seq: u64,
    pub kind: String,
    pub message_id: Option<String>,
}

/// What one reader was given.
pub struct Journal {
    pub room: String,
    pub kind: Kind,
    pub index: usize,
    pub seen: Mutex<Vec<Seen>>,
    pub cursor: AtomicU64,
    /// Set by the fault schedule: drop the link now.
    pub drop: AtomicBool,
    pub anomalies: Mutex<Vec<String>>,
}

impl Journal {
    pub fn new(room: String, kind: Kind, index: usize) -> Journal {
        Journal {
            room,
            kind,
            index,
            seen: Mutex::new(Vec::new()),
            cursor: AtomicU64::new(0),
            drop: AtomicBool::new(false),
            anomalies: Mutex::new(Vec::new()),
        }
    }

    pub fn name(&self) -> String {
        format!("{:?} reader of room {} ({})", self.kind, self.index, self.room)
    }

    /// Writes down a frame; false when it tells the reader to reconnect (RESYNC, ERROR).
    fn record(&self, frame: &Value) -> bool {
        match frame["type"].as_str() {
            Some("RESYNC" | "ERROR") => return false,
            Some(_) => {}
            None => return true,
        }
        let Some(seq) = frame["seq"].as_u64().filter(|s| *s > 0) else { return true };
        let cursor = self.cursor.load(Ordering::SeqCst);
        if seq <= cursor {
            let said = format!("{} was given seq {seq} after {cursor}", self.name());
            self.anomalies.lock().unwrap().push(said);
            return true;
        }
        let kind = frame["type"].as_str().unwrap_or("").to_owned();
        let message_id = frame["messageId"].as_str().map(str::to_owned);
        self.seen.lock().unwrap().push(Seen { seq, kind, message_id });
        self.cursor.store(seq, Ordering::SeqCst);
        true
    }

    /// Whether the link should end now (stopping, or dropped by the schedule).
    fn ending(&self, stop: &AtomicBool) -> bool {
        stop.load(Ordering::SeqCst) || self.drop.swap(false, Ordering::SeqCst)
    }
}

/// Reads until `stop`, reconnecting as often as it takes.
pub async fn run(
    cluster: Arc<Cluster>,
    journal: Arc<Journal>,
    token: String,
    mut rng: Rng,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::SeqCst) {
        if let Some(base) = cluster.pick(&mut rng) {
            counts.operations.fetch_add(1, Ordering::SeqCst);
            let link = Link { cluster: &cluster, base: &base, token: &token, journal: &journal, stop: &stop };
            let _ = match journal.kind {
                Kind::Ws => link.ws().await,
                Kind::Sse => link.sse().await,
                Kind::Poll => link.poll().await,
                Kind::Stomp => link.stomp().await,
            };
        }
        tokio::time::sleep(Duration::from_millis(rng.range(100, 600))).await;
    }
}

/// One connection's worth of reading; any error ends it (the caller reconnects).
struct Link<'a> {
    cluster: &'a Cluster,
    base: &'a str,
    token: &'a str,
    journal: &'a Journal,
    stop: &'a AtomicBool,
}

type Failed = Box<dyn std::error::Error + Send + Sync>;

impl Link<'_> {
    fn after(&self) -> u64 {
        self.journal.cursor.load(Ordering::SeqCst)
    }

    async fn ws(&self) -> Result<(), Failed> {
        let url = format!(
            "{}/ws?token={}&roomId={}&after={}",
            self.base.replace("http://", "ws://"),
            self.token,
            self.journal.room,
            self.after()
        );
        let (mut ws, _) = tokio::time::timeout(SILENCE, tokio_tungstenite::connect_async(url)).await??;
        let mut silent = Duration::ZERO;
        while !self.journal.ending(self.stop) && silent < SILENCE {
            match tokio::time::timeout(TICK, ws.next()).await {
                Err(_) => silent += TICK,
                Ok(Some(Ok(Message::Text(t)))) => {
                    silent = Duration::ZERO;
                    if !self.journal.record(&serde_json::from_str(&t)?) {
                        return Ok(());
                    }
                }
                Ok(Some(Ok(_))) => silent = Duration::ZERO,
                Ok(_) => return Ok(()),
            }
        }
        Ok(())
    }

    async fn sse(&self) -> Result<(), Failed> {
        let url =
            format!("{}/api/rooms/{}/events?token={}&after={}", self.base, self.journal.room, self.token, self.after());
        let mut resp = self.cluster.http.get(url).timeout(Duration::from_secs(24 * 3600)).send().await?;
        if !resp.status().is_success() {
            return Ok(());
        }
        let (mut buf, mut silent) = (String::new(), Duration::ZERO);
        while !self.journal.ending(self.stop) && silent < SILENCE {
            match tokio::time::timeout(TICK, resp.chunk()).await {
                Err(_) => silent += TICK,
                Ok(Ok(Some(chunk))) => {
                    silent = Duration::ZERO;
                    buf.push_str(std::str::from_utf8(&chunk)?);
                    while let Some(end) = buf.find("\n\n") {
                        let block: String = buf.drain(..end + 2).collect();
                        let data = block.lines().find_map(|l| l.strip_prefix("data: "));
                        if let Some(data) = data
                            && !self.journal.record(&serde_json::from_str(data)?)
                        {
                            return Ok(());
                        }
                    }
                }
                Ok(_) => return Ok(()),
            }
        }
        Ok(())
    }

    async fn poll(&self) -> Result<(), Failed> {
        while !self.journal.ending(self.stop) {
            let url = format!("{}/api/rooms/{}/poll?timeout=2000&after={}", self.base, self.journal.room, self.after());
            let resp = self.cluster.http.get(url).bearer_auth(self.token).send().await?;
            if !resp.status().is_success() {
                return Ok(());
            }
            let batch: Value = resp.json().await?;
            for event in batch["events"].as_array().into_iter().flatten() {
                if !self.journal.record(event) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    async fn stomp(&self) -> Result<(), Failed> {
        let url = format!("{}/ws-chat?token={}", self.base.replace("http://", "ws://"), self.token);
        let mut req = url.into_client_request()?;
        req.headers_mut().insert("Sec-WebSocket-Protocol", "v12.stomp".parse()?);
        let (mut ws, _) = tokio::time::timeout(SILENCE, tokio_tungstenite::connect_async(req)).await??;
        let send = |f: Frame| Message::Text(String::from_utf8(f.encode()).unwrap().into());
        ws.send(send(Frame::new(Command::Connect).header("accept-version", "1.2").header("host", "dt"))).await?;
        let subscribe = Frame::new(Command::Subscribe)
            .header("id", "0")
            .header("destination", format!("/sub/chat/room/{}", self.journal.room))
            .header("resume-after", self.after().to_string());
        ws.send(send(subscribe)).await?;
        let (mut decoder, mut silent) = (Decoder::new(1 << 20), Duration::ZERO);
        while !self.journal.ending(self.stop) && silent < SILENCE {
            let bytes = match tokio::time::timeout(TICK, ws.next()).await {
                Err(_) => {
                    silent += TICK;
                    continue;
                }
                Ok(Some(Ok(Message::Text(t)))) => t.as_bytes().to_vec(),
                Ok(Some(Ok(Message::Binary(b)))) => b.to_vec(),
                Ok(Some(Ok(_))) => continue,
                Ok(_) => return Ok(()),
            };
            silent = Duration::ZERO;
            for item in decoder.push(&bytes)? {
                let Item::Frame(frame) = item else { continue };
                match frame.command {
                    Command::Message => {
                        if !self.journal.record(&serde_json::from_slice(&frame.body)?) {
                            return Ok(());
                        }
                    }
                    Command::Error => return Ok(()),
                    _ => {}
                }
            }
        }
        Ok(())
    }
}
