//! The WebSocket transport end to end: order, resume, limits, errors, resync (identity: auth_matrix.rs).

use serde_json::json;

use crate::support::{TestServer, seqs};

#[tokio::test]
async fn two_clients_receive_every_message_in_the_same_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[]).await;
    let (ta, _) = server.guest("Aria").await;
    let (tb, _) = server.guest("Bo").await;
    let room = server.room(&ta, "Crypt").await;
    let mut a = server.ws(&ta, &room, None).await;
    let mut b = server.ws(&tb, &room, None).await;
    a.send(json!({"type": "JOIN"})).await;
    b.send(json!({"type": "JOIN"})).await;
    // Both talk at once: the server decides one order, and both must see that same order.
    let (mut a_sent, mut b_sent) = (Vec::new(), Vec::new());
    for i in 0..25 {
        a.talk(&format!("a{i}")).await;
        b.talk(&format!("b{i}")).await;
        a_sent.push(format!("a{i}"));
        b_sent.push(format!("b{i}"));
    }
    let seen_a = a.events_until_talks(50).await;
    let seen_b = b.events_until_talks(50).await;
    assert_eq!(seen_a, seen_b, "both clients see the same events in the same order");
    let all = seqs(&seen_a);
    assert!(all.windows(2).all(|w| w[1] == w[0] + 1), "seqs increase by one: {all:?}");
    let talks: Vec<&str> =
        seen_a.iter().filter(|e| e["type"] == "TALK").map(|e| e["content"].as_str().unwrap()).collect();
    let from_a: Vec<&str> = talks.iter().copied().filter(|c| c.starts_with('a')).collect();
    assert_eq!(from_a, a_sent, "each sender's messages keep their order");
    assert_eq!(talks.len(), 50);
    assert_eq!(seen_a.iter().filter(|e| e["type"] == "JOIN").count(), 2);
}

#[tokio::test]
async fn reconnecting_with_a_seq_resumes_with_nothing_lost_or_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[]).await;
    let (ta, _) = server.guest("Aria").await;
    let (tb, _) = server.guest("Bo").await;
    let room = server.room(&ta, "Hall").await;
    let mut a = server.ws(&ta, &room, None).await;
    let mut b = server.ws(&tb, &room, None).await;
    b.join().await;
    for i in 0..5 {
        b.talk(&format!("before{i}")).await;
    }
    let before = a.events_until_talks(5).await;
    let last = *seqs(&before).last().unwrap();
    a.close().await;
    for i in 0..7 {
        b.talk(&format!("gap{i}")).await;
    }
    b.events_until_talks(7).await; // all seven are stored and published
    let mut a = server.ws(&ta, &room, Some(last)).await;
    b.talk("after").await;
    let resumed = a.events_until_talks(8).await;
    let got = seqs(&resumed);
    assert_eq!(got, ((last + 1)..=(last + got.len() as u64)).collect::<Vec<_>>(), "no gap, no duplicate");
    let contents: Vec<&str> = resumed.iter().filter_map(|e| e["content"].as_str()).collect();
    let mut want: Vec<String> = (0..7).map(|i| format!("gap{i}")).collect();
    want.push("after".into());
    assert_eq!(contents, want);
}

#[tokio::test]
async fn joining_without_a_seq_sends_the_recent_history_first() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[("DUNGEONTALK_HISTORY_ON_JOIN", "3")]).await;
    let (t, _) = server.guest("Aria").await;
    let room = server.room(&t, "Hall").await;
    let mut a = server.ws(&t, &room, None).await;
    a.join().await;
    for i in 0..5 {
        a.talk(&format!("m{i}")).await;
    }
    a.events_until_talks(5).await;
    let mut late = server.ws(&t, &room, None).await;
    let history = late.events_until_talks(3).await;
    let contents: Vec<&str> = history.iter().map(|e| e["content"].as_str().unwrap()).collect();
    assert_eq!(contents, ["m2", "m3", "m4"], "the 3 newest, oldest first");
}

#[tokio::test]
async fn oversized_and_malformed_frames_get_errors_and_the_connection_stays_open() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[]).await;
    let (t, _) = server.guest("Aria").await;
    let room = server.room(&t, "Hall").await;
    let mut a = server.ws(&t, &room, None).await;
    a.join().await;
    a.next_of(&["JOIN"]).await;
    a.next_of(&["PRESENCE"]).await; // the room is told of the JOIN
    let huge = json!({"type": "TALK", "content": "x".repeat(128 * 1024)}).to_string();
    a.send_text(huge).await;
    let err = a.next().await;
    assert_eq!((err["type"].as_str(), err["code"].as_str()), (Some("ERROR"), Some("chat.frame_too_large")));
    a.send_text("{not json".into()).await;
    assert_eq!(a.next().await["code"], "chat.bad_frame");
    a.send(json!({"type": "TALK", "content": "x".repeat(2001)})).await;
    assert_eq!(a.next().await["code"], "chat.too_long");
    a.send(json!({"type": "TALK", "content": "  "})).await;
    assert_eq!(a.next().await["code"], "chat.empty");
    a.talk("still here").await;
    let talk = a.next_of(&["TALK"]).await;
    assert_eq!(talk["content"], "still here");
    assert_eq!(talk["seq"], 2, "nothing bad was stored (after the JOIN)");
}

