//! `/ws?encoding=compact`: TALKs as compact binary frames that decode to the JSON socket's frames.

use dungeontalk_app::wire::compact::decode_talk;
use dungeontalk_app::wire::{RoomId, ServerFrame};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::support::TestServer;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(server: &TestServer, token: &str, room: &str, query: &str) -> Socket {
    let url = format!("{}/ws?token={token}&roomId={room}{query}", server.base.replace("http://", "ws://"));
    tokio_tungstenite::connect_async(url).await.expect("websocket handshake").0
}

/// Frames until `talks` TALKs came: (the frame as JSON, its size on the wire, whether it was binary).
async fn read_until_talks(socket: &mut Socket, room: &str, talks: usize) -> Vec<(Value, usize, bool)> {
    let mut out = Vec::new();
    while out.iter().filter(|(f, _, _): &&(Value, usize, bool)| f["type"] == "TALK").count() < talks {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("readable");
        match msg {
            Message::Text(t) => out.push((serde_json::from_str(&t).unwrap(), t.len(), false)),
            Message::Binary(b) => {
                let talk = decode_talk(&b, &RoomId(room.into())).expect("a compact TALK");
                out.push((serde_json::to_value(ServerFrame::Talk(talk)).unwrap(), b.len(), true));
            }
            _ => {}
        }
    }
    out
}

#[tokio::test]
async fn compact_sockets_get_talks_in_a_third_of_the_bytes_with_every_field_of_the_json() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[]).await;
    let (ta, _) = server.guest("Aria").await;
    let (tb, b_id) = server.guest("Bo").await;
    let room = server.room(&ta, "Crypt").await;
    let mut a = server.ws(&ta, &room, None).await;
    a.join().await;
    let mut b = server.ws(&tb, &room, None).await;
    b.join().await;
    a.next_of(&["JOIN"]).await;
    a.next_of(&["JOIN"]).await;
    a.talk("before Bo looks").await;
    a.send(json!({"type": "TALK", "content": "psst @Bo", "receiverId": b_id})).await;
    a.talk("anyone near the crypt?").await;
    let plain = a.events_until_talks(3).await;

    // Bo's compact socket: history on connect, then live.
    let mut compact = open(&server, &tb, &room, "&encoding=compact").await;
    let replayed = read_until_talks(&mut compact, &room, 3).await;
    a.talk("live now").await;
    let live = read_until_talks(&mut compact, &room, 1).await;
    let plain_live = a.events_until_talks(1).await;

    let talks: Vec<_> = replayed.iter().chain(&live).filter(|(f, _, _)| f["type"] == "TALK").collect();
    let expected: Vec<&Value> = plain.iter().chain(&plain_live).filter(|f| f["type"] == "TALK").collect();
    assert_eq!(talks.iter().map(|(f, _, _)| f).collect::<Vec<_>>(), expected, "the same TALKs, field for field");
    assert!(talks.iter().all(|(_, _, binary)| *binary), "every TALK is a binary frame");
    for ((_, size, _), json) in talks.iter().zip(&expected) {
        let json_size = json.to_string().len();
        assert!(size * 2 < json_size, "{size} compact bytes vs {json_size} of JSON");
    }
    let others: Vec<_> = replayed.iter().chain(&live).filter(|(f, _, _)| f["type"] != "TALK").collect();
    assert_eq!(others.first().map(|(f, _, _)| f["type"].clone()), Some(json!("CONNECTED")));
    assert!(others.iter().any(|(f, _, _)| f["type"] == "JOIN"), "JOINs come as before: {others:?}");
    assert!(others.iter().all(|(_, _, binary)| !binary), "everything but a TALK stays JSON text");
}

#[tokio::test]
async fn an_unknown_encoding_is_refused_before_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[]).await;
    let (token, _) = server.guest("Aria").await;
    let room = server.room(&token, "Crypt").await;
    assert_eq!(server.ws_refusal(&format!("token={token}&roomId={room}&encoding=xml")).await, 400);
    let mut json = open(&server, &token, &room, "&encoding=json").await;
    let hello = read_first(&mut json).await;
    assert_eq!(hello["type"], "CONNECTED", "json is the default, and may be named");
}

async fn read_first(socket: &mut Socket) -> Value {
    match tokio::time::timeout(std::time::Duration::from_secs(10), socket.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => serde_json::from_str(&t).unwrap(),
        other => panic!("a text frame expected: {other:?}"),
    }
}
