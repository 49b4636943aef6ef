//! Seats: a room's capacity counts who is in it. Talking takes a seat (JOIN first), and a full
//! room keeps out everyone who holds none: at the door, and when it fills while they look on.

use serde_json::{Value, json};

use crate::link::{Outcome, Transport, on_every_transport};
use crate::sse::SseReader;
use crate::support::{TestServer, spawn};

/// Creates a room of `capacity` seats (0: unlimited) and returns its id.
async fn room_of(server: &TestServer, token: &str, capacity: u32) -> String {
    let url = format!("{}/api/rooms", server.base);
    let body = json!({"name": "Booth", "maxCapacity": capacity});
    let resp = server.http.post(url).bearer_auth(token).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    resp.json::<Value>().await.unwrap()["roomId"].as_str().unwrap().into()
}

/// The contents of the stored TALKs the token may see.
async fn talks(server: &TestServer, token: &str, room: &str) -> Vec<String> {
    let events = server.history(token, room).await;
    events.iter().filter(|e| e["type"] == "TALK").map(|e| e["content"].as_str().unwrap().to_owned()).collect()
}

/// A reader who never joined may look, but not talk: 403 `room.not_joined` (an ERROR frame
/// over WebSocket) until they JOIN, and again once they LEAVE; nothing refused is stored.
async fn talking_takes_a_seat(transport: Transport) {
    let (server, _dir) = spawn(&[]).await;
    let (host, _) = server.guest("Host").await;
    let (drifter, _) = server.guest("Drifter").await;
    let room = server.room(&host, "Tavern").await;
    let mut link = server.link(transport, &drifter, &room, Some(0)).await;
    let refused = Outcome::refused((transport != Transport::Ws).then_some(403), "room.not_joined");
    let talk = |content: &str| json!({"type": "TALK", "content": content});
    assert_eq!(link.send(talk("psst")).await, refused);
    link.join().await;
    link.talk("hello").await;
    assert!(matches!(link.send(json!({"type": "LEAVE"})).await, Outcome::Accepted(_)));
    if transport == Transport::Ws {
        // A LEAVE is not answered over WebSocket: its event says it is done.
        link.read_of(&["LEAVE"]).await;
    }
    assert_eq!(link.send(talk("still here?")).await, refused);
    assert_eq!(talks(&server, &host, &room).await, ["hello"]);
}

on_every_transport!(talking_takes_a_seat);

/// The status and error code of a GET with a token.
async fn get_code(server: &TestServer, path: &str, token: &str) -> (u16, String) {
    let (status, body) = server.get(path, token).await;
    (status, body["code"].as_str().unwrap_or("").to_owned())
}

#[tokio::test]
async fn a_full_room_keeps_out_readers_without_a_seat() {
    let (server, _dir) = spawn(&[]).await;
    let (host, _) = server.guest("Host").await;
    let (late, _) = server.guest("Late").await;
    let room = room_of(&server, &host, 1).await;
    let mut inside = server.link(Transport::Sse, &host, &room, Some(0)).await;
    inside.join().await;

    // Every way in to read is refused with 409 room.full: stream, poll, history, presence.
    let full = (409, "room.full".to_owned());
    assert_eq!(server.ws_refusal(&format!("token={late}&roomId={room}")).await, 409, "WebSocket handshake");
    let sse = server.sse_with(&room, &format!("token={late}"), &[]).await;
    assert_eq!(sse.status(), 409, "SSE handshake");
    assert_eq!(get_code(&server, &format!("/api/rooms/{room}/poll?timeout=100"), &late).await, full);
    assert_eq!(get_code(&server, &format!("/api/rooms/{room}/messages"), &late).await, full);
    assert_eq!(get_code(&server, &format!("/api/rooms/{room}/presence"), &late).await, full);
    let (status, body) = server.post_frame(&late, &room, json!({"type": "JOIN"})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("room.full")));

    // The member inside reads and talks as before.
    inside.talk("only me").await;
    assert_eq!(talks(&server, &host, &room).await, ["only me"]);
    assert_eq!(server.get(&format!("/api/rooms/{room}/presence"), &host).await.0, 200);

    // A seat frees up: the door opens again.
    assert!(matches!(inside.send(json!({"type": "LEAVE"})).await, Outcome::Accepted(_)));
    assert_eq!(talks(&server, &late, &room).await, ["only me"]);
    server.link(Transport::Ws, &late, &room, Some(0)).await;
}

/// Frames until an ERROR (returned); fails on a TALK: nothing said after the room filled may
/// reach a reader without a seat.
async fn until_error(mut next: impl AsyncFnMut() -> Value) -> Value {
    loop {
        let frame = next().await;
        assert_ne!(frame["type"], "TALK", "a reader without a seat heard {frame}");
        if frame["type"] == "ERROR" {
            return frame;
        }
    }
}

#[tokio::test]
async fn readers_without_a_seat_are_shown_out_when_the_room_fills() {
    let (server, _dir) = spawn(&[]).await;
    let (host, _) = server.guest("Host").await;
    let (watcher, _) = server.guest("Watcher").await;
    let room = room_of(&server, &host, 1).await;

    // The room has a free seat: a guest may look on over each transport without joining.
    let mut ws = server.link(Transport::Ws, &watcher, &room, Some(0)).await;
    let sse = server.sse_with(&room, &format!("token={watcher}&after=0"), &[]).await;
    assert_eq!(sse.status(), 200);
    let mut sse = SseReader::new(sse);
    assert_eq!(sse.next().await["type"], "CONNECTED");
    let mut poll = server.link(Transport::Poll, &watcher, &room, Some(0)).await;
    assert_eq!(poll.poll_once(100).await["events"], json!([]));

    // The host takes the only seat and says something.
    let mut inside = server.link(Transport::Sse, &host, &room, Some(0)).await;
    inside.join().await;
    inside.talk("for members only").await;

    // WebSocket: an ERROR room.full before anything said, then close 1008.
    let error = until_error(async || ws.read().await).await;
    assert_eq!(error["code"], "room.full", "{error}");
    assert_eq!(ws.close_code().await, Some(1008));
    // SSE: an error event, then the stream ends.
    let error = until_error(async || sse.next().await).await;
    assert_eq!(error["code"], "room.full", "{error}");
    assert!(!sse.raw_chunk().await, "the stream ends after the error");
    // Polling: 409 room.full (after, at most, the JOIN that filled the room).
    loop {
        match poll.try_poll(1000).await {
            Ok(batch) => assert!(batch["events"].as_array().unwrap().iter().all(|e| e["type"] != "TALK"), "{batch}"),
            Err((status, body)) => break assert_eq!((status, body["code"].as_str()), (409, Some("room.full"))),
        }
    }
}
