//! STOMP 1.2 at `/ws-chat`, spoken by a client written from the spec (the shared codec): the
//! original client's flow, errors on `/user/queue/errors` with the connection kept, protocol
//! errors as ERROR then close, and a STOMP, a WebSocket and an SSE client agreeing on one room.

use std::time::Duration;

use dungeontalk_app::wire::stomp::{Command, Decoder, Frame, Item};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::link::Transport;
use crate::sse::SseReader;
use crate::support::{TestServer, spawn};

const WAIT: Duration = Duration::from_secs(10);

struct Stomp {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    decoder: Decoder,
    frames: std::collections::VecDeque<Frame>,
}

impl Stomp {
    /// Opens `/ws-chat?token=` offering the STOMP subprotocols, as stomp.js does; no CONNECT yet.
    async fn open(server: &TestServer, token: &str) -> Stomp {
        let url = format!("{}/ws-chat?token={token}", server.base.replace("http://", "ws://"));
        let mut req = url.into_client_request().unwrap();
        req.headers_mut().insert("Sec-WebSocket-Protocol", "v12.stomp, v11.stomp, v10.stomp".parse().unwrap());
        let (ws, resp) = tokio_tungstenite::connect_async(req).await.expect("handshake");
        assert_eq!(resp.headers()["sec-websocket-protocol"], "v12.stomp");
        Stomp { ws, decoder: Decoder::new(1 << 20), frames: Default::default() }
    }

    /// Opens and connects; returns the CONNECTED frame too.
    async fn connect(server: &TestServer, token: &str) -> (Stomp, Frame) {
        let mut c = Stomp::open(server, token).await;
        c.send(Frame::new(Command::Connect).header("accept-version", "1.1,1.2").header("host", "dt")).await;
        let connected = c.next().await;
        assert_eq!(connected.command, Command::Connected, "{connected:?}");
        (c, connected)
    }

    async fn send(&mut self, f: Frame) {
        self.ws.send(Message::Text(String::from_utf8(f.encode()).unwrap().into())).await.unwrap();
    }

    async fn send_raw(&mut self, text: &str) {
        self.ws.send(Message::Text(text.to_owned().into())).await.unwrap();
    }

    /// The next frame (heart-beats skipped); fails the test if none comes in time.
    async fn next(&mut self) -> Frame {
        loop {
            if let Some(f) = self.frames.pop_front() {
                return f;
            }
            let msg = tokio::time::timeout(WAIT, self.ws.next()).await.expect("a frame in time");
            let bytes = match msg.expect("open").unwrap() {
                Message::Text(t) => t.as_bytes().to_vec(),
                Message::Binary(b) => b.to_vec(),
                Message::Close(c) => panic!("closed: {c:?}"),
                _ => continue,
            };
            for item in self.decoder.push(&bytes).unwrap() {
                if let Item::Frame(f) = item {
                    self.frames.push_back(f);
                }
            }
        }
    }

    /// The next MESSAGE's JSON body whose type is one of `types`, with its frame.
    async fn message_of(&mut self, types: &[&str]) -> (Frame, Value) {
        loop {
            let f = self.next().await;
            if f.command != Command::Message {
                continue;
            }
            let body: Value = serde_json::from_slice(&f.body).unwrap();
            if types.contains(&body["type"].as_str().unwrap_or("")) {
                return (f, body);
            }
        }
    }

    async fn chat(&mut self, body: Value, receipt: Option<&str>) {
        let mut f = Frame::new(Command::Send).header("destination", "/pub/chat/send");
        if let Some(r) = receipt {
            f = f.header("receipt", r);
        }
        self.send(f.header("content-type", "application/json").body(body.to_string())).await;
    }

    async fn subscribe(&mut self, id: &str, destination: &str, receipt: &str) {
        let f = Frame::new(Command::Subscribe).header("id", id).header("destination", destination);
        self.send(f.header("receipt", receipt)).await;
    }