#[tokio::test]
async fn a_repeated_message_id_is_accepted_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[]).await;
    let (t, _) = server.guest("Aria").await;
    let room = server.room(&t, "Hall").await;
    let mut a = server.ws(&t, &room, None).await;
    a.join().await;
    let frame = json!({"type": "TALK", "content": "once", "messageId": "01890a5d-ac96-774b-bcce-b302099a8057"});
    a.send(frame.clone()).await;
    a.send(frame).await;
    a.talk("next").await;
    let first = a.next_of(&["ACK"]).await;
    let second = a.next_of(&["ACK"]).await;
    assert_eq!(first["acceptedSeq"], second["acceptedSeq"], "the retry is acknowledged with the first seq");
    assert_eq!(a.next_of(&["ACK"]).await["acceptedSeq"], 3);
    let (_, page) = server.get(&format!("/api/rooms/{room}/messages"), &t).await;
    let contents: Vec<&str> = page["events"].as_array().unwrap().iter().filter_map(|e| e["content"].as_str()).collect();
    assert_eq!(contents, ["next", "once"], "newest first, and only one 'once'");
}

#[tokio::test]
async fn handshake_refusals_over_a_real_socket() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[]).await;
    let (t, _) = server.guest("Aria").await;
    let room = server.room(&t, "Hall").await;
    assert_eq!(server.ws_refusal(&format!("roomId={room}")).await, 400);
    assert_eq!(server.ws_refusal(&format!("token={t}")).await, 400);
    assert_eq!(server.ws_refusal(&format!("token=bad&roomId={room}")).await, 401);
    assert_eq!(server.ws_refusal(&format!("token={t}&roomId=missing")).await, 404);
}

#[tokio::test]
async fn a_client_that_falls_behind_is_told_to_resync_and_can_resume_everything() {
    let dir = tempfile::tempdir().unwrap();
    // A long send timeout and rare pings: `slow` must stay connected while the writer takes its
    // time. It reads nothing, so it answers no ping; on a slow machine the 3000 POSTs outlast two
    // default pings and the server would rightly drop it as silent.
    let env = [
        ("DUNGEONTALK_OUTGOING_QUEUE_LEN", "4"),
        ("DUNGEONTALK_SEND_TIMEOUT_MS", "300000"),
        ("DUNGEONTALK_WS_PING_SECS", "3600"),
    ];
    let server = TestServer::spawn(dir.path(), &env).await;
    let (t, _) = server.guest("Aria").await;
    let room = server.room(&t, "Hall").await;
    let mut slow = server.ws(&t, &room, Some(0)).await;
    // ~18 MB of big messages overflow the socket buffers while `slow` reads nothing. They are
    // POSTed: a writer that also had to read every echo would only test its own reading.
    let total = 3000;
    let body = "가".repeat(1990);
    let url = format!("{}/api/rooms/{room}/messages", server.base);
    let join = server.http.post(&url).bearer_auth(&t).json(&json!({"type": "JOIN"})).send().await.unwrap();
    assert_eq!(join.status(), 202);
    for i in 0..total {
        let frame = json!({"type": "TALK", "content": format!("{i:04}{body}")});
        let resp = server.http.post(&url).bearer_auth(&t).json(&frame).send().await.unwrap();
        assert_eq!(resp.status(), 202, "every message is stored");
    }
    let mut resync_after = None;
    let mut seen = Vec::new();
    while seen.len() < total {
        let frame = slow.next().await;
        if frame["type"] == "RESYNC" {
            resync_after = Some(frame["after"].as_u64().unwrap());
            break;
        }
        if frame["type"] == "TALK" {
            seen.push(frame["seq"].as_u64().unwrap());
        }
    }
    let after = resync_after.expect("the slow client was told to resync");
    assert_eq!(after, seen.last().copied().unwrap_or(1), "RESYNC names the last seq it was sent");
    // Resuming from that seq gets exactly the rest.
    let mut resumed = server.ws(&t, &room, Some(after)).await;
    let rest = resumed.events_until_talks(total - seen.len()).await;
    seen.extend(seqs(&rest));
    assert_eq!(seen, (2..=total as u64 + 1).collect::<Vec<_>>(), "every TALK after the JOIN");
}

