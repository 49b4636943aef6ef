//! SockJS at `/ws-chat`, spoken by a client written from the SockJS protocol: `info`, STOMP over
//! `xhr` polling + `xhr_send`, `xhr_streaming` (its prelude, its response limit, one receiver at
//! a time), `eventsource`, the framed `websocket`, sessions private to their member, and a
//! session that ends once its client stops listening.

use std::time::Duration;

use dungeontalk_app::wire::stomp::{Command, Decoder, Frame, Item};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::support::{TestServer, spawn};

/// A SockJS session as sockjs-client makes one: `/ws-chat/{server}/{session}/…?token=`.
pub(crate) struct Session<'a> {
    server: &'a TestServer,
    url: String,
    token: String,
    decoder: Decoder,
}

/// A SockJS frame: `o`, `h`, `a[...]` (the messages) or `c[code, reason]`.
#[derive(Debug, PartialEq)]
pub(crate) enum Sj {
    Open,
    Beat,
    Array(Vec<String>),
    Close(u64, String),
}

fn parse(frame: &str) -> Sj {
    match frame.as_bytes().first() {
        Some(b'o') => Sj::Open,
        Some(b'h') => Sj::Beat,
        Some(b'a') => Sj::Array(serde_json::from_str(&frame[1..]).expect("a JSON array of strings")),
        Some(b'c') => {
            let v: Value = serde_json::from_str(&frame[1..]).unwrap();
            Sj::Close(v[0].as_u64().unwrap(), v[1].as_str().unwrap().to_owned())
        }
        _ => panic!("not a SockJS frame: {frame:?}"),
    }
}

impl<'a> Session<'a> {
    pub(crate) fn new(server: &'a TestServer, token: &str, id: &str) -> Self {
        let url = format!("{}/ws-chat/000/{id}", server.base);
        Session { server, url, token: token.to_owned(), decoder: Decoder::new(1 << 20) }
    }

    pub(crate) async fn xhr(&self) -> Sj {
        let resp = self.server.http.post(format!("{}/xhr?token={}", self.url, self.token)).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "application/javascript; charset=UTF-8");
        let text = resp.text().await.unwrap();
        assert!(text.ends_with('\n'), "{text:?}");
        parse(text.trim_end())
    }

    async fn send_raw(&self, body: &str) -> u16 {
        let url = format!("{}/xhr_send?token={}", self.url, self.token);
        self.server.http.post(url).body(body.to_owned()).send().await.unwrap().status().as_u16()
    }

    pub(crate) async fn send(&self, frames: &[Frame]) {
        let data: Vec<String> = frames.iter().map(|f| String::from_utf8(f.encode()).unwrap()).collect();
        assert_eq!(self.send_raw(&serde_json::to_string(&data).unwrap()).await, 204);
    }

    /// STOMP frames out of SockJS messages (heart-beats skipped).
    fn stomp(&mut self, messages: &[String]) -> Vec<Frame> {
        let mut out = Vec::new();
        for m in messages {
            for item in self.decoder.push(m.as_bytes()).unwrap() {
                if let Item::Frame(f) = item {
                    out.push(f);
                }
            }
        }
        out
    }

    /// Polls until a STOMP frame satisfies `want`; returns every frame up to it.
    pub(crate) async fn poll_until(&mut self, want: impl Fn(&Frame) -> bool) -> Vec<Frame> {
        let mut seen = Vec::new();
        for _ in 0..50 {
            if let Sj::Array(m) = self.xhr().await {
                seen.extend(self.stomp(&m));
                if seen.iter().any(&want) {
                    return seen;
                }
            }
        }
        panic!("no such frame; saw {seen:?}");
    }
}

pub(crate) fn connect() -> Frame {
    Frame::new(Command::Connect).header("accept-version", "1.1,1.2").header("heart-beat", "0,0")
}

pub(crate) fn chat(room: &str, kind: &str, content: &str, receipt: &str) -> Frame {
    let body = json!({"type": kind, "roomId": room, "senderId": "forged", "content": content}).to_string();
    Frame::new(Command::Send).header("destination", "/pub/chat/send").header("receipt", receipt).body(body)
}