    /// Waits for the receipt (MESSAGEs before it are kept for later reads).
    async fn receipt(&mut self, id: &str) {
        let mut kept = Vec::new();
        loop {
            let f = self.next().await;
            if f.command == Command::Receipt && f.get("receipt-id") == Some(id) {
                break;
            }
            assert_ne!(f.command, Command::Error, "{f:?}");
            kept.push(f);
        }
        for f in kept.into_iter().rev() {
            self.frames.push_front(f);
        }
    }

    /// The close code after the server ended the connection.
    async fn closed(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next()).await.expect("closed in time") {
                Some(Ok(Message::Close(c))) => return c.map(|c| c.code.into()),
                Some(Ok(_)) => continue,
                None | Some(Err(_)) => return None,
            }
        }
    }
}

#[tokio::test]
async fn the_original_clients_flow_works_and_errors_reach_the_errors_queue() {
    let (server, _dir) = spawn(&[]).await;
    let (aria, aria_id) = server.guest("Aria").await;
    let room = server.room(&aria, "Tavern").await;
    let (mut c, connected) = Stomp::connect(&server, &aria).await;
    assert_eq!((connected.get("version"), connected.get("heart-beat")), (Some("1.2"), Some("30000,30000")));
    assert_eq!(connected.get("user-name"), Some(aria_id.as_str()));
    c.subscribe("sub-0", &format!("/sub/chat/room/{room}"), "r0").await;
    c.subscribe("sub-1", "/user/queue/errors", "r1").await;
    c.receipt("r0").await;
    c.receipt("r1").await;

    // The original's JOIN, with a forged senderId and a greeting the server ignores.
    let join = json!({"type": "JOIN", "roomId": room, "senderId": "someone-else", "content": "Aria joined."});
    c.chat(join, Some("j")).await;
    c.receipt("j").await;
    let (f, joined) = c.message_of(&["JOIN"]).await;
    assert_eq!((joined["memberId"].as_str(), joined["seq"].as_u64()), (Some(aria_id.as_str()), Some(1)));
    assert_eq!(f.get("subscription"), Some("sub-0"));
    assert_eq!(f.get("destination"), Some(format!("/sub/chat/room/{room}").as_str()));
    let talk = json!({"type": "TALK", "roomId": room, "senderId": "x", "content": "Hello!", "timestamp": "2024-01-01T00:00:00Z"});
    c.chat(talk, Some("t")).await;
    c.receipt("t").await;
    let (_, said) = c.message_of(&["TALK"]).await;
    assert_eq!((said["senderId"].as_str(), said["content"].as_str()), (Some(aria_id.as_str()), Some("Hello!")));

    // A refused SEND goes to /user/queue/errors; the connection stays.
    c.chat(json!({"type": "TALK", "roomId": room, "content": ""}), Some("bad")).await;
    let err = c.next().await;
    assert_eq!(
        (err.command, err.get("subscription"), err.get("receipt-id")),
        (Command::Message, Some("sub-1"), Some("bad"))
    );
    let body: Value = serde_json::from_slice(&err.body).unwrap();
    assert_eq!(body["code"], "chat.empty", "{body}");
    // So does a subscription to a room that does not exist.
    c.subscribe("sub-2", "/sub/chat/room/no-such-room", "r2").await;
    let err = c.next().await;
    assert_eq!((err.get("subscription"), err.get("receipt-id")), (Some("sub-1"), Some("r2")));
    assert_eq!(serde_json::from_slice::<Value>(&err.body).unwrap()["code"], "room.not_found");
    c.chat(json!({"type": "TALK", "roomId": room, "content": "still here"}), Some("t2")).await;
    c.receipt("t2").await;

    // LEAVE, then DISCONNECT with a receipt: the receipt comes, then the close.
    c.chat(json!({"type": "LEAVE", "roomId": room}), None).await;
    c.send(Frame::new(Command::Disconnect).header("receipt", "bye")).await;
    c.receipt("bye").await;
    assert_eq!(c.closed().await, Some(1000));
    let stored: Vec<String> =
        server.history(&aria, &room).await.iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(stored, ["JOIN", "TALK", "TALK", "LEAVE"]);
}

