//! The chaos checker, as Jepsen does it: three nodes over Redis, the broker and the MongoDB-wire
//! server; clients on every transport (WebSocket, SSE, long polling, STOMP) in many rooms send
//! (by POST, over WebSockets and as STOMP SENDs) with retries through other nodes and reconnect with their cursor through any node, while a
//! seeded schedule kill -9s and restarts nodes, restarts Redis and the broker, pauses the store
//! (SIGSTOP) and drops clients. Then the whole history is checked (`check.rs`).
//!
//! Run: `bash .ci/setup chaos [--minutes N] [--seed S]` (env `CHAOS_MINUTES`, `CHAOS_SEED`,
//! `CHAOS_ROOMS`). It ends with one line, `chaos: seed S, N operations, F faults, A anomalies`,
//! and fails unless A is 0. The seed decides the fault schedule, who sends what and through
//! which node, and where clients reconnect; timing is the machine's, so a failing seed replays
//! the same schedule, not the same interleaving.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

mod check;
mod cluster;
mod faults;
mod reader;
mod sender;

use cluster::Cluster;
use reader::{Journal, Kind};
use sender::Via;

/// A seeded generator (SplitMix64): the same seed, the same choices.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }

    /// A generator of its own for one actor, derived from this one.
    pub fn fork(&mut self) -> Rng {
        Rng(self.next())
    }
}

/// What a run counts.
#[derive(Default)]
pub struct Counts {
    pub operations: AtomicU64,
    pub faults: AtomicU64,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The short run CI makes (`.ci/setup test` runs it alone, after the other tests).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run alone: bash .ci/setup chaos, or the test command's chaos step"]
async fn chaos() {
    let clock = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let seed = env_or("CHAOS_SEED", clock.as_nanos() as u64 % 1_000_000_007);
    let seed = if seed == 0 { 1 } else { seed };
    let secs = (env_or("CHAOS_MINUTES", 2.0f64) * 60.0) as u64;
    let rooms = env_or("CHAOS_ROOMS", 20usize);
    println!("chaos: seed {seed}, {secs} s, {rooms} rooms (replay with CHAOS_SEED={seed})");
    let mut rng = Rng::new(seed);
    let cluster = Arc::new(Cluster::start().await);
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));

    let (token, _) = cluster.any().guest("Chaos").await;
    let mut room_ids = Vec::new();
    for n in 0..rooms {
        room_ids.push(cluster.any().room(&token, &format!("Chaos {n}")).await);
    }
    let mut journals = Vec::new();
    let mut readers = Vec::new();
    for (n, room) in room_ids.iter().enumerate() {
        for kind in [Kind::Ws, Kind::Sse, Kind::Poll, Kind::Stomp] {
            let journal = Arc::new(Journal::new(room.clone(), kind, n));
            journals.push(journal.clone());
            let (cluster, counts, stop) = (cluster.clone(), counts.clone(), stop.clone());
            readers.push(tokio::spawn(reader::run(cluster, journal, token.clone(), rng.fork(), counts, stop)));
        }
    }
    let sent = Arc::new(sender::Sent::default());
    let halt_sending = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    for room in &room_ids {
        for s in 0..2 {
            let (guest, _) = cluster.any().guest(&format!("S{s}")).await;
            // Every way to send, in turn over the rooms: POST twice as often (SSE and polling
            // clients send that way).
            let via = [Via::Post, Via::Ws, Via::Post, Via::Stomp][senders.len() % 4];
            let args = sender::Args { room: room.clone(), token: guest, via, rng: rng.fork() };
            let (cluster, sent, counts, halt) = (cluster.clone(), sent.clone(), counts.clone(), halt_sending.clone());
            senders.push(tokio::spawn(sender::run(cluster, args, sent, counts, halt)));
        }
    }
    let faults = tokio::spawn(faults::run(cluster.clone(), journals.clone(), rng.fork(), counts.clone(), secs));
    faults.await.unwrap();
    // Healed: every node and service is up again. Senders finish what they were retrying.
    halt_sending.store(true, Ordering::SeqCst);
    for s in senders {
        s.await.unwrap();
    }
    let report = check::run(&cluster, &token, &room_ids, &journals, &sent, Duration::from_secs(90)).await;
    stop.store(true, Ordering::SeqCst);
    for r in readers {
        let _ = tokio::time::timeout(Duration::from_secs(5), r).await;
    }
    for anomaly in report.iter().take(50) {
        println!("anomaly: {anomaly}");
    }
    let (ops, faults) = (counts.operations.load(Ordering::SeqCst), counts.faults.load(Ordering::SeqCst));
    println!("chaos: seed {seed}, {ops} operations, {faults} faults, {} anomalies", report.len());
    cluster.stop().await;
    assert!(report.is_empty(), "chaos: seed {seed} found {} anomalies", report.len());
}
