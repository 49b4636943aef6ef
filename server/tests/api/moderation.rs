//! Moderation over the wire: the profanity filter's three modes (with evasions, and a Korean word
//! from server/data/profanity/ko.txt) on WebSocket and POST, and the per-member rate limit.

use std::time::Duration;

use serde_json::{Value, json};

use crate::link::{Outcome, Transport, on_every_transport};
use crate::support::{Client, TestServer, seqs, spawn};

/// Evasions (case, repeats, spacing, substitutions) and Korean, with what FILTER mode makes of them.
const SAID: [(&str, &str); 6] = [
    ("what the FuUuCK", "what the ***"),
    ("f u c k this", "*** this"),
    ("sh1t happens", "*** happens"),
    ("you @ss", "you ***"),
    ("이 시발놈아", "이 ***놈아"),
    ("ㅅㅂ 뭐야", "*** 뭐야"),
];

fn talk(content: &str) -> Value {
    json!({"type": "TALK", "content": content})
}

fn contents(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["content"].as_str()).collect()
}

/// A server in `mode` for player rooms, a room, and a WebSocket in it: (server, token, room, ws).
async fn setup(mode: &str) -> (TestServer, tempfile::TempDir, String, String, Client) {
    let (server, dir) = spawn(&[("DUNGEONTALK_PROFANITY_PLAYER", mode), ("DUNGEONTALK_PROFANITY_GAME", "warn")]).await;
    let (token, _) = server.guest("Aria").await;
    let room = server.room(&token, "Tavern").await;
    let mut ws = server.ws(&token, &room, Some(0)).await;
    ws.join().await;
    ws.next_of(&["JOIN"]).await;
    (server, dir, token, room, ws)
}

#[tokio::test]
async fn block_mode_refuses_profanity_and_stores_nothing() {
    let (server, _dir, token, room, mut ws) = setup("block").await;
    for (said, _) in SAID {
        let (status, body) = server.post_frame(&token, &room, talk(said)).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("chat.profanity_blocked")), "POST {said:?}");
        ws.talk(said).await;
        let answer = ws.next_of(&["ACK", "ERROR"]).await;
        assert_eq!((answer["type"].as_str(), answer["code"].as_str()), (Some("ERROR"), Some("chat.profanity_blocked")));
    }
    assert!(contents(&server.history(&token, &room).await).is_empty(), "nothing was stored");
    // Words that merely contain or resemble one are fine.
    ws.talk("class assignment in Scunthorpe").await;
    assert_eq!(ws.next_of(&["ACK", "ERROR"]).await["acceptedSeq"], 2, "after the JOIN");
    // A game room has its own mode (WARN here): the same word goes through there.
    let url = format!("{}/api/rooms", server.base);
    let game = json!({"name": "Quest", "roomType": "GAME", "maxCapacity": 0});
    let created: Value =
        server.http.post(url).bearer_auth(&token).json(&game).send().await.unwrap().json().await.unwrap();
    let game = created["roomId"].as_str().unwrap();
    assert_eq!(server.post_frame(&token, game, json!({"type": "JOIN"})).await.0, 202);
    let (status, body) = server.post_frame(&token, game, talk(SAID[0].0)).await;
    assert_eq!((status, body["warning"]["code"].as_str()), (202, Some("chat.profanity_warning")));
}

#[tokio::test]
async fn filter_mode_masks_profanity_for_everyone_and_in_the_store() {
    let (server, _dir, token, room, mut ws) = setup("filter").await;
    for (said, _) in SAID {
        let (status, body) = server.post_frame(&token, &room, talk(said)).await;
        assert_eq!((status, body.get("warning")), (202, None), "no warning in FILTER mode: {body}");
        ws.talk(said).await;
        ws.next_of(&["ACK"]).await; // stored before the next POST: one order to expect
    }
    let masked: Vec<&str> = SAID.iter().flat_map(|(_, masked)| [*masked; 2]).collect();
    let (tb, _) = server.guest("Bo").await;
    let mut reader = server.ws(&tb, &room, Some(0)).await;
    assert_eq!(contents(&reader.events_until_talks(masked.len()).await), masked, "live, as others see it");
    assert_eq!(contents(&server.history(&token, &room).await), masked, "stored masked");
}

