//! The protocols the generator speaks, one module each, behind one small surface: make the rooms,
//! open a subscriber (it feeds a [`Probe`]), open a publisher (it sends bodies into its room).
//!
//! - `dt`: DungeonTalk's own (`/ws` JSON or compact frames, SSE + POST, long polling + POST);
//! - `stomp`: DungeonTalk's STOMP 1.2 at `/ws-chat` (the original client's protocol);
//! - `sio`: Socket.IO 4 (Engine.IO v4 over WebSocket or HTTP long polling), spoken by the Node
//!   `socket.io` peer and the socketioxide peer alike;
//! - `bare`: the bare broadcast peer (`/ws?room=`: every text goes to everyone in the room).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::probe::Probe;

pub mod bare;
pub mod dt;
pub mod sio;
pub mod stomp;

/// Which server protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Dt,
    Sio,
    Bare,
}

/// Which transport of that protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Ws,
    /// `/ws?encoding=compact`: TALKs as compact binary frames (DungeonTalk only).
    #[value(name = "ws-compact")]
    #[serde(rename = "ws-compact")]
    WsCompact,
    Sse,
    Poll,
    /// STOMP 1.2 over a WebSocket (DungeonTalk only).
    Stomp,
}

impl Transport {
    /// Its name on the command line and in the results.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Ws => "ws",
            Transport::WsCompact => "ws-compact",
            Transport::Sse => "sse",
            Transport::Poll => "poll",
            Transport::Stomp => "stomp",
        }
    }
}

/// A server to measure.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub kind: Kind,
    pub transport: Transport,
    /// `http://host:port`.
    pub base: String,
    pub http: reqwest::Client,
}

impl Endpoint {
    /// The WebSocket base (`ws://host:port`).
    pub fn ws_base(&self) -> String {
        self.base.replacen("http", "ws", 1)
    }
}

/// Small buffers: the generator holds thousands of sockets.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(8 * 1024).write_buffer_size(0)
}

/// Bytes a server-to-client WebSocket frame of `len` payload bytes takes on the wire.
pub fn ws_frame_bytes(len: usize) -> usize {
    len + if len < 126 {
        2
    } else if len < 65_536 {
        4
    } else {
        10
    }
}

/// The rooms of a run and what each client needs to enter one.
pub enum World {
    Dt(dt::World),
    Named(Vec<String>),
}

impl World {
    /// Makes `rooms` rooms on the server (DungeonTalk) or names them (the peers).
    pub async fn make(ep: &Endpoint, rooms: usize, tag: &str) -> Result<World> {
        Ok(match ep.kind {
            Kind::Dt => World::Dt(dt::World::make(ep, rooms, tag).await?),
            Kind::Sio | Kind::Bare => World::Named((0..rooms).map(|i| format!("{tag}-{i}")).collect()),
        })
    }

    fn name(&self, room: usize) -> &str {
        match self {
            World::Dt(w) => &w.rooms[room],
            World::Named(n) => &n[room],
        }
    }
}

/// An open subscriber; dropping it closes the connection.
pub struct Sub {
    task: JoinHandle<()>,
    /// Bytes of the handshake (request + response), where the transport has one.
    pub handshake_bytes: usize,
    /// The access token it connected with, where the server has logins: a reconnect uses it again.
    pub who: Option<String>,
}

impl Drop for Sub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How long opening one subscriber or publisher may take (connect, handshake, join) before the run
/// fails with a clear error, so a server that never answers a join cannot hang the generator.
pub const HANDSHAKE_LIMIT: Duration = Duration::from_secs(30);

async fn within<T>(what: &str, room: &str, open: impl Future<Output = Result<T>>) -> Result<T> {
    match tokio::time::timeout(HANDSHAKE_LIMIT, open).await {
        Ok(r) => r.with_context(|| format!("opening a {what} of room {room}")),
        Err(_) => anyhow::bail!("opening a {what} of room {room}: no answer within {HANDSHAKE_LIMIT:?}"),
    }
}

/// Opens a subscriber of `room` that feeds `probe`; returns once it is in the room.
pub async fn subscribe(ep: &Endpoint, world: &World, room: usize, probe: Arc<Probe>) -> Result<Sub> {
    resubscribe(ep, world, room, probe, None).await
}

/// [`subscribe`] as the client `who` (a [`Sub::who`]) coming back, or a new one if `None`.
pub async fn resubscribe(
    ep: &Endpoint,
    world: &World,
    room: usize,
    probe: Arc<Probe>,
    who: Option<String>,
) -> Result<Sub> {
    let name = world.name(room);
    within("subscriber", name, open_sub(ep, world, name, probe, who)).await
}

async fn open_sub(ep: &Endpoint, world: &World, name: &str, probe: Arc<Probe>, who: Option<String>) -> Result<Sub> {
    match (ep.kind, world) {
        (Kind::Dt, World::Dt(_)) if ep.transport == Transport::Stomp => stomp::subscribe(ep, name, probe).await,
        (Kind::Dt, World::Dt(w)) => dt::subscribe(ep, w, name, probe, who).await,
        (Kind::Sio, _) => sio::subscribe(ep, name, probe).await,
        (Kind::Bare, _) => bare::subscribe(ep, name, probe).await,
        _ => anyhow::bail!("the world does not match the endpoint"),
    }
}

/// A connection that sends into one room.
pub enum Publisher {
    Dt(dt::Publisher),
    Stomp(stomp::Publisher),
    Sio(sio::Publisher),
    Bare(bare::Publisher),
}

impl Publisher {
    /// Opens a publisher into `room`.
    pub async fn open(ep: &Endpoint, world: &World, room: usize) -> Result<Publisher> {
        let name = world.name(room);
        within("publisher", name, Self::open_in(ep, world, name)).await
    }

    async fn open_in(ep: &Endpoint, world: &World, name: &str) -> Result<Publisher> {
        Ok(match (ep.kind, world) {
            (Kind::Dt, World::Dt(_)) if ep.transport == Transport::Stomp => {
                Publisher::Stomp(stomp::Publisher::open(ep, name).await?)
            }
            (Kind::Dt, World::Dt(w)) => Publisher::Dt(dt::Publisher::open(ep, w, name).await?),
            (Kind::Sio, _) => Publisher::Sio(sio::Publisher::open(ep, name).await?),
            (Kind::Bare, _) => Publisher::Bare(bare::Publisher::open(ep, name).await?),
            _ => anyhow::bail!("the world does not match the endpoint"),
        })
    }

    /// Sends one body.
    pub async fn send(&mut self, body: String) -> Result<()> {
        match self {
            Publisher::Dt(p) => p.send(body).await,
            Publisher::Stomp(p) => p.send(body).await,
            Publisher::Sio(p) => p.send(body).await,
            Publisher::Bare(p) => p.send(body).await,
        }
    }
}

/// The text between `start` and the next `"` after it (bodies never contain quotes).
pub fn between<'a>(text: &'a str, start: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find('"')?;
    Some(&text[from..from + len])
}
