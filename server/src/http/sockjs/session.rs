//! A SockJS session: the STOMP connection behind it, and the outbox its receivers (one HTTP
//! response or WebSocket at a time) drain. The session outlives each receiver; it ends once no
//! receiver has been attached for `sockjs_disconnect_delay_ms`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc};

use super::frames::{self, Close};
use crate::http::stomp::conn::{Incoming, Pipe};

/// Frames a receiver takes at once (one `a[...]`).
const BATCH: usize = 256;

/// One session's shared state.
pub struct Sock {
    outbox: Mutex<Outbox>,
    /// Frames or the close are ready for a receiver.
    ready: Notify,
    /// A receiver took frames: a waiting writer may go on.
    room: Notify,
    /// A receiver left or the session closed: the STOMP side checks whether the client is gone.
    left: Notify,
    inbound: mpsc::Sender<Vec<u8>>,
    /// Frames the outbox holds before the STOMP connection must wait (and then drop the client).
    capacity: usize,
}

struct Outbox {
    frames: VecDeque<String>,
    closed: Option<Close>,
    opened: bool,
    attached: bool,
    /// When the last receiver left (or the session was made).
    left_at: Instant,
}

impl Sock {
    /// A new session, and the pipe the STOMP connection reads and writes through.
    pub fn new(capacity: usize, linger: Duration) -> (Arc<Sock>, SockPipe) {
        let (inbound, rx) = mpsc::channel(64);
        let outbox =
            Outbox { frames: VecDeque::new(), closed: None, opened: false, attached: false, left_at: Instant::now() };
        let sock = Arc::new(Sock {
            outbox: Mutex::new(outbox),
            ready: Notify::new(),
            room: Notify::new(),
            left: Notify::new(),
            inbound,
            capacity,
        });
        let pipe = SockPipe { sock: sock.clone(), rx, linger };
        (sock, pipe)
    }

    /// Hands what the client sent to the STOMP connection; false if the session is over.
    pub async fn deliver(&self, message: String) -> bool {
        self.inbound.send(message.into_bytes()).await.is_ok()
    }

    /// Whether the session has ended (its close frame is all a receiver gets).
    pub fn is_closed(&self) -> bool {
        self.outbox.lock().expect("outbox lock").closed.is_some()
    }

    /// Ends the session from outside (the STOMP connection is over).
    pub fn close(&self, why: Close) {
        let mut o = self.outbox.lock().expect("outbox lock");
        o.closed.get_or_insert(why);
        drop(o);
        self.ready.notify_one();
        self.left.notify_one();
    }

    /// Attaches a receiver, or says with which frame to answer instead (another receiver is
    /// attached, or the session is closed).
    pub fn attach(self: &Arc<Self>) -> Result<Receiver, String> {
        let mut o = self.outbox.lock().expect("outbox lock");
        if o.attached {
            return Err(Close::AnotherOpen.frame());
        }
        let opening = !o.opened;
        if !opening && let Some(why) = o.closed {
            return Err(why.frame());
        }
        o.opened = true;
        o.attached = true;
        Ok(Receiver { sock: self.clone(), opening })
    }
}

/// The one attached receiver of a session; detaches on drop.
pub struct Receiver {
    sock: Arc<Sock>,
    opening: bool,
}

