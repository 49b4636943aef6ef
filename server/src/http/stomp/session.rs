//! What a STOMP 1.2 connection does with each frame: CONNECT first, then SUBSCRIBE, SEND, ACK, …,
//! until DISCONNECT or a protocol error (ERROR, then close).
//!
//! Refusals of what a frame asks (a full room, a rate limit, a room one may not read) are not
//! protocol errors: they go to the client's `/user/queue/errors` subscription as `{code, message}`
//! and the connection stays. A client without that subscription gets them as an ERROR frame,
//! which ends the connection as the spec says an ERROR does.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use dungeontalk_app::wire::stomp::{Command, Decoder, Frame, Item};
use dungeontalk_app::wire::{ErrorBody, ErrorCode};
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;

use super::readers::Readers;
use super::subs::{Destination, Out, RoomStart, reading};
use crate::error::AppError;
use crate::http::frames::{Acted, PendingActed, Started, start};
use crate::model::Actor;
use crate::session::{self, Transport};
use crate::state::AppState;

/// Open transactions per connection, and frames held by one.
const MAX_TRANSACTIONS: usize = 8;
const MAX_TRANSACTION_FRAMES: usize = 100;

/// What handling a frame asks of the connection.
pub(super) enum Next {
    Go,
    /// Write what is queued, then close.
    End,
}

/// A SEND being made durable, and the receipt it asked for.
type Pending = std::pin::Pin<Box<dyn std::future::Future<Output = (Result<Acted, AppError>, Option<String>)> + Send>>;

/// A connection's state between frames.
pub(super) struct Session {
    pub(super) state: AppState,
    pub(super) actor: Actor,
    pub(super) decoder: Decoder,
    pub(super) connected: bool,
    /// Every subscription id in use, the errors queue's included.
    pub(super) subs: HashSet<String>,
    /// The room subscriptions' readers.
    pub(super) readers: Readers,
    /// The id of the `/user/queue/errors` subscription.
    pub(super) errors: Option<String>,
    pub(super) errors_sent: u64,
    pub(super) transactions: HashMap<String, Vec<Frame>>,
    /// Encoded frames waiting for the next write.
    pub(super) queue: Vec<Vec<u8>>,
    pub(super) inflight: FuturesOrdered<Pending>,
    /// How often the client wants a heart-beat from us (none: no heart-beats).
    pub(super) beat: Option<Duration>,
    /// How long the client may stay silent before it counts as gone.
    pub(super) silence: Duration,
}

impl Session {
    /// Feeds received bytes through the decoder and handles every frame they complete.
    pub(super) async fn bytes(&mut self, bytes: &[u8]) -> Next {
        let items = match self.decoder.push(bytes) {
            Ok(items) => items,
            Err(e) => return self.fatal("malformed frame", &e.to_string(), None),
        };
        for item in items {
            if let Item::Frame(frame) = item
                && let Next::End = self.frame(frame).await
            {
                return Next::End;
            }
        }
        Next::Go
    }

    async fn frame(&mut self, f: Frame) -> Next {
        let receipt = f.get("receipt").map(str::to_owned);
        if !self.connected {
            return match f.command {
                Command::Connect | Command::Stomp => self.connect(&f),
                _ => self.fatal("not connected", "Send CONNECT first.", receipt.as_deref()),
            };
        }
        if let Some(tx) = f.get("transaction").map(str::to_owned)
            && matches!(f.command, Command::Send | Command::Ack | Command::Nack)
        {
            return self.hold(&tx, f, receipt.as_deref());
        }
        let result = match f.command {
            Command::Subscribe => self.subscribe(&f).await,
            Command::Unsubscribe => self.unsubscribe(&f),
            Command::Send => return self.send(f, receipt).await,
            Command::Ack | Command::Nack => required(&f, "id").map(|_| ()),
            Command::Begin => self.begin(&f),
            Command::Commit => return self.commit(&f, receipt).await,
            Command::Abort => required(&f, "transaction").map(|tx| {
                self.transactions.remove(tx);
            }),
            Command::Disconnect => return self.disconnect(receipt).await,
            Command::Connect | Command::Stomp => {
                return self.fatal("already connected", "This connection is connected already.", receipt.as_deref());
            }
            Command::Connected | Command::Message | Command::Receipt | Command::Error => {
                return self.fatal("server frame", "Clients do not send server frames.", receipt.as_deref());
            }
        };
        match result {
            Ok(()) => {
                self.receipt(receipt.as_deref());
                Next::Go
            }
            Err(e) => self.refuse(e, receipt.as_deref()),
        }
    }

