//! Two or three nodes sharing Kafka, Redis and MongoDB: a player cannot tell which node they are
//! on. Every room event reaches every node once, with the same seq everywhere; cursors work on
//! any node; a killed node loses nothing; limits, logouts and presence hold across nodes.

use std::collections::HashSet;
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::link::{Transport, on_every_transport};
use crate::nodes::{Backends, PRESENCE_TTL_SECS};
use crate::support::{eventually, seqs};

fn talk(content: &str) -> Value {
    json!({"type": "TALK", "content": content, "messageId": Uuid::now_v7()})
}

/// JOINs by POST (talking takes a seat).
async fn join(node: &crate::nodes::Node, token: &str, room: &str) {
    assert_eq!(node.post_frame(token, room, json!({"type": "JOIN"})).await.0, 202, "JOIN");
}

fn contents(events: &[Value]) -> Vec<String> {
    events.iter().filter(|e| e["type"] == "TALK").map(|e| e["content"].as_str().unwrap().to_owned()).collect()
}

/// Clients on two nodes in one room see every message once and in the same seq order, while
/// senders on both nodes talk at the same time.
async fn every_node_sees_every_event_once_in_one_order(t: Transport) {
    let b = Backends::start().await;
    let (a, c) = tokio::join!(b.node("a", &[]), b.node("b", &[]));
    let (ta, _) = a.guest("Aria").await;
    let (tb, _) = c.guest("Bo").await;
    let room = a.room(&ta, "Hall").await;
    let mut on_a = a.link(t, &ta, &room, Some(0)).await;
    let mut on_b = c.link(t, &tb, &room, Some(0)).await;
    join(&a, &ta, &room).await;
    join(&c, &tb, &room).await;
    const EACH: usize = 25;
    let send = |node: &crate::nodes::Node, token: String, who: &'static str| {
        let (base, http, room) = (node.base.clone(), node.http.clone(), room.clone());
        async move {
            for i in 0..EACH {
                let url = format!("{base}/api/rooms/{room}/messages");
                let resp = http.post(url).bearer_auth(&token).json(&talk(&format!("{who}{i}"))).send().await.unwrap();
                assert_eq!(resp.status(), 202);
            }
        }
    };
    tokio::join!(send(&a, ta.clone(), "a"), send(&c, tb.clone(), "b"));
    let (seen_a, seen_b) = tokio::join!(on_a.events_until_talks(2 * EACH), on_b.events_until_talks(2 * EACH));
    assert_eq!(seqs(&seen_a), seqs(&seen_b), "one order on both nodes");
    assert!(seqs(&seen_a).windows(2).all(|w| w[0] < w[1]), "seqs rise: {:?}", seqs(&seen_a));
    assert_eq!(contents(&seen_a), contents(&seen_b));
    let all: HashSet<String> = contents(&seen_a).into_iter().collect();
    assert_eq!(all.len(), 2 * EACH, "every message once");
    for who in ["a", "b"] {
        let order: Vec<usize> =
            contents(&seen_a).iter().filter_map(|c| c.strip_prefix(who).and_then(|n| n.parse().ok())).collect();
        assert_eq!(order, (0..EACH).collect::<Vec<_>>(), "each sender's messages in the order sent");
    }
    // What the store holds is what the clients saw, on either node.
    let stored = eventually(|| async {
        let h = c.history(&tb, &room).await;
        if contents(&h).len() == 2 * EACH { Ok(h) } else { Err(format!("{} stored", contents(&h).len())) }
    })
    .await;
    assert_eq!(seqs(&stored.iter().filter(|e| e["type"] == "TALK").cloned().collect::<Vec<_>>()), {
        seqs(&seen_a.iter().filter(|e| e["type"] == "TALK").cloned().collect::<Vec<_>>())
    });
}

