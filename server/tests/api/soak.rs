//! A bounded soak: guests, rooms, notification streams and connections on every transport churn
//! for a minute (`DUNGEONTALK_SOAK_SECS`), then the server's per-key tables must be empty again
//! and its memory close to where it stood after a warm-up round of the same churn.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{TestServer, eventually, spawn};

/// Rounds running at once.
const WORKERS: usize = 6;
/// How much the live heap may grow over the soak: what the store's growth legitimately costs
/// (every room's head seq stays known) and hash tables that keep their peak capacity. A leak of
/// 1 KiB per round passes this within the minute.
const HEAP_SLACK_KIB: u64 = 2 * 1024;
/// How much the resident memory may grow: the above plus the binary's code paged in, thread
/// stacks of the blocking pool and the allocator's not yet returned pages.
const RSS_SLACK_KIB: u64 = 24 * 1024;

fn soak_secs() -> u64 {
    std::env::var("DUNGEONTALK_SOAK_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60)
}

/// One round: two new guests, a new room, both on WebSocket (one mentions the other, whose
/// notification stream gets it), an SSE reader and a poll; every second round leaves properly,
/// the others just go (their seats expire).
async fn round(server: &TestServer, n: usize) {
    let (ta, _) = server.guest(&format!("Ada{n}")).await;
    let (tb, b_id) = server.guest(&format!("Bo{n}")).await;
    let room = server.room(&ta, &format!("Soak {n}")).await;
    let (mut notes, _) = server.notifications(&tb).await;
    let mut a = server.ws(&ta, &room, Some(0)).await;
    let mut b = server.ws(&tb, &room, Some(0)).await;
    a.join().await;
    b.join().await;
    // A mention names those joined when it is sent: Bo's JOIN must be in first.
    while a.next_of(&["JOIN"]).await["memberId"] != b_id.as_str() {}
    a.talk(&format!("@Bo{n} round {n}")).await;
    assert_eq!(b.next_of(&["TALK"]).await["content"], format!("@Bo{n} round {n}"));
    assert_eq!(notes.next().await["type"], "MENTION");
    let mut sse = crate::sse::SseReader::new(server.sse_with(&room, &format!("token={ta}&after=0"), &[]).await);
    assert_eq!(sse.next().await["type"], "CONNECTED");
    let (status, polled) = server.get(&format!("/api/rooms/{room}/poll?after=0"), &tb).await;
    assert_eq!(status, 200, "{polled}");
    if n.is_multiple_of(2) {
        a.send(json!({"type": "LEAVE"})).await;
        b.send(json!({"type": "LEAVE"})).await;
    }
    a.close().await;
    b.close().await;
}

/// Runs rounds on every worker until `until`; how many ran.
async fn churn(server: &TestServer, until: Instant, first: usize) -> usize {
    let workers = (0..WORKERS).map(|w| async move {
        let mut done = 0;
        while Instant::now() < until {
            round(server, first + w + done * WORKERS).await;
            done += 1;
        }
        done
    });
    futures::future::join_all(workers).await.into_iter().sum()
}

/// A labelled gauge's values by label, from `/metrics` (e.g. `dungeontalk_table_entries{table=`).
async fn gauge(server: &TestServer, prefix: &str) -> Vec<(String, u64)> {
    let text = server.http.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter_map(|l| {
            let (name, rest) = l.split_once("\"}")?;
            Some((name.to_owned(), rest.trim().parse().ok()?))
        })
        .collect()
}

/// Waits until every table is empty (connections linger, seats expire, sweeps run).
async fn settled(server: &TestServer) {
    eventually(|| async {
        let t = gauge(server, "dungeontalk_table_entries{table=\"").await;
        // `latest` is a cache of listed rooms bounded by its size, not by connections.
        let bounded = |(k, n): &(String, u64)| if k == "latest" { *n <= 8_192 } else { *n == 0 };
        match t.len() == 9 && t.iter().all(bounded) {
            true => Ok(()),
            false => Err(format!("tables: {t:?}")),
        }
    })
    .await;
}

/// The allocator's live bytes, in KiB.
async fn heap_kib(server: &TestServer) -> u64 {
    let heap = gauge(server, "dungeontalk_heap_bytes{kind=\"").await;
    heap.iter().find(|(k, _)| k == "allocated").expect("the heap gauge").1 / 1024
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn churn_for_a_minute_gives_memory_back() {
    let (server, dir) = spawn(&[
        ("DUNGEONTALK_CHAT_SESSION_SECS", "2"),
        ("DUNGEONTALK_STORE_CACHE_BYTES", "1048576"),
        ("DUNGEONTALK_POLL_LINGER_MS", "200"),
        ("DUNGEONTALK_WS_LINGER_MS", "200"),
    ])
    .await;
    let warm = churn(&server, Instant::now() + Duration::from_secs(5), 0).await;
    settled(&server).await;
    // Freed pages go back to the system within the allocator's decay (1 s).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (heap_before, rss_before) = (heap_kib(&server).await, rss_kib(server.pid()));
    let rounds = churn(&server, Instant::now() + Duration::from_secs(soak_secs()), warm).await;
    settled(&server).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (heap_after, rss_after) = (heap_kib(&server).await, rss_kib(server.pid()));
    let store_kib = std::fs::metadata(dir.path().join("dungeontalk.redb")).map_or(0, |m| m.len() / 1024);
    println!(
        "soak: {rounds} rounds after {warm} warm-up rounds; heap {heap_before} -> {heap_after} KiB, \
         RSS {rss_before} -> {rss_after} KiB; store {store_kib} KiB on disk"
    );
    assert!(rounds >= 10 * WORKERS, "the churn ran: {rounds} rounds");
    assert!(heap_after <= heap_before + HEAP_SLACK_KIB, "the heap grew from {heap_before} to {heap_after} KiB");
    assert!(rss_after <= rss_before + RSS_SLACK_KIB, "memory grew from {rss_before} to {rss_after} KiB");
    let health: Value = server.http.get(format!("{}/readyz", server.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ready");
}
