//! AI game rooms on one node: a whole game found through the matching queue and played over the
//! three transports with the `script` game master, the game's refusals, its clock, and the queue.

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::link::{Link, Outcome, Transport};
use crate::support::{TestServer, eventually, spawn};

/// The frames a game adds to a room (what STOMP's `/sub/aichat/room/…` carries).
const GAME_TYPES: [&str; 7] = ["TURN", "ACTION", "DICE", "GM_CHUNK", "GM_MESSAGE", "GAME_END", "SYSTEM"];

/// A server whose games last three turns with the script narrator, parties of three.
async fn game_server(extra: &[(&str, &str)]) -> (TestServer, tempfile::TempDir) {
    let mut env = vec![
        ("DUNGEONTALK_GM", "script"),
        ("DUNGEONTALK_GAME_TURNS", "3"),
        ("DUNGEONTALK_MATCH_SIZE", "3"),
        ("DUNGEONTALK_GAME_TURN_SECS", "120"),
    ];
    env.extend_from_slice(extra);
    spawn(&env).await
}

fn is_game(frame: &Value) -> bool {
    GAME_TYPES.contains(&frame["type"].as_str().unwrap_or(""))
}

/// Reads `link`, keeping every game frame in `log`, until a frame `stop` accepts.
async fn until(link: &mut Link, log: &mut Vec<Value>, stop: impl Fn(&Value) -> bool) -> Value {
    loop {
        let frame = link.read().await;
        if is_game(&frame) {
            log.push(frame.clone());
        }
        if stop(&frame) {
            return frame;
        }
    }
}

fn turn_is(frame: &Value, turn: u64, phase: &str) -> bool {
    frame["type"] == "TURN" && frame["turn"] == turn && frame["phase"] == phase
}

/// Reads a link in a task of its own until the game ends; its game frames in order.
fn record(mut link: Link) -> tokio::task::JoinHandle<Vec<Value>> {
    tokio::spawn(async move {
        let mut log = Vec::new();
        until(&mut link, &mut log, |f| f["type"] == "GAME_END").await;
        log
    })
}