#[tokio::test]
async fn protocol_errors_get_an_error_frame_then_the_close() {
    let (server, _dir) = spawn(&[]).await;
    let (aria, _) = server.guest("Aria").await;
    let room = server.room(&aria, "Tavern").await;
    // Anything before CONNECT.
    let mut c = Stomp::open(&server, &aria).await;
    c.send(Frame::new(Command::Subscribe).header("id", "0").header("destination", "/user/queue/errors")).await;
    let err = c.next().await;
    assert_eq!((err.command, err.get("message")), (Command::Error, Some("not connected")));
    assert_eq!(c.closed().await, Some(1000));
    // A version we do not speak.
    let mut c = Stomp::open(&server, &aria).await;
    c.send(Frame::new(Command::Connect).header("accept-version", "1.0")).await;
    let err = c.next().await;
    assert_eq!((err.command, err.get("version")), (Command::Error, Some("1.2")));
    // Bytes that are no frame (an escape 1.2 does not define).
    let (mut c, _) = Stomp::connect(&server, &aria).await;
    c.send_raw("SEND\ndestination:/pub/chat/send\nbad:\\t\n\n{}\0").await;
    let err = c.next().await;
    assert_eq!((err.command, err.get("message")), (Command::Error, Some("malformed frame")));
    assert!(String::from_utf8_lossy(&err.body).contains("escape"), "{err:?}");
    assert_eq!(c.closed().await, Some(1000));
    // Without an errors subscription a refusal can only be an ERROR, which ends the connection.
    let (mut c, _) = Stomp::connect(&server, &aria).await;
    c.chat(json!({"type": "TALK", "roomId": room, "content": "not joined yet"}), Some("t")).await;
    let err = c.next().await;
    assert_eq!(
        (err.command, err.get("message"), err.get("receipt-id")),
        (Command::Error, Some("room.not_joined"), Some("t"))
    );
}

/// One room, three transports: the STOMP client, a native WebSocket client and an SSE client see
/// the same messages in the same order; a subscription can resume after a seq; a private room
/// is refused per subscription.
#[tokio::test]
async fn stomp_websocket_and_sse_clients_see_one_order() {
    let (server, _dir) = spawn(&[]).await;
    let (aria, _) = server.guest("Aria").await;
    let (bo, _) = server.guest("Bo").await;
    let (cleo, _) = server.guest("Cleo").await;
    let room = server.room(&aria, "Crossroads").await;
    let (mut a, _) = Stomp::connect(&server, &aria).await;
    a.subscribe("room", &format!("/sub/chat/room/{room}"), "s").await;
    a.subscribe("errors", "/user/queue/errors", "e").await;
    a.receipt("e").await;
    a.chat(json!({"type": "JOIN", "roomId": room}), Some("j")).await;
    a.receipt("j").await;
    let mut b = server.link(Transport::Ws, &bo, &room, Some(0)).await;
    let mut c = server.link(Transport::Sse, &cleo, &room, Some(0)).await;
    b.join().await;
    c.join().await;
    for i in 0..5 {
        a.chat(json!({"type": "TALK", "roomId": room, "content": format!("stomp {i}")}), None).await;
        b.talk(&format!("ws {i}")).await;
        c.talk(&format!("sse {i}")).await;
    }
    let mut seen = [Vec::new(), Vec::new(), Vec::new()];
    while seen[0].len() < 15 {
        let (_, e) = a.message_of(&["TALK"]).await;
        seen[0].push((e["seq"].as_u64().unwrap(), e["content"].as_str().unwrap().to_owned()));
    }
    for (i, link) in [&mut b, &mut c].into_iter().enumerate() {
        while seen[i + 1].len() < 15 {
            let e = link.read_of(&["TALK"]).await;
            seen[i + 1].push((e["seq"].as_u64().unwrap(), e["content"].as_str().unwrap().to_owned()));
        }
    }
    assert_eq!(seen[0], seen[1], "STOMP and WebSocket agree");
    assert_eq!(seen[0], seen[2], "STOMP and SSE agree");

    // Resume: a second subscription from the seq of the fifth TALK gets the rest, in order.
    let from = seen[0][4].0;
    let sub =
        Frame::new(Command::Subscribe).header("id", "again").header("destination", format!("/sub/chat/room/{room}"));
    a.send(sub.header("resume-after", from.to_string()).header("receipt", "again")).await;
    a.receipt("again").await;
    let mut resumed = Vec::new();
    while resumed.len() < 10 {
        let (f, e) = a.message_of(&["TALK"]).await;
        if f.get("subscription") == Some("again") {
            resumed.push((e["seq"].as_u64().unwrap(), e["content"].as_str().unwrap().to_owned()));
        }
    }
    assert_eq!(resumed, seen[0][5..]);

    // A private room is refused per subscription; the connection goes on.
    let private = server.http.post(format!("{}/api/rooms", server.base)).bearer_auth(&bo);
    let vault: Value =
        private.json(&json!({"name": "Vault", "private": true})).send().await.unwrap().json().await.unwrap();
    a.subscribe("vault", &format!("/sub/chat/room/{}", vault["roomId"].as_str().unwrap()), "v").await;
    loop {
        let f = a.next().await;
        if f.get("subscription") == Some("errors") {
            assert_eq!(serde_json::from_slice::<Value>(&f.body).unwrap()["code"], "room.forbidden");
            break;
        }
    }
}

