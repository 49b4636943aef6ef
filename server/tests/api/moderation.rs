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
    let ws = server.ws(&token, &room, Some(0)).await;
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
    assert!(server.history(&token, &room).await.is_empty(), "nothing was stored");
    // Words that merely contain or resemble one are fine.
    ws.talk("class assignment in Scunthorpe").await;
    assert_eq!(ws.next_of(&["ACK", "ERROR"]).await["acceptedSeq"], 1);
    // A game room has its own mode (WARN here): the same word goes through there.
    let url = format!("{}/api/rooms", server.base);
    let game = json!({"name": "Quest", "roomType": "GAME", "maxCapacity": 0});
    let created: Value =
        server.http.post(url).bearer_auth(&token).json(&game).send().await.unwrap().json().await.unwrap();
    let (status, body) = server.post_frame(&token, created["roomId"].as_str().unwrap(), talk(SAID[0].0)).await;
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
    for i in 0..3 {
        assert_eq!(a.talk(&format!("m{i}")).await, i + 1);
    }
    let wait = match a.send(talk("too fast")).await {
        Outcome::Refused { status, code, retry_after_ms: Some(ms) } if code == "chat.rate_limited" => {
            assert_eq!(status, (t != Transport::Ws).then_some(429));
            ms
        }
        other => panic!("the fourth TALK is rate limited, got {other:?}"),
    };
    assert!(wait > 0 && wait <= 2000, "one token at 0.5/s: {wait} ms");
    assert_eq!(server.post_frame(&tb, &room, talk("bo")).await.1["seq"], 4, "per member");
    tokio::time::sleep(Duration::from_millis(wait + 50)).await;
    assert_eq!(a.talk("m3").await, 5, "after the wait, a TALK passes");
    let events = a.events_until_talks(5).await;
    assert_eq!(seqs(&events), [1, 2, 3, 4, 5]);
    assert_eq!(
        contents(&events),
        ["m0", "m1", "m2", "bo", "m3"],
        "nothing accepted is lost, nothing refused is stored"
    );
}

on_every_transport!(excess_talks_are_refused_until_the_bucket_refills);