    fn connect(&mut self, f: &Frame) -> Next {
        let versions = f.get("accept-version").unwrap_or("1.0");
        if !versions.split(',').any(|v| v.trim() == "1.2") {
            let frame = Frame::new(Command::Error)
                .header("version", "1.2")
                .header("message", "unsupported version")
                .body("This server speaks STOMP 1.2.");
            self.queue.push(frame.encode());
            return Next::End;
        }
        // heart-beat: cx (how often the client can send), cy (how often it wants to hear from us).
        let server = self.state.settings.stomp_heartbeat_ms;
        let (cx, cy) = f
            .get("heart-beat")
            .and_then(|h| h.split_once(','))
            .and_then(|(x, y)| Some((x.trim().parse::<u64>().ok()?, y.trim().parse::<u64>().ok()?)))
            .unwrap_or((0, 0));
        if cy > 0 && server > 0 {
            self.beat = Some(Duration::from_millis(cy.max(server)));
        }
        if cx > 0 && server > 0 {
            // Twice the agreed period, as the spec suggests, and never less than the ping rule.
            self.silence = self.silence.max(Duration::from_millis(cx.max(server) * 2));
        }
        self.connected = true;
        let frame = Frame::new(Command::Connected)
            .header("version", "1.2")
            .header("heart-beat", format!("{server},{server}"))
            .header("server", concat!("DungeonTalk/", env!("CARGO_PKG_VERSION")))
            .header("session", uuid::Uuid::now_v7().to_string())
            .header("user-name", self.actor.member_id.0.as_str());
        self.queue.push(frame.encode());
        Next::Go
    }

    async fn subscribe(&mut self, f: &Frame) -> Result<(), AppError> {
        let id = required(f, "id")?.to_owned();
        let destination = required(f, "destination")?.to_owned();
        if self.subs.contains(&id) {
            return Err(invalid(format!("Subscription id {id:?} is in use on this connection.")));
        }
        if self.subs.len() >= self.state.settings.stomp_max_subscriptions {
            let msg = format!("At most {} subscriptions per connection.", self.state.settings.stomp_max_subscriptions);
            return Err(AppError::new(ErrorCode::TooManyConnections, msg));
        }
        let acks = matches!(f.get("ack"), Some("client" | "client-individual"));
        let dest = Destination::parse(&destination)?;
        let Some(room_id) = dest.room().cloned() else {
            self.errors = Some(id.clone());
            self.subs.insert(id);
            return Ok(());
        };
        let after = match f.get("resume-after") {
            Some(v) => Some(v.trim().parse::<u64>().map_err(|_| invalid("resume-after must be a seq number."))?),
            None => None,
        };
        let entry = session::enter(&self.state, &self.actor, &room_id, Transport::Stomp).await?;
        // Boxed: a store read is rare, and inline it would size this connection's future.
        let feed = Box::pin(entry.read(&self.state, &self.actor, after)).await?;
        let start = RoomStart { id: id.clone(), destination, acks, attendance: entry.attendance };
        self.readers.add(id.clone(), reading(&self.state, &dest, feed, start));
        self.subs.insert(id);
        Ok(())
    }

    fn unsubscribe(&mut self, f: &Frame) -> Result<(), AppError> {
        let id = required(f, "id")?;
        self.readers.remove(id);
        if !self.subs.remove(id) {
            return Err(invalid(format!("No subscription {id:?} on this connection.")));
        }
        if self.errors.as_deref() == Some(id) {
            self.errors = None;
        }
        Ok(())
    }

    /// A SEND to `/pub/chat/send`: started now (so frames keep their order), its receipt or
    /// error sent once it is durable.
    async fn send(&mut self, f: Frame, receipt: Option<String>) -> Next {
        let started = async {
            let destination = required(&f, "destination")?;
            if destination != "/pub/chat/send" {
                return Err(invalid(format!("Send to /pub/chat/send, not {destination:?}.")));
            }
            let (room_id, frame) = super::send::read(&f.body)?;
            let room = self.state.hub.room_for(&room_id, &self.actor).await?;
            start(&self.state, &room, &self.actor, frame).await
        };
        let pending: PendingActed = match started.await {
            Ok(Started::Pending(p)) => p,
            Ok(Started::Done(acted)) => Box::pin(std::future::ready(Ok(acted))),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        };
        self.inflight.push_back(Box::pin(async move { (pending.await, receipt) }));
        Next::Go
    }

