//! A reconnect storm: N clients in their rooms while messages flow; all drop at once and come
//! back at once, each as itself (its token again, where the server has logins: its seat is still
//! there, so coming back is not a new member joining). Measured: until every client is connected
//! again, and until every one has a message sent after the storm began.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use futures_util::future::join_all;

use crate::fanout::crowd;
use crate::probe::{Probe, body, now_ns};
use crate::proto::{Endpoint, World, resubscribe};
use crate::report::Storm;

/// Runs a storm of `clients` clients over `rooms` rooms.
pub async fn run(
    ep: &Endpoint,
    server: &str,
    clients: usize,
    rooms: usize,
    bar: &indicatif::ProgressBar,
) -> Result<Storm> {
    let world = World::make(ep, rooms, "storm").await?;
    let subs = clients.div_ceil(rooms);
    let mut c = crowd(ep, &world, rooms, subs, bar).await?;
    let running = Arc::new(AtomicBool::new(true));
    // Every room keeps talking (10 messages a second) through the storm.
    let senders: Vec<_> = c
        .publishers
        .drain(..)
        .enumerate()
        .map(|(room, mut p)| {
            let running = running.clone();
            tokio::spawn(async move {
                let mut n = 0;
                while running.load(Ordering::Relaxed) {
                    if p.send(body(1, room, n)).await.is_err() {
                        break;
                    }
                    n += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        })
        .collect();
    for p in &c.probes {
        p.next_step(1);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let began = now_ns();
    let start = Instant::now();
    let clients: Vec<(usize, Option<String>)> = c.subs.drain(..).map(|(room, sub)| (room, sub.who.clone())).collect();
    let probes: Vec<Arc<Probe>> = clients.iter().map(|_| Arc::new(Probe::default())).collect();
    for p in &probes {
        p.next_step(1);
    }
    let back = join_all(
        clients.into_iter().zip(&probes).map(|((room, who), p)| resubscribe(ep, &world, room, p.clone(), who)),
    )
    .await;
    let reconnected_ms = start.elapsed().as_secs_f64() * 1000.0;
    let failed = back.iter().filter(|r| r.is_err()).count();
    let _open: Vec<_> = back.into_iter().flatten().collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while probes.iter().any(|p| p.latest_sent_ns() <= began) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let caught_up_ms = start.elapsed().as_secs_f64() * 1000.0;
    running.store(false, Ordering::Relaxed);
    join_all(senders).await;
    Ok(Storm {
        server: server.into(),
        transport: ep.transport.name().to_owned(),
        clients: rooms * subs,
        reconnected_ms,
        caught_up_ms,
        failed,
    })
}