impl Receiver {
    /// The next frame: `o` first on a new session, then `a[...]`, `h` after `heartbeat` of
    /// nothing, or the close frame; true when the receiver should end after it.
    pub async fn next(&mut self, heartbeat: Duration) -> (String, bool) {
        if std::mem::take(&mut self.opening) {
            return (frames::OPEN.to_owned(), false);
        }
        let deadline = tokio::time::Instant::now() + heartbeat;
        loop {
            {
                let mut o = self.sock.outbox.lock().expect("outbox lock");
                if !o.frames.is_empty() {
                    let n = o.frames.len().min(BATCH);
                    let frame = frames::array(o.frames.iter().take(n).map(String::as_str));
                    o.frames.drain(..n);
                    drop(o);
                    self.sock.room.notify_one();
                    return (frame, false);
                }
                if let Some(why) = o.closed {
                    return (why.frame(), true);
                }
            }
            // notify_one keeps a permit when no one waits, so a frame queued since the check
            // above still wakes this.
            if tokio::time::timeout_at(deadline, self.sock.ready.notified()).await.is_err() {
                return (frames::HEARTBEAT.to_owned(), false);
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let mut o = self.sock.outbox.lock().expect("outbox lock");
        o.attached = false;
        o.left_at = Instant::now();
        drop(o);
        self.sock.left.notify_one();
    }
}

/// The STOMP connection's side of a session.
pub struct SockPipe {
    sock: Arc<Sock>,
    rx: mpsc::Receiver<Vec<u8>>,
    linger: Duration,
}

impl SockPipe {
    /// How long the client surely stays present (`None`: it is gone). While a receiver is
    /// attached that is until it leaves, which `left` announces.
    fn present_for(&self) -> Option<Duration> {
        let o = self.sock.outbox.lock().expect("outbox lock");
        if o.closed.is_some() {
            return None;
        }
        if o.attached {
            return Some(Duration::MAX);
        }
        self.linger.checked_sub(o.left_at.elapsed()).filter(|d| !d.is_zero())
    }
}

impl Pipe for SockPipe {
    async fn recv(&mut self) -> Option<Incoming> {
        // Sends alone do not keep a session: SockJS clients always keep a receiver open. No
        // timer runs while a receiver is attached; its leaving wakes this.
        while let Some(wait) = self.present_for() {
            let wait = wait.min(Duration::from_secs(3600));
            tokio::select! {
                bytes = self.rx.recv() => return bytes.map(Incoming::Bytes),
                _ = self.sock.left.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        None
    }

    async fn write(&mut self, frames: &mut Vec<Vec<u8>>) -> Result<(), ()> {
        loop {
            {
                let mut o = self.sock.outbox.lock().expect("outbox lock");
                if o.closed.is_some() {
                    return Err(());
                }
                if o.frames.len() < self.sock.capacity {
                    // STOMP frames are text: headers and JSON bodies.
                    o.frames.extend(frames.drain(..).map(|f| String::from_utf8_lossy(&f).into_owned()));
                    drop(o);
                    self.sock.ready.notify_one();
                    return Ok(());
                }
            }
            // The caller bounds this wait with `send_timeout_ms`.
            self.sock.room.notified().await;
        }
    }

    async fn ping(&mut self) -> bool {
        self.present_for().is_some()
    }

    async fn close(&mut self, normal: bool) {
        self.sock.close(if normal { Close::GoAway } else { Close::Abandoned });
    }
}

/// The sessions of this node, by member and session id (a session id alone is the client's
/// choice, so it never reaches another member's session).
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<(String, String), Arc<Sock>>>,
}

impl Sessions {
    /// The session, if it exists.
    pub fn get(&self, member: &str, id: &str) -> Option<Arc<Sock>> {
        self.map.lock().expect("sessions lock").get(&(member.to_owned(), id.to_owned())).cloned()
    }

    /// Adds a session unless the table is full; an existing one of that id wins.
    pub fn insert(&self, member: &str, id: &str, sock: Arc<Sock>, max: usize) -> Result<Arc<Sock>, ()> {
        let mut map = self.map.lock().expect("sessions lock");
        let key = (member.to_owned(), id.to_owned());
        if let Some(existing) = map.get(&key) {
            return Ok(existing.clone());
        }
        if map.len() >= max {
            return Err(());
        }
        map.insert(key, sock.clone());
        Ok(sock)
    }

    /// Forgets an ended session.
    pub fn remove(&self, member: &str, id: &str) {
        self.map.lock().expect("sessions lock").remove(&(member.to_owned(), id.to_owned()));
    }
}