    pub(super) fn done(&mut self, done: Result<Acted, AppError>, receipt: Option<&str>) -> Next {
        match done {
            Ok(_) => {
                self.receipt(receipt);
                Next::Go
            }
            Err(e) => self.refuse(e, receipt),
        }
    }

    fn begin(&mut self, f: &Frame) -> Result<(), AppError> {
        let tx = required(f, "transaction")?;
        if self.transactions.contains_key(tx) || self.transactions.len() >= MAX_TRANSACTIONS {
            return Err(invalid(format!("Transaction {tx:?} is open already, or {MAX_TRANSACTIONS} are.")));
        }
        self.transactions.insert(tx.to_owned(), Vec::new());
        Ok(())
    }

    fn hold(&mut self, tx: &str, f: Frame, receipt: Option<&str>) -> Next {
        match self.transactions.get_mut(tx) {
            Some(held) if held.len() < MAX_TRANSACTION_FRAMES => {
                held.push(f);
                self.receipt(receipt);
                Next::Go
            }
            Some(_) => {
                self.refuse(invalid(format!("A transaction holds at most {MAX_TRANSACTION_FRAMES} frames.")), receipt)
            }
            None => self.refuse(invalid(format!("No open transaction {tx:?}.")), receipt),
        }
    }

    async fn commit(&mut self, f: &Frame, receipt: Option<String>) -> Next {
        let held = match required(f, "transaction")
            .and_then(|tx| self.transactions.remove(tx).ok_or_else(|| invalid(format!("No open transaction {tx:?}."))))
        {
            Ok(held) => held,
            Err(e) => return self.refuse(e, receipt.as_deref()),
        };
        for frame in held {
            if let Command::Send = frame.command
                && let Next::End = self.send(frame, None).await
            {
                return Next::End;
            }
        }
        // After the transaction's SENDs, in order.
        self.inflight.push_back(Box::pin(async move { (Ok(Acted::default()), receipt) }));
        Next::Go
    }

    /// Waits for the SENDs still being stored, answers the receipt, then ends.
    async fn disconnect(&mut self, receipt: Option<String>) -> Next {
        while let Some((done, r)) = self.inflight.next().await {
            if let Next::End = self.done(done, r.as_deref()) {
                return Next::End;
            }
        }
        self.receipt(receipt.as_deref());
        Next::End
    }

    fn receipt(&mut self, receipt: Option<&str>) {
        if let Some(r) = receipt {
            self.queue.push(Frame::new(Command::Receipt).header("receipt-id", r).encode());
        }
    }

    pub(super) fn out(&mut self, out: Out) -> Next {
        match out {
            Out::Message(bytes) => {
                self.queue.push(bytes);
                Next::Go
            }
            Out::Ended(ended) => {
                let (id, error) = *ended;
                self.readers.remove(&id);
                self.subs.remove(&id);
                self.refuse(error, None)
            }
        }
    }

    /// A refusal: to the errors queue if the client has one, else as an ERROR that ends it all.
    fn refuse(&mut self, e: AppError, receipt: Option<&str>) -> Next {
        let Some(id) = self.errors.clone() else {
            return self.fatal(e.code.as_str(), &e.message, receipt);
        };
        self.errors_sent += 1;
        let body = ErrorBody { code: e.code, message: e.message, retry_after_ms: e.retry_after_ms };
        let mut frame = Frame::new(Command::Message)
            .header("subscription", id.as_str())
            .header("message-id", format!("err-{}", self.errors_sent))
            .header("destination", "/user/queue/errors")
            .header("content-type", "application/json");
        if let Some(r) = receipt {
            frame = frame.header("receipt-id", r);
        }
        self.queue.push(frame.body(serde_json::to_vec(&body).expect("errors serialize")).encode());
        Next::Go
    }

    /// ERROR, then the connection ends.
    pub(super) fn fatal(&mut self, message: &str, detail: &str, receipt: Option<&str>) -> Next {
        let mut frame = Frame::new(Command::Error).header("message", message).header("content-type", "text/plain");
        if let Some(r) = receipt {
            frame = frame.header("receipt-id", r);
        }
        self.queue.push(frame.body(detail).encode());
        Next::End
    }
}

fn invalid(msg: impl Into<String>) -> AppError {
    AppError::new(ErrorCode::InvalidRequest, msg)
}

fn required<'a>(f: &'a Frame, name: &str) -> Result<&'a str, AppError> {
    f.get(name).ok_or_else(|| invalid(format!("{} needs a {name} header.", f.command.name())))
}