/// A client that sends a burst without waiting gets every ACK, in the order it sent, with rising
/// seqs (the connection reads on while earlier messages are committed).
#[tokio::test]
async fn a_burst_is_acknowledged_in_the_order_sent() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[]).await;
    let (t, _) = server.guest("Aria").await;
    let room = server.room(&t, "Hall").await;
    let mut a = server.ws(&t, &room, None).await;
    a.join().await;
    let ids: Vec<String> = (0..100).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    for (i, id) in ids.iter().enumerate() {
        a.send(json!({"type": "TALK", "content": format!("m{i}"), "messageId": id})).await;
    }
    let mut acked = Vec::new();
    for _ in 0..100 {
        let ack = a.next_of(&["ACK"]).await;
        acked.push((ack["messageId"].as_str().unwrap().to_owned(), ack["acceptedSeq"].as_u64().unwrap()));
    }
    assert_eq!(acked.iter().map(|a| a.0.clone()).collect::<Vec<_>>(), ids, "ACKs in the order sent");
    assert_eq!(acked.iter().map(|a| a.1).collect::<Vec<_>>(), (2..=101).collect::<Vec<_>>(), "after the JOIN");
}

/// A message over `ws_max_message_bytes` closes with 1009, invalid UTF-8 with 1007: the client
/// can tell "too big" from a crash.
#[tokio::test]
async fn broken_messages_close_with_the_code_that_says_why() {
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[("DUNGEONTALK_WS_MAX_MESSAGE_BYTES", "200000")]).await;
    let (t, _) = server.guest("Aria").await;
    let room = server.room(&t, "Hall").await;
    let mut big = server.ws(&t, &room, None).await;
    big.send_text("x".repeat(300_000)).await;
    assert_eq!(big.close_code().await, Some(1009));
    let mut bad = server.ws(&t, &room, None).await;
    let invalid = Frame::message(vec![0x7b, 0xff, 0xfe, 0x7d], OpCode::Data(Data::Text), true);
    bad.send_message(tokio_tungstenite::tungstenite::Message::Frame(invalid)).await;
    assert_eq!(bad.close_code().await, Some(1007));
}

/// A WebSocket that drops and comes back within `ws_linger_ms` stores no LEAVE and no JOIN: to
/// the room the member never left. One that stays away leaves once the linger is over.
#[tokio::test]
async fn a_quick_reconnect_is_no_leave_and_join() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[("DUNGEONTALK_WS_LINGER_MS", "1500")]).await;
    let (t, _) = server.guest("Aria").await;
    let room = server.room(&t, "Hall").await;
    let mut a = server.ws(&t, &room, None).await;
    a.send(json!({"type": "JOIN"})).await;
    let joined = a.next_of(&["JOIN"]).await["seq"].as_u64().unwrap();
    drop(a);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut back = server.ws(&t, &room, Some(joined)).await;
    back.send(json!({"type": "JOIN"})).await;
    back.talk("still here").await;
    back.next_of(&["TALK"]).await;
    tokio::time::sleep(std::time::Duration::from_millis(2000)).await;
    let kinds =
        |h: Vec<serde_json::Value>| h.iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(kinds(server.history(&t, &room).await), ["JOIN", "TALK"], "no LEAVE, no second JOIN");
    back.close().await;
    crate::support::eventually(|| async {
        let h = kinds(server.history(&t, &room).await);
        if h == ["JOIN", "TALK", "LEAVE"] { Ok(()) } else { Err(format!("{h:?}")) }
    })
    .await;
}

/// The server pings an idle WebSocket; a client that answers (tungstenite pongs as it reads) stays,
/// one that answers nothing for two pings is closed with 1001.
#[tokio::test]
async fn idle_sockets_are_pinged_and_silent_ones_dropped() {
    use tokio_tungstenite::tungstenite::Message;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[("DUNGEONTALK_WS_PING_SECS", "1")]).await;
    let (t, _) = server.guest("Aria").await;
    let room = server.room(&t, "Hall").await;
    let mut alive = server.ws(&t, &room, None).await;
    let mut silent = server.ws(&t, &room, None).await;
    let mut pings = 0;
    let until = tokio::time::Instant::now() + std::time::Duration::from_millis(3500);
    while tokio::time::Instant::now() < until {
        if let Ok(Some(Message::Ping(_))) =
            tokio::time::timeout(until - tokio::time::Instant::now(), alive.next_message()).await
        {
            pings += 1;
        }
    }
    assert!(pings >= 2, "pinged every second: {pings}");
    alive.join().await;
    alive.talk("still here").await;
    assert_eq!(alive.next_of(&["TALK"]).await["content"], "still here", "a client that answers stays");
    assert_eq!(silent.close_code().await, Some(1001), "one that answered nothing was dropped");
}
