//! The fan-out run: rooms × subscribers, one sender per room, the rate raised step by step until
//! a step loses or doubles a message or its p99 passes the limit.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use hdrhistogram::Histogram;

use crate::probe::{Probe, body};
use crate::proto::{Endpoint, Publisher, Sub, World, subscribe};
use crate::report::{Fanout, Latency, Step};

/// The shape and the load levels of a run.
pub struct Plan {
    pub rooms: usize,
    pub subs: usize,
    pub rates: Vec<u64>,
    pub step: Duration,
    pub grace: Duration,
    pub p99_limit_ms: f64,
    pub server: String,
}

/// Clients in their rooms: subscribers with their probes, and a sender per room.
pub struct Crowd {
    /// Each subscriber with its room.
    pub subs: Vec<(usize, Sub)>,
    pub probes: Vec<Arc<Probe>>,
    pub publishers: Vec<Publisher>,
}

/// Opens `subs` subscribers in each of `world`'s `rooms` rooms (64 handshakes at a time), and a
/// publisher per room.
pub async fn crowd(
    ep: &Endpoint,
    world: &World,
    rooms: usize,
    subs: usize,
    bar: &indicatif::ProgressBar,
) -> Result<Crowd> {
    let mut probes = Vec::new();
    let mut pending = FuturesUnordered::new();
    let mut open = Vec::new();
    for i in 0..rooms * subs {
        let probe = Arc::new(Probe::default());
        probes.push(probe.clone());
        let room = i % rooms;
        pending.push(subscribe(ep, world, room, probe).map(move |sub| sub.map(|sub| (room, sub))));
        if pending.len() >= 64 {
            open.push(pending.next().await.expect("pending")?);
            bar.inc(1);
        }
    }
    while let Some(sub) = pending.next().await {
        open.push(sub?);
        bar.inc(1);
    }
    let mut publishers = Vec::new();
    for room in 0..rooms {
        publishers.push(Publisher::open(ep, world, room).await?);
    }
    Ok(Crowd { subs: open, probes, publishers })
}

/// Sends `per_sec` bodies per second into the room for `span`, starting `phase` of a period in;
/// returns the publisher and the count.
async fn send(mut p: Publisher, step: u32, room: usize, phase: f64, per_sec: f64, span: Duration) -> (Publisher, u64) {
    let total = (per_sec * span.as_secs_f64()).round() as u64;
    let start = tokio::time::Instant::now();
    let mut n = 0;
    while n < total {
        // Sleep until the next one is due, then send all that are due. Rooms are spread over
        // the period (`phase`): real rooms do not all speak at the same instant.
        let next = start + Duration::from_secs_f64((n as f64 + phase) / per_sec);
        tokio::time::sleep_until(next).await;
        let due = ((start.elapsed().as_secs_f64() * per_sec + 1.0 - phase) as u64).clamp(n + 1, total);
        while n < due {
            if let Err(e) = p.send(body(step, room, n)).await {
                eprintln!("dtbench: send failed: {e}");
                return (p, n);
            }
            n += 1;
        }
    }
    (p, n)
}

/// Runs the plan's steps on an open crowd.
pub async fn run(ep: &Endpoint, plan: &Plan, crowd: &mut Crowd, bar: &indicatif::ProgressBar) -> Fanout {
    let mut steps = Vec::new();
    for (k, &rate) in plan.rates.iter().enumerate() {
        let step = k as u32 + 1;
        bar.set_message(format!("{rate} msg/s"));
        for p in &crowd.probes {
            p.next_step(step);
        }
        let per_room = rate as f64 / plan.rooms as f64;
        let senders: Vec<_> = crowd
            .publishers
            .drain(..)
            .enumerate()
            .map(|(room, p)| {
                let phase = room as f64 / plan.rooms as f64;
                tokio::spawn(send(p, step, room, phase, per_room, plan.step))
            })
            .collect();
        let mut sent = 0;
        for s in senders {
            let (p, n) = s.await.expect("sender task");
            crowd.publishers.push(p);
            sent += n;
        }
        tokio::time::sleep(plan.grace).await;
        let mut hist = Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("bounds");
        let (mut delivered, mut duplicates, mut bytes) = (0, 0, 0);
        for p in &crowd.probes {
            let t = p.next_step(0);
            delivered += t.unique;
            duplicates += t.duplicates;
            bytes += t.bytes;
            hist.add(&t.latency).expect("same bounds");
        }
        let expected = sent * plan.subs as u64;
        let latency = Latency::of(&hist);
        let lost = expected.saturating_sub(delivered);
        let passed = lost == 0 && duplicates == 0 && latency.p99 <= plan.p99_limit_ms && sent > 0;
        steps.push(Step {
            rate,
            sent,
            expected,
            delivered,
            lost,
            duplicates,
            deliveries_per_sec: delivered as f64 / plan.step.as_secs_f64(),
            bytes_per_delivery: bytes as f64 / delivered.max(1) as f64,
            latency,
            passed,
        });
        bar.inc(1);
        if !passed {
            break;
        }
    }
    let max_sustained = steps.iter().filter(|s| s.passed).map(|s| s.deliveries_per_sec).fold(0.0, f64::max);
    let handshake =
        crowd.subs.iter().map(|(_, s)| s.handshake_bytes).sum::<usize>() as f64 / crowd.subs.len().max(1) as f64;
    Fanout {
        server: plan.server.clone(),
        transport: ep.transport.name().to_owned(),
        rooms: plan.rooms,
        subscribers_per_room: plan.subs,
        p99_limit_ms: plan.p99_limit_ms,
        steps,
        max_sustained,
        handshake_bytes: handshake,
    }
}
