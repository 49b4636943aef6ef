//! What only the HTTP transports have: idempotent POST, parked polls, `Last-Event-ID`, the stream
//! cookie, heartbeats, presence of request-based clients, and the notification stream.

use std::time::Duration;

use serde_json::{Value, json};

use crate::link::Transport;
use crate::sse::SseReader;
use crate::support::TestServer;

async fn post(server: &TestServer, token: &str, room: &str, frame: Value) -> (u16, Value) {
    server.post_frame(token, room, frame).await
}

#[tokio::test]
async fn a_retried_post_is_stored_once_and_the_sender_is_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[]).await;
    let (t, me) = server.guest("Aria").await;
    let room = server.room(&t, "Hall").await;
    assert_eq!(post(&server, &t, &room, json!({"type": "JOIN"})).await, (202, json!({"seq": 1})));
    assert_eq!(post(&server, &t, &room, json!({"type": "JOIN"})).await, (202, json!({"seq": null})), "idempotent");
    let id = "01890a5d-ac96-774b-bcce-b302099a8057";
    let frame = json!({"type": "TALK", "content": "once", "messageId": id, "senderId": "someone-else"});
    let first = post(&server, &t, &room, frame.clone()).await;
    let retry = post(&server, &t, &room, frame).await;
    assert_eq!(first, (202, json!({"messageId": id, "seq": 2})));
    assert_eq!(retry, first, "the retry gets the first answer");
    let (_, page) = server.get(&format!("/api/rooms/{room}/messages"), &t).await;
    let events: Vec<&Value> = page["events"].as_array().unwrap().iter().filter(|e| e["type"] == "TALK").collect();
    assert_eq!(events.len(), 1, "stored once");
    assert_eq!(
        (events[0]["senderId"].as_str(), events[0]["senderNickname"].as_str()),
        (Some(me.as_str()), Some("Aria"))
    );
}

#[tokio::test]
async fn a_parked_poll_is_woken_by_a_new_event_and_an_idle_one_times_out_empty() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[]).await;
    let (t, _) = server.guest("Aria").await;
    let room = server.room(&t, "Hall").await;
    assert_eq!(post(&server, &t, &room, json!({"type": "JOIN"})).await.0, 202);
    let mut idle = server.link(Transport::Poll, &t, &room, Some(1)).await;
    assert_eq!(idle.poll_once(200).await, json!({"events": [], "next": 1}), "timeout: an empty batch");
    let url = format!("{}/api/rooms/{room}/poll?after=1&timeout=20000", server.base);
    let parked = tokio::spawn(server.http.get(url).bearer_auth(&t).send());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!parked.is_finished(), "nothing to answer yet: the poll waits");
    post(&server, &t, &room, json!({"type": "TALK", "content": "wake up"})).await;
    let resp =
        tokio::time::timeout(Duration::from_secs(5), parked).await.expect("woken, not timed out").unwrap().unwrap();
    let batch: Value = resp.json().await.unwrap();
    assert_eq!((batch["events"][0]["content"].as_str(), batch["next"].as_u64()), (Some("wake up"), Some(2)));
}

#[tokio::test]
async fn a_poll_batch_is_capped_and_the_cursor_walks_through_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[("DUNGEONTALK_POLL_BATCH_MAX", "4")]).await;
    let (t, _) = server.guest("Aria").await;
    let room = server.room(&t, "Hall").await;
    assert_eq!(post(&server, &t, &room, json!({"type": "JOIN"})).await.0, 202);
    for i in 0..10 {
        post(&server, &t, &room, json!({"type": "TALK", "content": format!("m{i}")})).await;
    }
    let mut poller = server.link(Transport::Poll, &t, &room, Some(1)).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        let batch = poller.poll_once(1000).await;
        got.push((batch["events"].as_array().unwrap().len(), batch["next"].as_u64().unwrap()));
    }
    assert_eq!(got, [(4, 5), (4, 9), (2, 11)]);
}