pub(crate) fn subscribe(id: &str, destination: &str) -> Frame {
    Frame::new(Command::Subscribe).header("id", id).header("destination", destination)
}

pub(crate) fn talk_of(f: &Frame) -> Option<String> {
    let v: Value = serde_json::from_slice(&f.body).ok()?;
    (f.command == Command::Message && v["type"] == "TALK").then(|| v["content"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn info_and_preflight_answer_as_sockjs_clients_expect() {
    let (server, _dir) = spawn(&[]).await;
    let resp =
        server.http.get(format!("{}/ws-chat/info", server.base)).header("Origin", "http://game.example").send().await;
    let resp = resp.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["access-control-allow-origin"], "http://game.example");
    assert_eq!(resp.headers()["access-control-allow-credentials"], "true");
    assert!(resp.headers()["cache-control"].to_str().unwrap().contains("no-store"));
    let info: Value = resp.json().await.unwrap();
    assert_eq!((info["websocket"].as_bool(), info["cookie_needed"].as_bool()), (Some(true), Some(false)));
    assert!(info["entropy"].is_u64());
    let pre = server.http.request(reqwest::Method::OPTIONS, format!("{}/ws-chat/000/abc/xhr_send", server.base));
    let pre = pre.header("Access-Control-Request-Headers", "content-type").send().await.unwrap();
    assert_eq!(pre.status(), 204);
    assert_eq!(pre.headers()["access-control-allow-headers"], "content-type");
    assert!(pre.headers()["access-control-allow-methods"].to_str().unwrap().contains("POST"));
    // Every transport wants the handshake's token; ids with dots are no session ids.
    let bare = server.http.post(format!("{}/ws-chat/000/abc/xhr", server.base)).send().await.unwrap();
    assert_eq!(bare.status(), 400);
    let (aria, _) = server.guest("Aria").await;
    let dotted = server.http.post(format!("{}/ws-chat/000/a.b/xhr?token={aria}", server.base)).send().await.unwrap();
    assert_eq!(dotted.status(), 404);
}

#[tokio::test]
async fn stomp_runs_over_xhr_polling_and_streaming() {
    let (server, _dir) = spawn(&[("DUNGEONTALK_SOCKJS_RESPONSE_LIMIT_BYTES", "4096")]).await;
    let (aria, aria_id) = server.guest("Aria").await;
    let room = server.room(&aria, "Tavern").await;
    let mut s = Session::new(&server, &aria, "s1");
    // Nothing to send to before a receiver opened the session.
    assert_eq!(s.send_raw(r#"["x"]"#).await, 404);
    assert_eq!(s.xhr().await, Sj::Open);
    s.send(&[connect()]).await;
    let got = s.poll_until(|f| f.command == Command::Connected).await;
    assert_eq!(got[0].get("user-name"), Some(aria_id.as_str()));
    s.send(&[subscribe("r", &format!("/sub/chat/room/{room}")), subscribe("e", "/user/queue/errors")]).await;
    s.send(&[chat(&room, "JOIN", "", "j"), chat(&room, "TALK", "over polling", "t")]).await;
    let got = s.poll_until(|f| talk_of(f).is_some()).await;
    assert_eq!(got.iter().filter_map(talk_of).collect::<Vec<_>>(), ["over polling"]);
    // Bad bodies are refused with a code; the session goes on.
    assert_eq!(s.send_raw("[1,2]").await, 400);
    assert_eq!(s.send_raw("").await, 400);

    // Another member cannot reach this session by its id.
    let (bo, _) = server.guest("Bo").await;
    let intruder = Session::new(&server, &bo, "s1");
    assert_eq!(intruder.send_raw(r#"["SEND\n\n\u0000"]"#).await, 404);

    // A stream: the 2 KiB prelude, then frames until the response limit, then the client's next
    // request picks up the same session.
    let url = format!("{}/xhr_streaming?token={aria}", s.url);
    let mut stream = server.http.post(&url).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    // While it is attached, a second receiver is told another connection is open.
    assert_eq!(s.xhr().await, Sj::Close(2010, "Another connection still open".into()));
    let talks: Vec<Frame> = (0..40).map(|i| chat(&room, "TALK", &format!("{i:02} {}", "x".repeat(100)), "r")).collect();
    s.send(&talks).await;
    let mut body = String::new();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(10), stream.chunk()).await.unwrap().unwrap() {
        body.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let (prelude, rest) = body.split_once('\n').unwrap();
    assert_eq!(prelude, "h".repeat(2048));
    let mut seen = Vec::new();
    for line in rest.lines() {
        if let Sj::Array(m) = parse(line) {
            seen.extend(s.stomp(&m).iter().filter_map(talk_of));
        }
    }
    // The stream ended by itself (else the wait above times out): the rest comes by polling.
    while seen.len() < 40 {
        seen.extend(s.poll_until(|f| talk_of(f).is_some()).await.iter().filter_map(talk_of));
    }
    let want: Vec<String> = (0..40).map(|i| format!("{i:02} {}", "x".repeat(100))).collect();
    assert_eq!(seen, want, "each message once, in order, across responses");
}

#[tokio::test]
async fn eventsource_and_the_framed_websocket_carry_stomp() {
    let (server, _dir) = spawn(&[]).await;
    let (aria, _) = server.guest("Aria").await;
    let room = server.room(&aria, "Tavern").await;
    let s = Session::new(&server, &aria, "es");
    let mut events = server.http.get(format!("{}/eventsource?token={aria}", s.url)).send().await.unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream; charset=UTF-8");
    s.send(&[connect()]).await;
    let mut text = String::new();
    while !text.contains("CONNECTED") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), events.chunk()).await.unwrap().unwrap().unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(text.starts_with("\r\ndata: o\r\n\r\ndata: a[\"CONNECTED"), "{text:?}");

    let ws_url = format!("{}/ws-chat/000/ws1/websocket?token={aria}", server.base.replace("http://", "ws://"));
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(parse(first.to_text().unwrap()), Sj::Open);
    let frames = [connect(), subscribe("r", &format!("/sub/chat/room/{room}")), chat(&room, "JOIN", "", "j")];
    let data: Vec<String> = frames.iter().map(|f| String::from_utf8(f.encode()).unwrap()).collect();
    ws.send(Message::Text(serde_json::to_string(&data).unwrap().into())).await.unwrap();
    // One JSON string per message is allowed too.
    let talk = String::from_utf8(chat(&room, "TALK", "framed", "t").encode()).unwrap();
    ws.send(Message::Text(serde_json::to_string(&talk).unwrap().into())).await.unwrap();
    let mut decoder = Decoder::new(1 << 20);
    let mut talked = None;
    while talked.is_none() {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
        let Message::Text(t) = msg else { continue };
        if let Sj::Array(m) = parse(t.as_str()) {
            for item in m.iter().flat_map(|m| decoder.push(m.as_bytes()).unwrap()) {
                if let Item::Frame(f) = item {
                    talked = talked.or(talk_of(&f));
                }
            }
        }
    }
    assert_eq!(talked.as_deref(), Some("framed"));
    // The SSE-framed session sees the same room.
    s.send(&[subscribe("r", &format!("/sub/chat/room/{room}"))]).await;
    while !text.contains("framed") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), events.chunk()).await.unwrap().unwrap().unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

#[tokio::test]
async fn a_session_whose_client_stops_listening_ends() {
    let (server, _dir) = spawn(&[("DUNGEONTALK_SOCKJS_DISCONNECT_DELAY_MS", "300")]).await;
    let (aria, _) = server.guest("Aria").await;
    let mut s = Session::new(&server, &aria, "gone");
    assert_eq!(s.xhr().await, Sj::Open);
    s.send(&[connect()]).await;
    s.poll_until(|f| f.command == Command::Connected).await;
    let connections = || server.connections("sockjs");
    assert_eq!(connections().await, 1);
    // No receiver from now on: the session ends after the delay, and its id is free again.
    let mut ended = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if s.send_raw(r#"["\n"]"#).await == 404 {
            ended = true;
            break;
        }
    }
    assert!(ended, "the session ended");
    assert_eq!(connections().await, 0);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(s.xhr().await, Sj::Open, "a new session under the same id");
}