/// A client that read on node A resumes on node B from its cursor: nothing lost, nothing twice.
async fn a_cursor_from_one_node_resumes_on_another(t: Transport) {
    let b = Backends::start().await;
    let (a, c) = tokio::join!(b.node("a", &[]), b.node("b", &[]));
    let (token, _) = a.guest("Aria").await;
    let room = a.room(&token, "Hall").await;
    let mut first = a.link(t, &token, &room, Some(0)).await;
    join(&a, &token, &room).await;
    for i in 0..5 {
        a.post_frame(&token, &room, talk(&format!("before{i}"))).await;
    }
    let seen = first.events_until_talks(5).await;
    let last = *seqs(&seen).last().unwrap();
    first.drop_link();
    for i in 0..7 {
        let (status, _) = c.post_frame(&token, &room, talk(&format!("while{i}"))).await;
        assert_eq!(status, 202);
    }
    let mut resumed = c.link(t, &token, &room, Some(last)).await;
    let got = resumed.events_until_talks(7).await;
    assert_eq!(contents(&got), (0..7).map(|i| format!("while{i}")).collect::<Vec<_>>(), "no gap, no duplicate");
    assert!(seqs(&got)[0] > last);
}

on_every_transport!(every_node_sees_every_event_once_in_one_order, a_cursor_from_one_node_resumes_on_another);

/// The same messageId through two nodes (one after the other, and both at once) is stored and
/// delivered once, and both senders are told its one seq.
#[tokio::test]
async fn a_message_retried_through_another_node_is_accepted_once() {
    let b = Backends::start().await;
    let (a, c) = tokio::join!(b.node("a", &[]), b.node("b", &[]));
    let (token, _) = a.guest("Aria").await;
    let room = a.room(&token, "Hall").await;
    let mut reader = c.link(Transport::Ws, &token, &room, Some(0)).await;
    join(&a, &token, &room).await;
    let id = Uuid::now_v7();
    let frame = json!({"type": "TALK", "content": "once", "messageId": id});
    let (s1, first) = a.post_frame(&token, &room, frame.clone()).await;
    let (s2, again) = c.post_frame(&token, &room, frame.clone()).await;
    assert_eq!((s1, s2), (202, 202));
    assert_eq!(first["seq"], again["seq"], "the retry is answered with the first seq");
    // Both at once: neither node has seen the other's copy when it sends its own.
    let racing = json!({"type": "TALK", "content": "raced", "messageId": Uuid::now_v7()});
    let (r1, r2) = tokio::join!(a.post_frame(&token, &room, racing.clone()), c.post_frame(&token, &room, racing));
    assert_eq!((r1.0, r2.0), (202, 202));
    assert_eq!(r1.1["seq"], r2.1["seq"], "one seq for both senders: {r1:?} {r2:?}");
    a.post_frame(&token, &room, talk("after")).await;
    let got = reader.events_until_talks(3).await;
    assert_eq!(contents(&got), ["once", "raced", "after"], "each delivered once");
    let stored = eventually(|| async {
        let h = a.history(&token, &room).await;
        if contents(&h).len() >= 3 { Ok(h) } else { Err(format!("{h:?}")) }
    })
    .await;
    assert_eq!(contents(&stored), ["once", "raced", "after"], "each stored once");
}