#[tokio::test]
async fn sse_resumes_from_last_event_id_and_accepts_the_cookie() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[]).await;
    let resp = server
        .http
        .post(format!("{}/api/auth/guest", server.base))
        .json(&json!({"nickname": "Aria"}))
        .send()
        .await
        .unwrap();
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_owned();
    let t = resp.json::<Value>().await.unwrap()["accessToken"].as_str().unwrap().to_owned();
    let room = server.room(&t, "Hall").await;
    assert_eq!(post(&server, &t, &room, json!({"type": "JOIN"})).await.0, 202);
    for i in 0..5 {
        post(&server, &t, &room, json!({"type": "TALK", "content": format!("m{i}")})).await;
    }
    // The browser's reconnect: Last-Event-ID wins over a stale ?after=, the cookie carries the token.
    let resp = server.sse_with(&room, "after=0", &[("Cookie", &pair), ("Last-Event-ID", "3")]).await;
    assert_eq!(resp.status(), 200);
    let mut stream = SseReader::new(resp);
    assert_eq!(stream.next().await["type"], "CONNECTED");
    assert_eq!(stream.next().await["seq"], 4);
    assert_eq!(stream.next().await["seq"], 5);
    assert_eq!(stream.next().await["seq"], 6);
    // The cookie is for read-only streams: a POST needs the token itself.
    let url = format!("{}/api/rooms/{room}/messages", server.base);
    let resp = server.http.post(url).header("Cookie", &pair).json(&json!({"type": "JOIN"})).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let bad = server.sse_with(&room, &format!("token={t}"), &[("Last-Event-ID", "x")]).await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn an_idle_sse_stream_gets_heartbeat_comments() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[("DUNGEONTALK_SSE_HEARTBEAT_SECS", "1")]).await;
    let (t, _) = server.guest("Aria").await;
    let room = server.room(&t, "Hall").await;
    let mut resp = server.sse_with(&room, &format!("token={t}"), &[]).await;
    let mut text = String::new();
    while !text.contains(": keep-alive\n\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), resp.chunk()).await.expect("a heartbeat").unwrap();
        text.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
    }
    assert!(text.starts_with("retry: 1000\nevent: connected\n"), "{text}");
}

#[tokio::test]
async fn a_polling_client_leaves_once_it_stops_polling() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[("DUNGEONTALK_POLL_LINGER_MS", "1500")]).await;
    let (ta, _) = server.guest("Aria").await;
    let (tb, b_id) = server.guest("Bo").await;
    let room = server.room(&ta, "Hall").await;
    let mut watcher = server.link(Transport::Ws, &ta, &room, Some(0)).await;
    let mut poller = server.link(Transport::Poll, &tb, &room, Some(0)).await;
    poller.join().await;
    poller.poll_once(0).await;
    let (_, rooms) = server.get("/api/rooms", &ta).await;
    assert_eq!(rooms[0]["connectedCount"], 2, "a client that polls counts as connected");
    let join = watcher.read_of(&["JOIN", "LEAVE"]).await;
    assert_eq!((join["type"].as_str(), join["memberId"].as_str()), (Some("JOIN"), Some(b_id.as_str())));
    let leave = watcher.read_of(&["JOIN", "LEAVE"]).await;
    assert_eq!((leave["type"].as_str(), leave["memberId"].as_str()), (Some("LEAVE"), Some(b_id.as_str())));
    let (_, rooms) = server.get("/api/rooms", &ta).await;
    assert_eq!(rooms[0]["connectedCount"], 1);
}

#[tokio::test]
async fn mentions_and_invitations_reach_the_notification_stream_of_that_member_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[]).await;
    let (ta, a_id) = server.guest("Aria").await;
    let (tc, c_id) = server.guest("Cleo").await;
    let (td, _) = server.guest("Dax").await;
    let room = server.room(&ta, "Hall").await;
    let (mut cleo, hello) = server.notifications(&tc).await;
    assert_eq!(hello["memberId"], c_id.as_str());
    let (mut dax, _) = server.notifications(&td).await;
    // A mention names members who are in the room.
    post(&server, &tc, &room, json!({"type": "JOIN"})).await;
    post(&server, &ta, &room, json!({"type": "JOIN"})).await;
    post(&server, &ta, &room, json!({"type": "TALK", "content": "nobody"})).await;
    post(&server, &ta, &room, json!({"type": "TALK", "content": "hey @cleo, look"})).await;
    let mention = cleo.next().await;
    assert_eq!((mention["type"].as_str(), mention["content"].as_str()), (Some("MENTION"), Some("hey @cleo, look")));
    assert_eq!((mention["senderId"].as_str(), mention["seq"].as_u64()), (Some(a_id.as_str()), Some(4)));
    let url = format!("{}/api/rooms/{room}/invitations", server.base);
    let invite = |to: &str| server.http.post(&url).bearer_auth(&ta).json(&json!({"memberId": to})).send();
    let resp = invite(&c_id).await.unwrap();
    assert_eq!((resp.status().as_u16(), resp.json::<Value>().await.unwrap()), (202, json!({"delivered": true})));
    let inv = cleo.next().await;
    assert_eq!(
        (inv["type"].as_str(), inv["roomName"].as_str(), inv["fromNickname"].as_str()),
        (Some("INVITATION"), Some("Hall"), Some("Aria"))
    );
    let offline = invite("guest-nobody").await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(offline, json!({"delivered": false}));
    // Dax was neither mentioned nor invited: his stream has nothing but heartbeats.
    let quiet = tokio::time::timeout(Duration::from_millis(500), dax.next()).await;
    assert!(quiet.is_err(), "{quiet:?}");
}

