//! Membership over the wire: capacity (`room.full`, `JOIN_IGNORED`, `CAPACITY_UPDATED`), idempotent
//! JOIN and LEAVE, the shape of presence frames, session expiry and heartbeats, and typing.

use std::time::Duration;

use serde_json::{Value, json};

use crate::link::{Link, Outcome, Transport, on_every_transport};
use crate::support::spawn;

/// The next PRESENCE frame of `event_type`, after checking every presence frame's shape.
async fn presence_of(link: &mut Link, event_type: &str) -> Value {
    loop {
        let frame = link.read_of(&["PRESENCE"]).await;
        let mut keys: Vec<&str> = frame.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        // A delta: the member it is about (as the list shows them after a JOIN), never the list.
        let mut want = vec![
            "connectedCount",
            "eventTime",
            "eventType",
            "joinedCount",
            "maxCapacity",
            "memberId",
            "roomId",
            "type",
        ];
        if frame["eventType"] == "JOIN" {
            want.insert(5, "member");
            let m = &frame["member"];
            assert_eq!((&m["memberId"], m["status"].as_str()), (&frame["memberId"], Some("ONLINE")), "{frame}");
        }
        assert_eq!(keys, want, "{frame}");
        let time = frame["eventTime"].as_str().unwrap();
        assert!(time.len() >= 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T', "RFC 3339 UTC: {time}");
        if frame["eventType"] == event_type {
            return frame;
        }
    }
}

fn nicknames(frame: &Value) -> Vec<&str> {
    frame["members"].as_array().unwrap().iter().map(|m| m["nickname"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_full_room_refuses_the_next_join_until_its_capacity_grows() {
    let (server, _dir) = spawn(&[]).await;
    let mut who = Vec::new();
    for name in ["Aria", "Bo", "Cleo", "Dax", "Eve"] {
        who.push(server.guest(name).await);
    }
    let [aria, bo, cleo, dax, eve]: [(String, String); 5] = who.try_into().unwrap();
    // Created without a capacity: the default, 3.
    let url = format!("{}/api/rooms", server.base);
    let resp = server.http.post(&url).bearer_auth(&aria.0).json(&json!({"name": "Inn"})).send().await.unwrap();
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["maxCapacity"], 3);
    let room = created["roomId"].as_str().unwrap().to_owned();
    let mut watch = server.link(Transport::Ws, &aria.0, &room, Some(0)).await;
    watch.join().await;
    let mut b = server.link(Transport::Sse, &bo.0, &room, Some(0)).await;
    b.join().await;
    let mut c = server.link(Transport::Poll, &cleo.0, &room, Some(0)).await;
    c.join().await;
    assert_eq!(b.send(json!({"type": "JOIN"})).await, Outcome::Accepted(None), "a repeated JOIN stores nothing");
    // The fourth: 409 over POST, and the room is told.
    let (status, body) = server.post_frame(&dax.0, &room, json!({"type": "JOIN"})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("room.full")));
    let ignored = presence_of(&mut watch, "JOIN_IGNORED").await;
    assert_eq!((ignored["roomId"].as_str(), ignored["memberId"].as_str()), (Some(&*room), Some(&*dax.1)));
    assert_eq!((ignored["maxCapacity"].as_u64(), ignored["joinedCount"].as_u64()), (Some(3), Some(3)));
    let (_, snapshot) = server.get(&format!("/api/rooms/{room}/presence"), &aria.0).await;
    assert_eq!(nicknames(&snapshot), ["Aria", "Bo", "Cleo"]);
    // The fifth may not even look in: a full room is closed to readers without a seat.
    assert_eq!(server.ws_refusal(&format!("token={}&roomId={room}", eve.0)).await, 409);
    // LEAVE twice: the second stores nothing and the room hears LEAVE_IGNORED; then Dax fits.
    assert!(matches!(c.send(json!({"type": "LEAVE"})).await, Outcome::Accepted(Some(_))));
    assert_eq!(c.send(json!({"type": "LEAVE"})).await, Outcome::Accepted(None));
    assert_eq!(presence_of(&mut watch, "LEAVE_IGNORED").await["memberId"], cleo.1.as_str());
    let mut d = server.link(Transport::Sse, &dax.0, &room, Some(0)).await;
    d.join().await;
    // Only the creator may change the capacity; the room hears of it, and Eve fits.
    let patch = |token: &str, n: u32| {
        let url = format!("{}/api/rooms/{room}", server.base);
        server.http.patch(url).bearer_auth(token).json(&json!({"maxCapacity": n})).send()
    };
    assert_eq!(patch(&bo.0, 4).await.unwrap().status(), 403);
    assert_eq!(patch(&aria.0, 4).await.unwrap().status(), 200);
    let updated = presence_of(&mut watch, "CAPACITY_UPDATED").await;
    assert_eq!((updated["maxCapacity"].as_u64(), updated["memberId"].as_str()), (Some(4), Some(&*aria.1)));
    let mut e = server.link(Transport::Ws, &eve.0, &room, Some(0)).await;
    e.join().await;
    while e.read_of(&["JOIN"]).await["memberId"] != eve.1.as_str() {}
    let stored: Vec<(String, String)> = server
        .history(&aria.0, &room)
        .await
        .iter()
        .map(|e| (e["type"].as_str().unwrap().into(), e["nickname"].as_str().unwrap().into()))
        .collect();
    let want =
        [("JOIN", "Aria"), ("JOIN", "Bo"), ("JOIN", "Cleo"), ("LEAVE", "Cleo"), ("JOIN", "Dax"), ("JOIN", "Eve")];
    assert_eq!(stored, want.map(|(t, n)| (t.to_owned(), n.to_owned())));
}

/// Sends a heartbeat from each of `beaters` every 300 ms while `idle` reads presence frames, until
/// one says a member's session expired.
async fn beat_until_expiry(idle: &mut Link, beaters: &mut [Link]) -> Value {
    let mut every = tokio::time::interval(Duration::from_millis(300));
    loop {
        tokio::select! {
            frame = idle.read_of(&["PRESENCE"]) => if frame["eventType"] == "SESSION_EXPIRED" {
                return frame;
            },
            _ = every.tick() => for link in beaters.iter_mut() {
                assert_eq!(link.send(json!({"type": "HEARTBEAT"})).await, Outcome::Accepted(None));
            },
        }
    }
}

#[tokio::test]
async fn an_idle_member_expires_and_heartbeats_keep_the_others() {
    // 1 s is the shortest session the settings allow; 2 s leaves the heartbeats a wide margin.
    let (server, _dir) = spawn(&[("DUNGEONTALK_CHAT_SESSION_SECS", "2")]).await;
    let (ta, a_id) = server.guest("Aria").await;
    let (tb, _) = server.guest("Bo").await;
    let (tc, _) = server.guest("Cleo").await;
    let room = server.room(&ta, "Hall").await;
    let mut idle = server.link(Transport::Ws, &ta, &room, Some(0)).await;
    let mut ws = server.link(Transport::Ws, &tb, &room, Some(0)).await;
    let mut post = server.link(Transport::Poll, &tc, &room, Some(0)).await;
    for link in [&mut idle, &mut ws, &mut post] {
        link.join().await;
    }
    // Aria only reads; Bo (WebSocket) and Cleo (POST) send heartbeats.
    let mut beaters = [ws, post];
    let expired = tokio::time::timeout(Duration::from_secs(10), beat_until_expiry(&mut idle, &mut beaters));
    let expired = expired.await.expect("the idle member expires in time");
    assert_eq!(expired["memberId"], a_id.as_str());
    // Keep beating for three more sessions: nobody else expires.
    let more = tokio::time::timeout(Duration::from_secs(6), beat_until_expiry(&mut idle, &mut beaters)).await;
    assert!(more.is_err(), "only the idle member expired: {more:?}");
    let (_, presence) = server.get(&format!("/api/rooms/{room}/presence"), &ta).await;
    assert_eq!(nicknames(&presence), ["Bo", "Cleo"]);
    let leaves: Vec<Value> = server.history(&ta, &room).await.into_iter().filter(|e| e["type"] == "LEAVE").collect();
    assert_eq!(leaves.len(), 1, "one LEAVE was stored: {leaves:?}");
    assert_eq!(leaves[0]["memberId"], a_id.as_str());
    // Still connected, Aria may join again.
    idle.join().await;
    while idle.read_of(&["JOIN"]).await["memberId"] != a_id.as_str() {}
}

/// TYPING reaches the other members of the room, carries no seq and is never stored; typing from
/// someone who has not joined is not shown.
async fn typing_is_shown_live_and_never_stored(t: Transport) {
    let (server, _dir) = spawn(&[]).await;
    let (ta, a_id) = server.guest("Aria").await;
    let (tb, _) = server.guest("Bo").await;
    let (tc, _) = server.guest("Cleo").await;
    let room = server.room(&ta, "Hall").await;
    let mut a = server.link(t, &ta, &room, Some(0)).await;
    let mut b = server.link(t, &tb, &room, Some(0)).await;
    a.join().await;
    b.join().await;
    // A poll sees only what is published while it waits: keep typing until Bo has seen it.
    let typing = {
        let reading = b.read_of(&["TYPING"]);
        tokio::pin!(reading);
        let typing = async {
            loop {
                assert_eq!(a.send(json!({"type": "TYPING"})).await, Outcome::Accepted(None));
                tokio::select! {
                    frame = &mut reading => return frame,
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(10), typing).await.expect("Bo sees Aria typing")
    };
    assert_eq!(typing, json!({"type": "TYPING", "roomId": room, "memberId": a_id, "nickname": "Aria"}));
    assert_eq!(server.post_frame(&tc, &room, json!({"type": "TYPING"})).await, (202, json!({"seq": null})));
    assert_eq!(a.talk("done typing").await, 3, "typing took no seq");
    loop {
        let frame = b.read_of(&["TYPING", "TALK"]).await;
        if frame["type"] == "TALK" {
            break;
        }
        assert_eq!(frame["memberId"], a_id.as_str(), "Cleo has not joined: her typing is not shown");
    }
    let stored: Vec<Value> = server.history(&tb, &room).await.into_iter().map(|e| e["type"].clone()).collect();
    assert_eq!(stored, ["JOIN", "JOIN", "TALK"]);
}

on_every_transport!(typing_is_shown_live_and_never_stored);
