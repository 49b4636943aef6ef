//! Server memory per idle connection: the server's RSS before and after opening N connections
//! that sit in their rooms and receive nothing.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use crate::probe::Probe;
use crate::proto::{Endpoint, World, subscribe};
use crate::report::Idle;

/// A process's resident memory in KiB (`VmRSS` of /proc/PID/status).
pub fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).context("no value")?.parse()?)
}

/// Opens `conns` idle connections (100 per room) and measures the server's RSS growth.
pub async fn run(ep: &Endpoint, server: &str, conns: usize, pid: u32, bar: &indicatif::ProgressBar) -> Result<Idle> {
    let world = World::make(ep, conns.div_ceil(100), "idle").await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(pid)?;
    let mut open = Vec::with_capacity(conns);
    let mut pending = FuturesUnordered::new();
    for i in 0..conns {
        pending.push(subscribe(ep, &world, i / 100, Arc::new(Probe::default())));
        if pending.len() >= 64 {
            open.push(pending.next().await.expect("pending")?);
            bar.inc(1);
        }
    }
    while let Some(s) = pending.next().await {
        open.push(s?);
        bar.inc(1);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid)?;
    drop(open);
    Ok(Idle {
        server: server.into(),
        transport: ep.transport.name().to_owned(),
        connections: conns,
        rss_before_kib: before,
        rss_after_kib: after,
        kib_per_connection: after.saturating_sub(before) as f64 / conns as f64,
    })
}
