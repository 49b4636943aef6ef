//! The `http` game master against a local server that speaks the streaming chat-completions
//! format: its pieces become the turn's chunks and answer, and a server that stalls pauses the
//! game until a player resumes it, which asks again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

use crate::link::{Link, Transport};
use crate::support::spawn;

const REPLY: [&str; 6] = ["The vault", " door groans", " open. Aria", " steps inside", " while the alarm", " wakes."];

/// A chat-completions server: streams `REPLY` in pieces, or, while `stall` is set, answers the
/// head and then nothing.
struct FakeGm {
    port: u16,
    stall: Arc<AtomicBool>,
    asked: Arc<AtomicUsize>,
    last: Arc<std::sync::Mutex<String>>,
}

impl FakeGm {
    async fn start() -> FakeGm {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let gm = FakeGm { port, stall: Arc::default(), asked: Arc::default(), last: Arc::default() };
        let (stall, asked, last) = (gm.stall.clone(), gm.asked.clone(), gm.last.clone());
        tokio::spawn(async move {
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                let (stall, asked, last) = (stall.clone(), asked.clone(), last.clone());
                tokio::spawn(async move { serve(socket, &stall, &asked, &last).await });
            }
        });
        gm
    }
}

async fn serve(mut socket: TcpStream, stall: &AtomicBool, asked: &AtomicUsize, last: &std::sync::Mutex<String>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let body = loop {
        let n = socket.read(&mut chunk).await.unwrap();
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                .unwrap_or(0usize);
            if buf.len() >= end + 4 + len {
                break text[end + 4..].to_owned();
            }
        }
    };
    assert!(String::from_utf8_lossy(&buf).starts_with("POST /v1/chat/completions "));
    asked.fetch_add(1, Ordering::SeqCst);
    *last.lock().unwrap() = body;
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
    socket.write_all(head.as_bytes()).await.unwrap();
    if stall.load(Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        return;
    }
    socket.write_all(b"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n").await.unwrap();
    for piece in REPLY {
        let line = json!({"choices": [{"delta": {"content": piece}}]});
        socket.write_all(format!("data: {line}\n\n").as_bytes()).await.unwrap();
    }
    socket.write_all(b"data: [DONE]\n\n").await.unwrap();
}

async fn until(link: &mut Link, stop: impl Fn(&Value) -> bool) -> Value {
    loop {
        let frame = link.read().await;
        if stop(&frame) {
            return frame;
        }
    }
}

fn action(content: &str) -> Value {
    json!({"type": "ACTION", "content": content, "messageId": Uuid::now_v7()})
}

#[tokio::test]
async fn the_http_game_master_streams_its_answer_and_a_stall_pauses_the_game_until_resumed() {
    let gm = FakeGm::start().await;
    let url = format!("http://127.0.0.1:{}", gm.port);
    let (server, _dir) = spawn(&[
        ("DUNGEONTALK_GM", "http"),
        ("DUNGEONTALK_GM_URL", &url),
        ("DUNGEONTALK_GM_MODEL", "test-model"),
        ("DUNGEONTALK_GM_TIMEOUT_SECS", "1"),
        ("DUNGEONTALK_GAME_TURNS", "2"),
    ])
    .await;
    let (aria, _) = server.guest("Aria").await;
    let create = server.http.post(format!("{}/api/games", server.base)).bearer_auth(&aria);
    let game: Value =
        create.json(&json!({"worldType": "SF", "maxPlayers": 1})).send().await.unwrap().json().await.unwrap();
    let room = game["roomId"].as_str().unwrap().to_owned();
    let mut link = server.link(Transport::Ws, &aria, &room, Some(0)).await;
    link.join().await;
    let control = |what: &str| {
        let req = server.http.post(format!("{}/api/games/{room}/{what}", server.base)).bearer_auth(aria.clone());
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(control("start").await, 200);
    until(&mut link, |f| f["type"] == "TURN" && f["phase"] == "TURN_INPUT").await;
    assert_eq!(server.post_frame(&aria, &room, action("crack the vault")).await.0, 202);
    let mut chunks = String::new();
    let answer = loop {
        let f = until(&mut link, |f| matches!(f["type"].as_str(), Some("GM_CHUNK" | "GM_MESSAGE"))).await;
        match f["type"].as_str() {
            Some("GM_CHUNK") => chunks.push_str(f["text"].as_str().unwrap()),
            _ => break f,
        }
    };
    assert_eq!(answer["content"], REPLY.concat(), "the server's answer, whole");
    assert_eq!(chunks, REPLY.concat(), "streamed as it came");
    let asked: Value = serde_json::from_str(&gm.last.lock().unwrap()).unwrap();
    assert_eq!((asked["model"].as_str(), asked["stream"].as_bool()), (Some("test-model"), Some(true)));
    let prompt = asked["messages"][1]["content"].as_str().unwrap();
    assert!(prompt.contains("Turn 1 of 2") && prompt.contains("Aria tries to crack the vault"), "{prompt}");

    // Turn 2: the server stalls past gm_timeout_secs: a SYSTEM line, and the game pauses.
    gm.stall.store(true, Ordering::SeqCst);
    until(&mut link, |f| f["type"] == "TURN" && f["turn"] == 2 && f["phase"] == "TURN_INPUT").await;
    assert_eq!(server.post_frame(&aria, &room, action("run for the shuttle")).await.0, 202);
    let system = until(&mut link, |f| f["type"] == "SYSTEM").await;
    assert!(system["content"].as_str().unwrap().contains("did not answer"), "{system}");
    let paused = until(&mut link, |f| f["type"] == "TURN").await;
    assert_eq!(
        (paused["status"].as_str(), paused["phase"].as_str(), paused["turn"].as_u64()),
        (Some("PAUSED"), Some("AI_RESPONSE"), Some(2))
    );
    // Resume asks again, and the turn gets its one answer.
    gm.stall.store(false, Ordering::SeqCst);
    let before = gm.asked.load(Ordering::SeqCst);
    assert_eq!(control("resume").await, 200);
    let again = until(&mut link, |f| f["type"] == "GM_MESSAGE").await;
    assert_eq!((again["turn"].as_u64(), again["content"].as_str()), (Some(2), Some(REPLY.concat().as_str())));
    assert_eq!(gm.asked.load(Ordering::SeqCst), before + 1);
    until(&mut link, |f| f["type"] == "GAME_END").await;
    let history = server.history(&aria, &room).await;
    assert_eq!(history.iter().filter(|f| f["type"] == "GM_MESSAGE").count(), 2, "one answer per turn");
}
