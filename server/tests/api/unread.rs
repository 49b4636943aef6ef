//! Unread over the server functions: each member's counts start at their read mark, count only
//! what others said to them or the room (mentions and whispers apart), never move back, clamp to
//! the room's newest event, reach every tab as READ; private rooms stay private; invitations by
//! name find a login name or the one member by that nickname.

use serde_json::{Value, json};

use crate::support::{TestServer, spawn};

async fn call(server: &TestServer, name: &str, body: Value) -> (u16, Value) {
    let resp = server.http.post(format!("{}/api/fn/{name}", server.base)).json(&body).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

/// The caller's entry for a room in `room_activity`.
async fn activity(server: &TestServer, token: &str, room: &str) -> Value {
    let (status, rooms) = call(server, "room_activity", json!({"token": token})).await;
    assert_eq!(status, 200, "{rooms}");
    rooms.as_array().unwrap().iter().find(|r| r["room"]["roomId"] == room).cloned().unwrap_or(Value::Null)
}

async fn say(server: &TestServer, token: &str, room: &str, content: &str) -> (u16, Value) {
    server.post_frame(token, room, json!({"type": "TALK", "content": content})).await
}

async fn mark(server: &TestServer, token: &str, room: &str, seq: u64) -> (u16, Value) {
    call(server, "mark_read", json!({"token": token, "room_id": room, "seq": seq})).await
}

#[tokio::test]
async fn counts_start_at_each_members_mark_and_marks_reach_every_tab() {
    let (server, _dir) = spawn(&[]).await;
    let (ta, a_id) = server.guest("Aria").await;
    let (tb, _) = server.guest("Bo").await;
    let (tc, _) = server.guest("Cleo").await;
    let room = server.room(&tb, "Great Hall").await;
    for t in [&ta, &tb, &tc] {
        assert_eq!(server.post_frame(t, &room, json!({"type": "JOIN"})).await.0, 202);
    }
    // Never opened: the last line shows, nothing counts.
    assert_eq!(say(&server, &tb, &room, "welcome").await.0, 202);
    let a = activity(&server, &ta, &room).await;
    assert_eq!((a["unread"].as_u64(), a.get("readSeq")), (Some(0), None), "{a}");
    assert_eq!(a["last"]["text"], "welcome");
    let head = a["headSeq"].as_u64().unwrap();
    assert_eq!(mark(&server, &ta, &room, head).await.1["readSeq"], head);
    assert_eq!(mark(&server, &tc, &room, head).await.1["readSeq"], head);

    let (mut a_tab, _) = server.notifications(&ta).await;
    assert_eq!(say(&server, &tb, &room, "the feast begins").await.0, 202);
    assert_eq!(say(&server, &tb, &room, "@Aria your seat").await.0, 202);
    assert_eq!(say(&server, &ta, &room, "my own line").await.0, 202);
    let whisper = json!({"type": "TALK", "content": "psst", "receiverId": a_id});
    assert_eq!(server.post_frame(&tb, &room, whisper).await.0, 202);
    let a = activity(&server, &ta, &room).await;
    assert_eq!(
        (a["unread"].as_u64(), a["mentions"].as_u64(), a["whispers"].as_u64()),
        (Some(3), Some(1), Some(1)),
        "{a}"
    );
    assert_eq!(a["last"]["text"], "my own line", "a whisper is never the preview");
    let c = activity(&server, &tc, &room).await;
    assert_eq!(
        (c["unread"].as_u64(), c["mentions"].as_u64(), c["whispers"].as_u64()),
        (Some(3), Some(0), Some(0)),
        "{c}"
    );

    // Aria reads through the newest: her count goes, Cleo's stays; her tabs hear it.
    let newest = a["headSeq"].as_u64().unwrap();
    let (status, read) = mark(&server, &ta, &room, newest + 100).await;
    assert_eq!((status, read["readSeq"].as_u64()), (200, Some(newest)), "clamped to the newest event");
    loop {
        let note = a_tab.next().await;
        if note["type"] == "READ" {
            assert_eq!((note["roomId"].as_str(), note["readSeq"].as_u64()), (Some(room.as_str()), Some(newest)));
            break;
        }
    }
    assert_eq!(activity(&server, &ta, &room).await["unread"], 0);
    assert_eq!(activity(&server, &tc, &room).await["unread"], 3);
    assert_eq!(mark(&server, &ta, &room, 1).await.1["readSeq"], newest, "a mark never moves back");
}

#[tokio::test]
async fn past_the_most_counted_the_count_says_more() {
    let (server, _dir) = spawn(&[("DUNGEONTALK_RATE_PER_SEC", "1000"), ("DUNGEONTALK_RATE_BURST", "1000")]).await;
    let (ta, _) = server.guest("Aria").await;
    let (tb, _) = server.guest("Bo").await;
    let room = server.room(&tb, "Busy").await;
    server.post_frame(&tb, &room, json!({"type": "JOIN"})).await;
    mark(&server, &ta, &room, 1).await;
    for n in 0..120 {
        assert_eq!(server.post_frame(&tb, &room, json!({"type": "TALK", "content": format!("line {n}")})).await.0, 202);
    }
    let a = activity(&server, &ta, &room).await;
    assert_eq!((a["unread"].as_u64(), a["more"].as_bool()), (Some(99), Some(true)), "{a}");
}

#[tokio::test]
async fn private_rooms_stay_private_and_invitations_find_members_by_name() {
    let (server, _dir) = spawn(&[]).await;
    let (ta, _) = server.guest("Aria").await;
    let (td, d_id) = server.guest("Dee").await;
    let (tx, _) = server.guest("Dee").await; // another Dee
    let lobby = server.room(&ta, "Lobby").await;
    let resp = server
        .http
        .post(format!("{}/api/rooms", server.base))
        .bearer_auth(&ta)
        .json(&json!({"name": "Den", "maxCapacity": 0, "private": true}))
        .send()
        .await
        .unwrap();
    let den = resp.json::<Value>().await.unwrap()["roomId"].as_str().unwrap().to_owned();
    assert_eq!(activity(&server, &td, &den).await, Value::Null, "not listed for others");
    assert_eq!(mark(&server, &td, &den, 1).await.1["code"], "room.forbidden");
    assert_eq!(mark(&server, &td, "no-such-room", 1).await.0, 404);

    let invite = |name: &str| call(&server, "invite", json!({"token": ta, "room_id": den, "name": name}));
    let (status, body) = invite("  ").await;
    assert_eq!((status, body["code"].as_str()), (400, Some("request.invalid")), "{body}");
    let (status, body) = invite("Nobody").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("member.not_found")), "{body}");
    // One Dee in a room: found by nickname, any case.
    server.post_frame(&td, &lobby, json!({"type": "JOIN"})).await;
    let (mut d_notes, _) = server.notifications(&td).await;
    let (status, body) = invite("dee").await;
    assert_eq!(status, 200, "{body}");
    loop {
        let note = d_notes.next().await;
        if note["type"] == "INVITATION" {
            assert_eq!(note["roomName"], "Den");
            break;
        }
    }
    assert_eq!(activity(&server, &td, &den).await["room"]["name"], "Den", "listed once invited");
    assert_eq!(server.post_frame(&td, &den, json!({"type": "JOIN"})).await.0, 202);
    // Two members go by Dee now: refused, asking for a login name.
    server.post_frame(&tx, &lobby, json!({"type": "JOIN"})).await;
    let (status, body) = invite("Dee").await;
    assert_eq!((status, body["code"].as_str()), (409, Some("member.ambiguous")), "{body}");
    // A registered login name is unambiguous.
    let reg = json!({"name": "dee.the.bold", "nickname": "Dee", "password": "correct horse battery"});
    let resp = server.http.post(format!("{}/api/auth/register", server.base)).json(&reg).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let (status, body) = invite("Dee.The.Bold").await;
    assert_eq!(status, 200, "{body}");
    assert!(!d_id.is_empty());
}