async fn post(server: &TestServer, token: &str, path: &str, body: Value) -> (u16, Value) {
    let resp = server.http.post(format!("{}{path}", server.base)).bearer_auth(token).json(&body).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

fn action(content: &str) -> Value {
    json!({"type": "ACTION", "content": content, "messageId": Uuid::now_v7()})
}

fn accepted(outcome: Outcome) -> u64 {
    match outcome {
        Outcome::Accepted(Some(seq)) => seq,
        other => panic!("refused: {other:?}"),
    }
}

/// Each turn's chunks (index from 0, one more each time) join to that turn's GM_MESSAGE, and
/// every stored frame comes in seq order.
fn check_narration(log: &[Value], transport: &str) {
    let mut chunks: Vec<&Value> = Vec::new();
    let mut last_seq = 0;
    for frame in log {
        if let Some(seq) = frame["seq"].as_u64() {
            assert!(seq > last_seq, "{transport}: seq {seq} after {last_seq}");
            last_seq = seq;
        }
        match frame["type"].as_str().unwrap() {
            "GM_CHUNK" => chunks.push(frame),
            "GM_MESSAGE" => {
                let turn = &frame["turn"];
                assert!(!chunks.is_empty(), "{transport}: turn {turn} streamed no chunks");
                let indices: Vec<u64> = chunks.iter().map(|c| c["index"].as_u64().unwrap()).collect();
                assert_eq!(indices, (0..chunks.len() as u64).collect::<Vec<_>>(), "{transport}: turn {turn}");
                assert!(chunks.iter().all(|c| c["turn"] == *turn), "{transport}: chunks of another turn");
                let joined: String = chunks.iter().map(|c| c["text"].as_str().unwrap()).collect();
                assert_eq!(joined, frame["content"].as_str().unwrap(), "{transport}: turn {turn}'s chunks");
                chunks.clear();
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_matched_party_plays_a_whole_game_on_three_transports() {
    let (server, _dir) = game_server(&[]).await;
    let players = [("Aria", Transport::Ws), ("Bo", Transport::Sse), ("Cyd", Transport::Poll)];
    let mut tokens = Vec::new();
    let mut streams = Vec::new();
    for (name, _) in players {
        let (token, _) = server.guest(name).await;
        streams.push(server.notifications(&token).await.0);
        tokens.push(token);
    }
    // Matched through the queue: the third completes the party.
    let (status, body) = post(&server, &tokens[0], "/api/matching", json!({"worldType": "FANTASY"})).await;
    assert_eq!((status, body["waiting"].as_u64()), (202, Some(1)), "{body}");
    post(&server, &tokens[1], "/api/matching", json!({"worldType": "FANTASY"})).await;
    assert_eq!(server.get("/api/matching", &tokens[0]).await.1["waiting"], 2);
    let (status, body) = post(&server, &tokens[2], "/api/matching", json!({"worldType": "FANTASY"})).await;
    assert_eq!(status, 202);
    let room = body["roomId"].as_str().expect("the third player completes the party").to_owned();
    for stream in &mut streams {
        let matched = stream.next().await;
        assert_eq!((matched["type"].as_str(), matched["roomId"].as_str()), (Some("MATCHED"), Some(room.as_str())));
    }
    assert_eq!(server.get("/api/matching", &tokens[0]).await.1["roomId"], room.as_str());

    let mut links = Vec::new();
    for ((_, transport), token) in players.iter().zip(&tokens) {
        let mut link = server.link(*transport, token, &room, Some(0)).await;
        link.poll_ephemerals();
        link.join().await;
        links.push(link);
    }
    let mut aria = links.remove(0);
    let readers: Vec<_> = links.into_iter().map(record).collect();
    let mut log = Vec::new();
    // The party is in: the game starts by itself.
    until(&mut aria, &mut log, |f| turn_is(f, 1, "TURN_INPUT")).await;
    let roll = accepted(aria.send(json!({"type": "ROLL", "die": "d20", "messageId": Uuid::now_v7()})).await);
    accepted(aria.send(action("search the altar")).await);
    assert_eq!(server.post_frame(&tokens[1], &room, action("light a torch")).await.0, 202);
    assert_eq!(server.post_frame(&tokens[2], &room, action("guard the door")).await.0, 202);
    // Everyone moved: the game master's turn. A move sent now counts for the next turn.
    until(&mut aria, &mut log, |f| turn_is(f, 1, "AI_RESPONSE")).await;
    let (status, early) = server.post_frame(&tokens[1], &room, action("charge ahead")).await;
    assert_eq!(status, 202, "{early}");
    until(&mut aria, &mut log, |f| turn_is(f, 2, "TURN_INPUT")).await;
    accepted(aria.send(action("follow Bo")).await);
    assert_eq!(server.post_frame(&tokens[2], &room, action("cover them")).await.0, 202);
    // Bo's early move was theirs for this turn: two more moves closed it.
    until(&mut aria, &mut log, |f| turn_is(f, 3, "TURN_INPUT")).await;
    accepted(aria.send(action("grab the crown")).await);
    assert_eq!(server.post_frame(&tokens[1], &room, action("hold the line")).await.0, 202);
    assert_eq!(server.post_frame(&tokens[2], &room, action("run")).await.0, 202);
    let end = until(&mut aria, &mut log, |f| f["type"] == "GAME_END").await;
    assert!(end["result"].as_str().unwrap().contains("turns"), "{end}");

    // Every transport saw the same stored game events, in order, and each turn's chunks.
    let stored = |log: &[Value]| log.iter().filter(|f| f["seq"].is_u64()).cloned().collect::<Vec<_>>();
    let history: Vec<Value> = server.history(&tokens[0], &room).await.into_iter().filter(is_game).collect();
    check_narration(&log, "ws");
    assert_eq!(stored(&log), history, "ws");
    for (reader, transport) in readers.into_iter().zip(["sse", "poll"]) {
        let seen = reader.await.unwrap();
        check_narration(&seen, transport);
        assert_eq!(stored(&seen), history, "{transport}");
    }
    let kinds: Vec<&str> = history.iter().map(|f| f["type"].as_str().unwrap()).collect();
    let count = |t: &str| kinds.iter().filter(|k| **k == t).count();
    assert_eq!((count("ACTION"), count("DICE"), count("GM_MESSAGE"), count("GAME_END")), (9, 1, 3, 1), "{kinds:?}");
    let dice = history.iter().find(|f| f["type"] == "DICE").unwrap();
    assert_eq!((dice["seq"].as_u64(), dice["die"].as_str(), dice["turn"].as_u64()), (Some(roll), Some("d20"), Some(1)));
    assert!((1..=20).contains(&dice["result"].as_u64().unwrap()));
    // Bo's early move came while the game master answered turn 1, and counted for turn 2.
    let seq_of = |pred: &dyn Fn(&Value) -> bool| history.iter().find(|f| pred(f)).unwrap()["seq"].as_u64().unwrap();
    let early_seq = early["seq"].as_u64().unwrap();
    assert!(seq_of(&|f| turn_is(f, 1, "AI_RESPONSE")) < early_seq);
    assert!(early_seq < seq_of(&|f| f["type"] == "GM_MESSAGE" && f["turn"] == 1));
    let early_event = history.iter().find(|f| f["seq"] == early_seq).unwrap();
    assert_eq!((early_event["type"].as_str(), early_event["turn"].as_u64()), (Some("ACTION"), Some(2)));
    // The narrator answers every player by name and what they did, the dice included.
    let gm =
        |turn: u64| history.iter().find(|f| f["type"] == "GM_MESSAGE" && f["turn"] == turn).unwrap()["content"].clone();
    let first = gm(1).as_str().unwrap().to_owned();
    for said in
        ["Aria tries to \"search the altar\"", "Bo tries to \"light a torch\"", "Cyd tries to \"guard the door\""]
    {
        assert!(first.contains(said), "{said}: {first}");
    }
    assert!(first.contains("(d20 "), "the roll is in the answer: {first}");
    let second = gm(2).as_str().unwrap().to_owned();
    assert!(second.contains("Having waited for this moment, Bo tries to \"charge ahead\""), "{second}");
    let (status, game) = server.get(&format!("/api/games/{room}"), &tokens[0]).await;
    assert_eq!(status, 200);
    assert_eq!(
        (game["status"].as_str(), game["phase"].as_str(), game["turn"].as_u64()),
        (Some("COMPLETED"), Some("GAME_END"), Some(3))
    );
    assert_eq!(game["result"], end["result"]);
}

#[tokio::test]
async fn a_game_refuses_what_its_state_does_not_allow() {
    let (server, _dir) = game_server(&[]).await;
    let (aria, _) = server.guest("Aria").await;
    let (bo, _) = server.guest("Bo").await;
    let (cyd, _) = server.guest("Cyd").await;
    let (status, game) = post(&server, &aria, "/api/games", json!({"worldType": "SF", "maxPlayers": 2})).await;
    assert_eq!(status, 201, "{game}");
    assert_eq!(
        (game["status"].as_str(), game["phase"].as_str(), game["roomType"].as_str()),
        (Some("CREATED"), Some("WAITING"), Some("GAME"))
    );
    let room = game["roomId"].as_str().unwrap().to_owned();
    for bad in [json!({"worldType": "SF", "maxPlayers": 6}), json!({"worldType": "MARS"})] {
        assert_eq!(post(&server, &aria, "/api/games", bad).await.0, 400);
    }
    let player_room = server.room(&aria, "Hall").await;
    let (status, body) = server.get(&format!("/api/games/{player_room}"), &aria).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("game.not_found")));

    let code = |r: (u16, Value)| (r.0, r.1["code"].as_str().unwrap_or("").to_owned());
    assert_eq!(code(server.post_frame(&aria, &room, action("peek")).await), (403, "room.not_joined".into()));
    assert_eq!(
        code(post(&server, &aria, &format!("/api/games/{room}/start"), json!({})).await),
        (403, "room.not_joined".into())
    );
    assert_eq!(server.post_frame(&aria, &room, json!({"type": "JOIN"})).await.0, 202);
    // Bo sits in too, so the turn waits for Bo's move.
    assert_eq!(server.post_frame(&bo, &room, json!({"type": "JOIN"})).await.0, 202);
    // A move made before the start counts for turn 1.
    assert_eq!(server.post_frame(&aria, &room, action("stretch")).await.0, 202);
    assert_eq!(code(server.post_frame(&aria, &room, action("again")).await), (409, "game.already_acted".into()));
    assert_eq!(code(server.post_frame(&aria, &room, json!({"type": "ROLL", "die": "d100"})).await).1, "chat.bad_frame");
    assert_eq!(code(server.post_frame(&aria, &room, json!({"type": "ACTION", "content": " "})).await).1, "chat.empty");
    assert_eq!(post(&server, &aria, &format!("/api/games/{room}/pause"), json!({})).await.0, 409, "not running yet");
    let (status, started) = post(&server, &aria, &format!("/api/games/{room}/start"), json!({})).await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(
        (started["status"].as_str(), started["phase"].as_str(), started["turn"].as_u64()),
        (Some("ACTIVE"), Some("TURN_INPUT"), Some(1))
    );
    assert!(started["endsAtMs"].as_u64().is_some(), "{started}");
    assert_eq!(started["players"][0]["acted"], true, "the early move counts: {started}");
    assert_eq!(
        code(post(&server, &aria, &format!("/api/games/{room}/start"), json!({})).await),
        (409, "game.bad_state".into())
    );
    // A retried move with its messageId is accepted again (the same seq), not refused.
    let once = json!({"type": "ROLL", "die": "luk", "messageId": Uuid::now_v7()});
    let first = server.post_frame(&aria, &room, once.clone()).await;
    assert_eq!(first.0, 202);
    assert_eq!(server.post_frame(&aria, &room, once).await.1["seq"], first.1["seq"], "a retried roll keeps its result");
    let (status, paused) = post(&server, &aria, &format!("/api/games/{room}/pause"), json!({})).await;
    assert_eq!((status, paused["status"].as_str()), (200, Some("PAUSED")), "{paused}");
    let (status, resumed) = post(&server, &aria, &format!("/api/games/{room}/resume"), json!({})).await;
    assert_eq!(
        (status, resumed["status"].as_str(), resumed["phase"].as_str()),
        (200, Some("ACTIVE"), Some("TURN_INPUT"))
    );
    assert_eq!(post(&server, &cyd, &format!("/api/games/{room}/end"), json!({})).await.0, 403, "Cyd has no seat");
    let (status, ended) = post(&server, &aria, &format!("/api/games/{room}/end"), json!({})).await;
    assert_eq!((status, ended["status"].as_str(), ended["phase"].as_str()), (200, Some("COMPLETED"), Some("GAME_END")));
    assert!(ended["result"].as_str().unwrap().starts_with("Ended by Aria at turn 1."), "{ended}");
    assert_eq!(code(server.post_frame(&aria, &room, action("too late")).await), (409, "game.bad_state".into()));
    let rooms: Vec<Value> = server.get("/api/rooms", &aria).await.1.as_array().unwrap().clone();
    let listed = rooms.iter().find(|r| r["roomId"] == room.as_str()).unwrap();
    assert_eq!(listed["roomType"], "GAME", "game rooms are marked in the list");
}

#[tokio::test]
async fn a_turn_closes_when_its_timer_runs_out_and_the_narrator_answers_who_did_nothing() {
    let (server, _dir) = game_server(&[("DUNGEONTALK_GAME_TURN_SECS", "5")]).await;
    let (aria, _) = server.guest("Aria").await;
    let (_, game) = post(&server, &aria, "/api/games", json!({"worldType": "MODERN", "maxPlayers": 1})).await;
    let room = game["roomId"].as_str().unwrap().to_owned();
    let mut link = server.link(Transport::Ws, &aria, &room, Some(0)).await;
    link.join().await;
    post(&server, &aria, &format!("/api/games/{room}/start"), json!({})).await;
    let mut log = Vec::new();
    let opened = until(&mut link, &mut log, |f| turn_is(f, 1, "TURN_INPUT")).await;
    let closed = until(&mut link, &mut log, |f| turn_is(f, 1, "AI_RESPONSE")).await;
    let (opened_at, closed_at) = (opened["endsAtMs"].as_u64().unwrap(), closed["createdAt"].as_str().unwrap());
    assert!(!closed_at.is_empty() && opened_at > 0);
    let gm = until(&mut link, &mut log, |f| f["type"] == "GM_MESSAGE").await;
    let said = gm["content"].as_str().unwrap();
    assert!(said.contains("Aria ") && !said.contains("Aria tries"), "Aria did nothing: {said}");
    until(&mut link, &mut log, |f| turn_is(f, 2, "TURN_INPUT")).await;
}

#[tokio::test]
async fn players_leave_the_queue_by_asking_or_by_closing_their_stream() {
    let (server, _dir) = game_server(&[]).await;
    let (aria, _) = server.guest("Aria").await;
    let (bo, _) = server.guest("Bo").await;
    assert_eq!(server.get("/api/matching", &aria).await.0, 404);
    post(&server, &aria, "/api/matching", json!({"worldType": "SF"})).await;
    // Another world is another queue.
    let (_, other) = post(&server, &bo, "/api/matching", json!({"worldType": "MODERN"})).await;
    assert_eq!((other["waiting"].as_u64(), other.get("roomId")), (Some(1), None));
    let (status, _) = {
        let resp = server.http.delete(format!("{}/api/matching", server.base)).bearer_auth(&aria).send().await.unwrap();
        (resp.status().as_u16(), ())
    };
    assert_eq!(status, 204);
    let (status, body) = server.get("/api/matching", &aria).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("match.not_queued")));
    // Bo's notification stream closes: after a moment Bo is out too.
    let (stream, _) = server.notifications(&bo).await;
    drop(stream);
    eventually(|| async {
        match server.get("/api/matching", &bo).await.0 {
            404 => Ok(()),
            s => Err(format!("still queued ({s})")),
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1)).await;
}
