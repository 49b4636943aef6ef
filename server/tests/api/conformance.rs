//! One conformance suite, run over each transport: WebSocket, SSE + POST, long polling + POST.
//! Every scenario is written once against [`Link`] and instantiated per transport below.

use serde_json::{Value, json};

use crate::link::{Outcome, Transport, on_every_transport};
use crate::support::{seqs, spawn};

fn contents(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["content"].as_str()).collect()
}

async fn join_and_talk_in_one_order(t: Transport) {
    let (server, _dir) = spawn(&[]).await;
    let (ta, _) = server.guest("Aria").await;
    let (tb, _) = server.guest("Bo").await;
    let room = server.room(&ta, "Crypt").await;
    let mut a = server.link(t, &ta, &room, None).await;
    let mut b = server.link(t, &tb, &room, None).await;
    a.join().await;
    b.join().await;
    for i in 0..10 {
        a.talk(&format!("a{i}")).await;
        b.talk(&format!("b{i}")).await;
    }
    let seen_a = a.events_until_talks(20).await;
    let seen_b = b.events_until_talks(20).await;
    assert_eq!(seen_a, seen_b, "both clients see the same events in the same order");
    assert_eq!(seqs(&seen_a), (1..=22).collect::<Vec<_>>(), "two JOINs and 20 TALKs, no gap");
    assert_eq!(seen_a.iter().filter(|e| e["type"] == "JOIN").count(), 2);
    let from_a: Vec<&str> = contents(&seen_a).into_iter().filter(|c| c.starts_with('a')).collect();
    assert_eq!(from_a, (0..10).map(|i| format!("a{i}")).collect::<Vec<_>>());
}

async fn history_on_join(t: Transport) {
    let (server, _dir) = spawn(&[("DUNGEONTALK_HISTORY_ON_JOIN", "3")]).await;
    let (ta, _) = server.guest("Aria").await;
    let room = server.room(&ta, "Hall").await;
    let mut writer = server.link(Transport::Ws, &ta, &room, Some(0)).await;
    writer.join().await;
    for i in 0..5 {
        writer.talk(&format!("m{i}")).await;
    }
    let (tb, _) = server.guest("Bo").await;
    let mut late = server.link(t, &tb, &room, None).await;
    assert_eq!(contents(&late.events_until_talks(3).await), ["m2", "m3", "m4"], "the 3 newest, oldest first");
    writer.talk("live").await;
    assert_eq!(contents(&late.events_until_talks(1).await), ["live"], "then live, nothing repeated");
}

async fn resume_after_a_forced_disconnect(t: Transport) {
    let (server, _dir) = spawn(&[]).await;
    let (ta, _) = server.guest("Aria").await;
    let (tb, _) = server.guest("Bo").await;
    let room = server.room(&ta, "Hall").await;
    let mut a = server.link(t, &ta, &room, Some(0)).await;
    let mut b = server.link(Transport::Ws, &tb, &room, Some(0)).await;
    b.join().await;
    for i in 0..5 {
        b.talk(&format!("before{i}")).await;
    }
    let last = *seqs(&a.events_until_talks(5).await).last().unwrap();
    a.drop_link();
    for i in 0..7 {
        b.talk(&format!("gap{i}")).await;
    }
    let mut a = server.link(t, &ta, &room, Some(last)).await;
    b.talk("after").await;
    let resumed = a.events_until_talks(8).await;
    assert_eq!(seqs(&resumed), ((last + 1)..=(last + 8)).collect::<Vec<_>>(), "no gap, no duplicate");
    let mut want: Vec<String> = (0..7).map(|i| format!("gap{i}")).collect();
    want.push("after".into());
    assert_eq!(contents(&resumed), want);
}

async fn frame_limit_and_bad_frames(t: Transport) {
    let (server, _dir) = spawn(&[]).await;
    let (ta, _) = server.guest("Aria").await;
    let room = server.room(&ta, "Hall").await;
    let mut a = server.link(t, &ta, &room, Some(0)).await;
    a.join().await;
    let http_status = |s: u16| (t != Transport::Ws).then_some(s);
    let huge = json!({"type": "TALK", "content": "x".repeat(128 * 1024)}).to_string();
    let refused = Outcome::refused;
    assert_eq!(a.send_text(huge).await, refused(http_status(413), "chat.frame_too_large"));
    assert_eq!(a.send_text("{not json".into()).await, refused(http_status(400), "chat.bad_frame"));
    let too_long = json!({"type": "TALK", "content": "x".repeat(2001)});
    assert_eq!(a.send(too_long).await, refused(http_status(400), "chat.too_long"));
    assert_eq!(a.send(json!({"type": "TALK", "content": " "})).await, refused(http_status(400), "chat.empty"));
    assert_eq!(a.talk("still here").await, 2, "nothing refused was stored (after the JOIN), and the link still works");
    assert_eq!(contents(&a.events_until_talks(1).await), ["still here"]);
}

on_every_transport!(
    join_and_talk_in_one_order,
    history_on_join,
    resume_after_a_forced_disconnect,
    frame_limit_and_bad_frames,
);

#[tokio::test]
async fn switching_transport_mid_conversation_loses_and_repeats_nothing() {
    let (server, _dir) = spawn(&[]).await;
    let (ta, _) = server.guest("Aria").await;
    let (tb, _) = server.guest("Bo").await;
    let room = server.room(&ta, "Hall").await;
    let total = 60;
    let mut b = server.link(Transport::Ws, &tb, &room, Some(0)).await;
    let talker = tokio::spawn(async move {
        b.join().await;
        for i in 0..total {
            b.talk(&format!("b{i:02}")).await;
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    });
    let mut seen: Vec<Value> = Vec::new();
    let plan = [Transport::Ws, Transport::Sse, Transport::Poll, Transport::Ws, Transport::Sse, Transport::Poll];
    for (i, t) in plan.iter().enumerate() {
        let after = seen.last().map_or(0, |e| e["seq"].as_u64().unwrap());
        let mut a = server.link(*t, &ta, &room, Some(after)).await;
        // Read a share of the conversation, then switch; the last leg reads to the end.
        let talks = seen.iter().filter(|e| e["type"] == "TALK").count();
        let want = if i + 1 == plan.len() { total - talks } else { 10 };
        seen.extend(a.events_until_talks(want).await);
        a.drop_link();
    }
    talker.await.unwrap();
    assert_eq!(seqs(&seen), (1..=total as u64 + 1).collect::<Vec<_>>(), "the JOIN and every TALK once, in order");
    let want: Vec<String> = (0..total).map(|i| format!("b{i:02}")).collect();
    assert_eq!(contents(&seen), want);
}