/// A mention in a private room reaches the invited member of that nickname and nobody else who
/// took the same nickname; in any room, only members who are in it: nicknames are free and not
/// unique, so a mention is resolved to member ids when it is sent.
#[tokio::test]
async fn a_mention_never_reaches_someone_outside_the_room_who_took_the_nickname() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[]).await;
    let (ta, _) = server.guest("Aria").await;
    let (te, e_id) = server.guest("Eve").await;
    let (tx, _) = server.guest("eve").await;
    let (tc, _) = server.guest("Cy").await;
    let url = format!("{}/api/rooms", server.base);
    let body = json!({"name": "Vault", "private": true, "maxCapacity": 0});
    let created: Value =
        server.http.post(&url).bearer_auth(&ta).json(&body).send().await.unwrap().json().await.unwrap();
    let vault = created["roomId"].as_str().unwrap().to_owned();
    let invite = format!("{}/api/rooms/{vault}/invitations", server.base);
    let resp = server.http.post(&invite).bearer_auth(&ta).json(&json!({"memberId": e_id})).send().await.unwrap();
    assert_eq!(resp.status(), 202);
    post(&server, &ta, &vault, json!({"type": "JOIN"})).await;
    post(&server, &te, &vault, json!({"type": "JOIN"})).await;
    let (mut eve, _) = server.notifications(&te).await;
    let (mut impostor, _) = server.notifications(&tx).await;
    let hall = server.room(&ta, "Hall").await;
    let (mut cy, _) = server.notifications(&tc).await;
    post(&server, &ta, &vault, json!({"type": "TALK", "content": "the key is under the mat, @eve"})).await;
    post(&server, &ta, &hall, json!({"type": "TALK", "content": "@cy are you here?"})).await;
    let got = eve.next().await;
    assert_eq!((got["type"].as_str(), got["roomId"].as_str()), (Some("MENTION"), Some(vault.as_str())));
    assert_eq!(got["mentions"], json!([e_id]), "named by id");
    for (who, stream) in [("the other eve", &mut impostor), ("Cy, not in the Hall", &mut cy)] {
        let quiet = tokio::time::timeout(Duration::from_millis(500), stream.next()).await;
        assert!(quiet.is_err(), "{who} was told: {quiet:?}");
    }
}

/// Slow or silent clients cannot hold connections: a request whose headers do not arrive in time
/// is dropped, and so is an idle keep-alive connection; meanwhile everyone else is served.
#[tokio::test]
async fn slow_headers_and_idle_keep_alive_connections_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[("DUNGEONTALK_HTTP_HEADER_TIMEOUT_SECS", "1")]).await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        slow.push(s);
    }
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"), "the idle one got its answer");
    assert_eq!(server.http.get(format!("{}/healthz", server.base)).send().await.unwrap().status(), 200);
    let closed = |mut s: tokio::net::TcpStream| async move {
        let mut buf = [0u8; 512];
        loop {
            match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => {} // a 408 or the like before the close
                Err(_) => return false,
            }
        }
    };
    let all = futures::future::join_all(slow.into_iter().map(closed)).await;
    assert!(all.iter().all(|c| *c), "every half-sent request was dropped");
    assert!(closed(idle).await, "the idle keep-alive connection was closed");
}

/// The server raises its soft open-file limit to the hard one at start: with the common soft
/// default far below the clients it serves, connections beyond it are still accepted.
#[tokio::test]
async fn the_open_file_limit_is_raised_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_dungeontalk");
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -Sn 128 && exec "$0" --bind 127.0.0.1:0 --data-dir "$1""#)
        .arg(bin)
        .arg(dir.path())
        .env("DUNGEONTALK_JWT_SECRET", crate::support::JWT_SECRET)
        .env("DUNGEONTALK_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next_line().await.unwrap().unwrap();
    let base = line.rsplit(' ').next().unwrap().to_owned();
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id().unwrap())).unwrap();
    let soft: u64 = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(soft > 128, "raised from 128 to {soft}");
    let addr = base.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    for _ in 0..300 {
        held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    let resp = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(resp.status(), 200, "still serving with more connections than the old limit");
}