#[tokio::test]
async fn warn_mode_delivers_as_written_and_warns_the_sender() {
    let (server, _dir, token, room, mut ws) = setup("warn").await;
    for (said, _) in SAID {
        let (status, body) = server.post_frame(&token, &room, talk(said)).await;
        assert_eq!((status, body["warning"]["code"].as_str()), (202, Some("chat.profanity_warning")), "{said:?}");
        assert!(body["seq"].is_u64(), "and stored: {body}");
        // Over the WebSocket: the ACK, then a WARNING frame; a clean message in between gets none.
        ws.talk("clean").await;
        ws.talk(said).await;
        let mut answers = Vec::new();
        for _ in 0..3 {
            answers.push(ws.next_of(&["ACK", "WARNING"]).await);
        }
        let kinds: Vec<&str> = answers.iter().map(|a| a["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["ACK", "ACK", "WARNING"]);
        assert_eq!(answers[2]["code"], "chat.profanity_warning");
    }
    let (clean, _) = server.post_frame(&token, &room, talk("clean")).await;
    assert_eq!(clean, 202);
    let want: Vec<&str> = SAID.iter().flat_map(|(said, _)| [*said, "clean", *said]).chain(["clean"]).collect();
    assert_eq!(contents(&server.history(&token, &room).await), want, "stored as written");
}

/// Past the burst a member's TALKs are refused with the wait until the next one can pass; after
/// that wait one does; other members are not slowed; nothing accepted is lost.
async fn excess_talks_are_refused_until_the_bucket_refills(t: Transport) {
    // 0.5 per second: a slow machine cannot refill a token while the burst is being sent.
    let env = [("DUNGEONTALK_RATE_BURST", "3"), ("DUNGEONTALK_RATE_PER_SEC", "0.5")];
    let (server, _dir) = spawn(&env).await;
    let (ta, _) = server.guest("Aria").await;
    let (tb, _) = server.guest("Bo").await;
    let room = server.room(&ta, "Hall").await;
    let mut a = server.link(t, &ta, &room, Some(0)).await;
    a.join().await;
    assert_eq!(server.post_frame(&tb, &room, json!({"type": "JOIN"})).await.1["seq"], 2);
    for i in 0..3 {
        assert_eq!(a.talk(&format!("m{i}")).await, i + 3);
    }
    let wait = match a.send(talk("too fast")).await {
        Outcome::Refused { status, code, retry_after_ms: Some(ms) } if code == "chat.rate_limited" => {
            assert_eq!(status, (t != Transport::Ws).then_some(429));
            ms
        }
        other => panic!("the fourth TALK is rate limited, got {other:?}"),
    };
    assert!(wait > 0 && wait <= 2000, "one token at 0.5/s: {wait} ms");
    assert_eq!(server.post_frame(&tb, &room, talk("bo")).await.1["seq"], 6, "per member");
    tokio::time::sleep(Duration::from_millis(wait + 50)).await;
    assert_eq!(a.talk("m3").await, 7, "after the wait, a TALK passes");
    let events = a.events_until_talks(5).await;
    assert_eq!(seqs(&events), [1, 2, 3, 4, 5, 6, 7], "two JOINs, then the TALKs");
    assert_eq!(
        contents(&events),
        ["m0", "m1", "m2", "bo", "m3"],
        "nothing accepted is lost, nothing refused is stored"
    );
}

on_every_transport!(excess_talks_are_refused_until_the_bucket_refills);

/// Every kind of client frame is admitted by a bucket of its own: JOIN/LEAVE toggling, typing,
/// invitations and new rooms past their bursts get `limit.too_fast` with the wait, and a member
/// may make only so many rooms; none of it stores anything.
#[tokio::test]
async fn joins_typing_invitations_and_rooms_have_buckets_of_their_own() {
    let env = [
        ("DUNGEONTALK_MEMBERSHIP_BURST", "2"),
        ("DUNGEONTALK_MEMBERSHIP_RATE_PER_SEC", "0.01"),
        ("DUNGEONTALK_TYPING_BURST", "2"),
        ("DUNGEONTALK_TYPING_RATE_PER_SEC", "0.01"),
        ("DUNGEONTALK_INVITE_BURST", "1"),
        ("DUNGEONTALK_INVITE_RATE_PER_SEC", "0.01"),
        ("DUNGEONTALK_ROOM_BURST", "2"),
        ("DUNGEONTALK_ROOM_RATE_PER_SEC", "0.01"),
        ("DUNGEONTALK_MAX_ROOMS_PER_MEMBER", "3"),
    ];
    let (server, _dir) = spawn(&env).await;
    let (ta, _) = server.guest("Aria").await;
    let (tb, b_id) = server.guest("Bo").await;
    let room = server.room(&ta, "Hall").await;
    let refused = |(status, body): (u16, serde_json::Value)| {
        assert_eq!((status, body["code"].as_str()), (429, Some("limit.too_fast")), "{body}");
        assert!(body["retryAfterMs"].as_u64().unwrap() > 0);
    };
    assert_eq!(server.post_frame(&tb, &room, json!({"type": "JOIN"})).await.0, 202);
    assert_eq!(server.post_frame(&tb, &room, json!({"type": "LEAVE"})).await.0, 202);
    refused(server.post_frame(&tb, &room, json!({"type": "JOIN"})).await);
    for _ in 0..2 {
        assert_eq!(server.post_frame(&ta, &room, json!({"type": "TYPING"})).await.0, 202);
    }
    refused(server.post_frame(&ta, &room, json!({"type": "TYPING"})).await);
    let invite = |to: &str| {
        let url = format!("{}/api/rooms/{room}/invitations", server.base);
        server.http.post(url).bearer_auth(&ta).json(&json!({"memberId": to})).send()
    };
    assert_eq!(invite(&b_id).await.unwrap().status(), 202);
    let second = invite(&b_id).await.unwrap();
    refused((second.status().as_u16(), second.json().await.unwrap()));
    // Aria made one room; a burst of 2 allows one more, then the bucket says wait.
    server.room(&ta, "Second").await;
    let url = format!("{}/api/rooms", server.base);
    let third = server.http.post(&url).bearer_auth(&ta).json(&json!({"name": "Third"})).send().await.unwrap();
    refused((third.status().as_u16(), third.json().await.unwrap()));
    let kinds: Vec<String> =
        server.history(&ta, &room).await.iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(kinds, ["JOIN", "LEAVE"], "refused frames stored nothing");
}

/// Past `max_rooms_per_member` a member makes no more rooms, and past
/// `max_connections_per_member` opens no more connections (a real 429 before any upgrade).
#[tokio::test]
async fn rooms_and_connections_per_member_are_capped() {
    let env = [("DUNGEONTALK_MAX_ROOMS_PER_MEMBER", "2"), ("DUNGEONTALK_MAX_CONNECTIONS_PER_MEMBER", "2")];
    let (server, _dir) = spawn(&env).await;
    let (ta, _) = server.guest("Aria").await;
    let room = server.room(&ta, "One").await;
    server.room(&ta, "Two").await;
    let url = format!("{}/api/rooms", server.base);
    let resp = server.http.post(&url).bearer_auth(&ta).json(&json!({"name": "Three"})).send().await.unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.json::<serde_json::Value>().await.unwrap()["code"], "limit.rooms");
    let _one = server.ws(&ta, &room, None).await;
    let _two = server.ws(&ta, &room, None).await;
    assert_eq!(server.ws_refusal(&format!("token={ta}&roomId={room}")).await, 429);
    let (status, body) = server.get(&format!("/api/rooms/{room}/poll?timeout=0"), &ta).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("limit.connections")));
}