#[tokio::test]
async fn heart_beats_flow_at_the_negotiated_rate() {
    let (server, _dir) = spawn(&[("DUNGEONTALK_STOMP_HEARTBEAT_MS", "300")]).await;
    let (aria, _) = server.guest("Aria").await;
    let mut c = Stomp::open(&server, &aria).await;
    c.send(Frame::new(Command::Connect).header("accept-version", "1.2").header("heart-beat", "0,200")).await;
    let connected = c.next().await;
    assert_eq!(connected.get("heart-beat"), Some("300,300"));
    // Nothing else happens on this connection: what arrives now are heart-beats (bare EOLs).
    let mut beats = 0;
    let started = std::time::Instant::now();
    while beats < 3 {
        match tokio::time::timeout(WAIT, c.ws.next()).await.expect("a heart-beat in time") {
            Some(Ok(Message::Text(t))) if t.as_str() == "\n" => beats += 1,
            Some(Ok(Message::Ping(_))) => {}
            other => panic!("expected heart-beats, got {other:?}"),
        }
    }
    assert!(started.elapsed() < Duration::from_secs(5), "three beats at ~300 ms each");
}

/// A graceful stop says goodbye on every open connection before the process exits: WebSocket
/// close 1001, the SSE stream's end, STOMP's ERROR `unavailable` then the close.
#[tokio::test]
async fn a_graceful_stop_ends_every_open_connection_with_a_goodbye() {
    let (server, _dir) = spawn(&[]).await;
    let (token, _) = server.guest("Aria").await;
    let room = server.room(&token, "Hall").await;
    let mut ws = server.ws(&token, &room, Some(0)).await;
    let mut sse = SseReader::new(server.sse_with(&room, &format!("token={token}&after=0"), &[]).await);
    assert_eq!(sse.next().await["type"], "CONNECTED");
    let (mut stomp, _) = Stomp::connect(&server, &token).await;
    stomp.subscribe("sub-0", &format!("/sub/chat/room/{room}"), "r-0").await;
    stomp.receipt("r-0").await;

    server.terminate();
    assert_eq!(ws.close_code().await, Some(1001), "WebSocket: going away");
    let error = loop {
        let f = stomp.next().await;
        if f.command == Command::Error {
            break f;
        }
    };
    assert_eq!(error.get("message"), Some("unavailable"), "{error:?}");
    assert_eq!(stomp.closed().await, Some(1000), "STOMP: the ERROR, then the close");
    while sse.raw_chunk().await {}
    server.stop().await;
}