/// kill -9 of a node mid-traffic: its client resumes on another node with nothing lost or
/// doubled, and its members leave the room's presence within the presence TTL.
#[tokio::test]
async fn a_killed_node_loses_nothing_and_its_members_leave() {
    let b = Backends::start().await;
    let (a, c) = tokio::join!(b.node("a", &[]), b.node("b", &[]));
    let (ta, aria) = a.guest("Aria").await;
    let (tb, _) = c.guest("Bo").await;
    let room = c.room(&tb, "Hall").await;
    let mut bo = c.link(Transport::Ws, &tb, &room, Some(0)).await;
    bo.join().await;
    let mut on_a = a.link(Transport::Ws, &ta, &room, Some(0)).await;
    on_a.join().await;
    let sender = {
        let (base, http, room, tb) = (c.base.clone(), c.http.clone(), room.clone(), tb.clone());
        tokio::spawn(async move {
            for i in 0..40 {
                let url = format!("{base}/api/rooms/{room}/messages");
                let resp = http.post(url).bearer_auth(&tb).json(&talk(&format!("m{i}"))).send().await.unwrap();
                assert_eq!(resp.status(), 202);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let before = on_a.events_until_talks(10).await;
    let last = *seqs(&before).last().unwrap();
    a.kill().await;
    sender.await.unwrap();
    let mut resumed = c.link(Transport::Ws, &ta, &room, Some(last)).await;
    let after = resumed.events_until_talks(30).await;
    let mut all = contents(&before);
    all.extend(contents(&after));
    assert_eq!(all, (0..40).map(|i| format!("m{i}")).collect::<Vec<_>>(), "nothing lost, nothing doubled");
    resumed.drop_link();
    // Aria's only connection was on the dead node: within the TTL (plus a reaper round) she
    // leaves, and the room hears it.
    let left = tokio::time::timeout(Duration::from_secs(PRESENCE_TTL_SECS * 3 + 5), async {
        loop {
            let e = bo.read_of(&["LEAVE"]).await;
            if e["memberId"] == aria.as_str() {
                return e;
            }
        }
    })
    .await
    .expect("the dead node's member leaves within the presence TTL");
    assert_eq!(left["nickname"], "Aria");
    let (_, presence) = c.get(&format!("/api/rooms/{room}/presence"), &tb).await;
    let names: Vec<&str> =
        presence["members"].as_array().unwrap().iter().map(|m| m["nickname"].as_str().unwrap()).collect();
    assert_eq!(names, ["Bo"]);
}

/// A node killed after the broker took an event that no one has stored: the other node stores
/// it, serves it in history and to a resuming client. The dying node is kept out of the store
/// group, so the event can only have been stored by the node that took the partition over.
#[tokio::test]
async fn an_event_acknowledged_by_a_node_that_dies_is_stored_by_another() {
    let b = Backends::start().await;
    let a = b.node("a", &[("DUNGEONTALK_KAFKA_STORE_WRITER", "false")]).await;
    let (token, _) = a.guest("Aria").await;
    let room = a.room(&token, "Hall").await;
    join(&a, &token, &room).await;
    let (status, body) = a.post_frame(&token, &room, talk("last words")).await;
    assert_eq!(status, 202);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(contents(&a.history(&token, &room).await).is_empty(), "no one has stored it yet");
    a.kill().await;
    let c = b.node("b", &[]).await;
    let history = eventually(|| async {
        let h = c.history(&token, &room).await;
        if contents(&h) == ["last words"] { Ok(h) } else { Err(format!("{h:?}")) }
    })
    .await;
    assert_eq!(history.iter().find(|e| e["type"] == "TALK").unwrap()["seq"], body["seq"]);
    let mut reader = c.link(Transport::Sse, &token, &room, Some(0)).await;
    assert_eq!(contents(&reader.events_until_talks(1).await), ["last words"]);
}

/// Logging out on node A ends the same token's streams on node B at once.
#[tokio::test]
async fn a_logout_on_one_node_ends_streams_on_another() {
    let b = Backends::start().await;
    let (a, c) = tokio::join!(b.node("a", &[]), b.node("b", &[]));
    let (token, _) = a.guest("Aria").await;
    let room = a.room(&token, "Hall").await;
    let mut ws = c.ws(&token, &room, None).await;
    a.log_out(&token, None).await;
    let frame = ws.next_of(&["ERROR"]).await;
    assert_eq!(frame["code"], "auth.logged_out");
    assert_eq!(ws.close_code().await, Some(1008));
    let (status, body) = c.get("/api/rooms", &token).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("auth.logged_out")), "node B refuses it too: {body}");
}

/// A member's rate limit is one bucket over all nodes: talking through two nodes does not double it.
#[tokio::test]
async fn a_rate_limit_holds_across_nodes() {
    let b = Backends::start().await;
    let limits = [("DUNGEONTALK_RATE_BURST", "4"), ("DUNGEONTALK_RATE_PER_SEC", "0.2")];
    let (a, c) = tokio::join!(b.node("a", &limits), b.node("b", &limits));
    let (token, _) = a.guest("Aria").await;
    let room = a.room(&token, "Hall").await;
    join(&a, &token, &room).await;
    for (i, node) in [&a, &c, &a, &c].into_iter().enumerate() {
        assert_eq!(node.post_frame(&token, &room, talk(&format!("m{i}"))).await.0, 202);
    }
    for node in [&a, &c] {
        let (status, body) = node.post_frame(&token, &room, talk("one too many")).await;
        assert_eq!((status, body["code"].as_str()), (429, Some("chat.rate_limited")));
    }
}

/// Both nodes report the same members and counts for a room whose members are spread over them.
#[tokio::test]
async fn presence_counts_agree_on_every_node() {
    let b = Backends::start().await;
    let (a, c) = tokio::join!(b.node("a", &[]), b.node("b", &[]));
    let (ta, _) = a.guest("Aria").await;
    let (tb, _) = c.guest("Bo").await;
    let room = a.room(&ta, "Hall").await;
    let mut on_a = a.link(Transport::Ws, &ta, &room, Some(0)).await;
    on_a.join().await;
    let mut on_b = c.link(Transport::Ws, &tb, &room, Some(0)).await;
    on_b.join().await;
    // A JOIN over a WebSocket has no ACK: wait until both are in, then compare the two views.
    let (va, vb) = eventually(|| async {
        let (va, vb) = tokio::join!(presence_view(&a, &ta, &room), presence_view(&c, &tb, &room));
        let joined = |v: &(Value, Value, Value)| v.1.as_array().map_or(0, Vec::len);
        if joined(&va) == 2 && joined(&vb) == 2 { Ok((va, vb)) } else { Err(format!("{va:?} {vb:?}")) }
    })
    .await;
    assert_eq!(va, vb, "the same view from both nodes");
    assert_eq!(va.0, 2);
    let names: Vec<&str> = va.1.as_array().unwrap().iter().map(|m| m["nickname"].as_str().unwrap()).collect();
    assert_eq!(names, ["Aria", "Bo"]);
    on_b.drop_link();
    eventually(|| async {
        let v = presence_view(&a, &ta, &room).await;
        if v.0 == 1 { Ok(()) } else { Err(format!("{v:?}")) }
    })
    .await;
}

/// A node's view of a room: (connectedCount, members) from its presence, connectedCount from the list.
async fn presence_view(node: &crate::nodes::Node, token: &str, room: &str) -> (Value, Value, Value) {
    let (_, p) = node.get(&format!("/api/rooms/{room}/presence"), token).await;
    let (_, list) = node.get("/api/rooms", token).await;
    let listed = list.as_array().unwrap().iter().find(|r| r["roomId"] == room).unwrap().clone();
    (p["connectedCount"].clone(), p["members"].clone(), listed["connectedCount"].clone())
}

/// A frame published on `aichat.{roomId}` (by the AI service, through Redis) reaches the room's
/// clients on every node and every transport; a frame of another kind is not passed on.
#[tokio::test]
async fn an_aichat_publish_reaches_clients_on_every_node() {
    let b = Backends::start().await;
    let (a, c) = tokio::join!(b.node("a", &[]), b.node("b", &[]));
    let (token, _) = a.guest("Aria").await;
    let room = a.room(&token, "Crypt").await;
    let (mut ws, mut sse) =
        tokio::join!(a.link(Transport::Ws, &token, &room, Some(0)), c.link(Transport::Sse, &token, &room, Some(0)));
    let mut poll = c.link(Transport::Poll, &token, &room, Some(0)).await;
    // A long poll hears ephemeral frames while it is parked.
    let parked = tokio::spawn(async move { poll.read_of(&["GM_CHUNK", "TALK"]).await });
    crate::nodes::pause(500).await;
    let client = redis::Client::open(b.redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let chunk = json!({"type": "GM_CHUNK", "roomId": "elsewhere", "turn": 1, "index": 0, "text": "The door creaks"});
    let bogus = json!({"type": "TALK", "seq": 99, "content": "forged"});
    for payload in [bogus.to_string(), chunk.to_string()] {
        let _: i64 =
            redis::cmd("PUBLISH").arg(format!("aichat.{room}")).arg(payload).query_async(&mut conn).await.unwrap();
    }
    let got =
        [ws.read_of(&["GM_CHUNK", "TALK"]).await, sse.read_of(&["GM_CHUNK", "TALK"]).await, parked.await.unwrap()];
    for frame in got {
        assert_eq!(frame["type"], "GM_CHUNK", "the forged TALK was dropped");
        assert_eq!((frame["text"].as_str(), frame["roomId"].as_str()), (Some("The door creaks"), Some(room.as_str())));
    }
}

/// What MongoDB holds equals what the clients received: same ids, same seqs, each once.
#[tokio::test]
async fn what_mongodb_holds_is_what_clients_received() {
    let b = Backends::start().await;
    let (a, c) = tokio::join!(b.node("a", &[]), b.node("b", &[]));
    let (token, _) = a.guest("Aria").await;
    let room = a.room(&token, "Hall").await;
    let mut reader = c.link(Transport::Ws, &token, &room, Some(0)).await;
    join(&a, &token, &room).await;
    for i in 0..10 {
        let node = if i % 2 == 0 { &a } else { &c };
        node.post_frame(&token, &room, talk(&format!("m{i}"))).await;
    }
    let received = reader.events_until_talks(10).await;
    let want: Vec<(u64, String)> = received
        .iter()
        .map(|e| (e["seq"].as_u64().unwrap(), e["messageId"].as_str().unwrap_or("").to_owned()))
        .collect();
    let client = mongodb::Client::with_uri_str(b.mongo.url()).await.unwrap();
    let messages = client.database("dungeontalk").collection::<mongodb::bson::Document>("messages");
    let stored = eventually(|| async {
        let filter = mongodb::bson::doc! {"roomId": room.as_str()};
        let docs: Vec<_> = messages.find(filter).sort(mongodb::bson::doc! {"seq": 1}).await.unwrap().collect().await;
        let docs: Vec<mongodb::bson::Document> = docs.into_iter().map(Result::unwrap).collect();
        if docs.len() == want.len() { Ok(docs) } else { Err(format!("{} of {} stored", docs.len(), want.len())) }
    })
    .await;
    let got: Vec<(u64, String)> = stored
        .iter()
        .map(|d| {
            let frame: Value = serde_json::from_str(d.get_str("frame").unwrap()).unwrap();
            (d.get_i64("seq").unwrap() as u64, frame["messageId"].as_str().unwrap_or("").to_owned())
        })
        .collect();
    assert_eq!(got, want);
}

/// A mention by a sender on node A reaches the mentioned member's notification streams on
/// whichever node they are, once each per mention; a member of the same nickname who is not in
/// the room hears nothing of it.
#[tokio::test]
async fn a_mention_reaches_its_member_on_another_node_once() {
    let b = Backends::start().await;
    let (a, c) = tokio::join!(b.node("a", &[]), b.node("b", &[]));
    let (ta, _) = a.guest("Aria").await;
    let (tb, _) = c.guest("Bo").await;
    let (tx, _) = c.guest("Bo").await;
    let room = a.room(&ta, "Hall").await;
    let other = a.room(&ta, "Cellar").await;
    for (node, token, room) in [(&a, &ta, &room), (&c, &tb, &room), (&a, &ta, &other), (&c, &tx, &other)] {
        assert_eq!(node.post_frame(token, room, json!({"type": "JOIN"})).await.0, 202);
    }
    let (mut bo_on_b, _) = c.notifications(&tb).await;
    let (mut bo_on_a, _) = a.notifications(&tb).await;
    let (mut namesake, _) = c.notifications(&tx).await;
    for content in ["hi @Bo", "again, @bo"] {
        assert_eq!(a.post_frame(&ta, &room, talk(content)).await.0, 202);
    }
    for stream in [&mut bo_on_b, &mut bo_on_a] {
        for content in ["hi @Bo", "again, @bo"] {
            let note = stream.next().await;
            assert_eq!((note["type"].as_str(), note["content"].as_str()), (Some("MENTION"), Some(content)));
            assert_eq!(note["roomId"], room.as_str(), "{note}");
        }
    }
    // The namesake's first notification is the mention in the room they are in.
    assert_eq!(a.post_frame(&ta, &other, talk("and you, @Bo")).await.0, 202);
    let note = namesake.next().await;
    assert_eq!((note["content"].as_str(), note["roomId"].as_str()), (Some("and you, @Bo"), Some(&*other)));
}
