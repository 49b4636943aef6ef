//! One conformance suite, run over each transport: WebSocket, SSE + POST, long polling + POST.
//! Every scenario is written once against [`Link`] and instantiated per transport below.

use serde_json::{Value, json};

use crate::link::{Outcome, Transport};
use crate::support::{TestServer, seqs};

/// A JWT secret the tests know, so they can forge expired and wrongly signed tokens.
const SECRET: &str = "conformance-secret-conformance-secret-0123";

async fn spawn(env: &[(&str, &str)]) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![("DUNGEONTALK_JWT_SECRET", SECRET)];
    all.extend_from_slice(env);
    (TestServer::spawn(dir.path(), &all).await, dir)
}

fn contents(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["content"].as_str()).collect()
}

async fn join_and_talk_in_one_order(t: Transport) {
    let (server, _dir) = spawn(&[]).await;
    let (ta, _) = server.guest("Aria").await;
    let (tb, _) = server.guest("Bo").await;
    let room = server.room(&ta, "Crypt").await;
    let mut a = server.link(t, &ta, &room, None).await;
    let mut b = server.link(t, &tb, &room, None).await;
    a.join().await;
    b.join().await;
    for i in 0..10 {
        a.talk(&format!("a{i}")).await;
        b.talk(&format!("b{i}")).await;
    }
    let seen_a = a.events_until_talks(20).await;
    let seen_b = b.events_until_talks(20).await;
    assert_eq!(seen_a, seen_b, "both clients see the same events in the same order");
    assert_eq!(seqs(&seen_a), (1..=22).collect::<Vec<_>>(), "two JOINs and 20 TALKs, no gap");
    assert_eq!(seen_a.iter().filter(|e| e["type"] == "JOIN").count(), 2);
    let from_a: Vec<&str> = contents(&seen_a).into_iter().filter(|c| c.starts_with('a')).collect();
    assert_eq!(from_a, (0..10).map(|i| format!("a{i}")).collect::<Vec<_>>());
}

async fn history_on_join(t: Transport) {
    let (server, _dir) = spawn(&[("DUNGEONTALK_HISTORY_ON_JOIN", "3")]).await;
    let (ta, _) = server.guest("Aria").await;
    let room = server.room(&ta, "Hall").await;
    let mut writer = server.link(Transport::Ws, &ta, &room, Some(0)).await;
    for i in 0..5 {
        writer.talk(&format!("m{i}")).await;
    }
    let (tb, _) = server.guest("Bo").await;
    let mut late = server.link(t, &tb, &room, None).await;
    assert_eq!(contents(&late.events_until_talks(3).await), ["m2", "m3", "m4"], "the 3 newest, oldest first");
    writer.talk("live").await;
    assert_eq!(contents(&late.events_until_talks(1).await), ["live"], "then live, nothing repeated");
}

async fn resume_after_a_forced_disconnect(t: Transport) {
    let (server, _dir) = spawn(&[]).await;
    let (ta, _) = server.guest("Aria").await;
    let (tb, _) = server.guest("Bo").await;
    let room = server.room(&ta, "Hall").await;
    let mut a = server.link(t, &ta, &room, Some(0)).await;
    let mut b = server.link(Transport::Ws, &tb, &room, Some(0)).await;
    for i in 0..5 {
        b.talk(&format!("before{i}")).await;
    }
    let last = *seqs(&a.events_until_talks(5).await).last().unwrap();
    a.drop_link();
    for i in 0..7 {
        b.talk(&format!("gap{i}")).await;
    }
    let mut a = server.link(t, &ta, &room, Some(last)).await;
    b.talk("after").await;
    let resumed = a.events_until_talks(8).await;
    assert_eq!(seqs(&resumed), ((last + 1)..=(last + 8)).collect::<Vec<_>>(), "no gap, no duplicate");
    let mut want: Vec<String> = (0..7).map(|i| format!("gap{i}")).collect();
    want.push("after".into());
    assert_eq!(contents(&resumed), want);
}

async fn frame_limit_and_bad_frames(t: Transport) {
    let (server, _dir) = spawn(&[]).await;
    let (ta, _) = server.guest("Aria").await;
    let room = server.room(&ta, "Hall").await;
    let mut a = server.link(t, &ta, &room, Some(0)).await;
    let http_status = |s: u16| (t != Transport::Ws).then_some(s);
    let huge = json!({"type": "TALK", "content": "x".repeat(128 * 1024)}).to_string();
    let refused = |status, code: &str| Outcome::Refused { status, code: code.into() };
    assert_eq!(a.send_text(huge).await, refused(http_status(413), "chat.frame_too_large"));
    assert_eq!(a.send_text("{not json".into()).await, refused(http_status(400), "chat.bad_frame"));
    let too_long = json!({"type": "TALK", "content": "x".repeat(2001)});
    assert_eq!(a.send(too_long).await, refused(http_status(400), "chat.too_long"));
    assert_eq!(a.send(json!({"type": "TALK", "content": " "})).await, refused(http_status(400), "chat.empty"));
    assert_eq!(a.talk("still here").await, 1, "nothing refused was stored, and the link still works");
    assert_eq!(contents(&a.events_until_talks(1).await), ["still here"]);
}

/// The status a transport's handshake gets with `token` for `room`.
async fn handshake_status(server: &TestServer, t: Transport, token: Option<&str>, room: &str) -> (u16, String) {
    let query = token.map_or(String::new(), |t| format!("token={t}"));
    let resp = match t {
        Transport::Ws => {
            let url = format!("{}/ws?{query}&roomId={room}", server.base);
            // A plain GET: a refusal comes before the upgrade, with a JSON body.
            server.http.get(url).send().await.unwrap()
        }
        Transport::Sse => server.sse_with(room, &query, &[]).await,
        Transport::Poll => {
            let url = format!("{}/api/rooms/{room}/poll?timeout=0&{query}", server.base);
            server.http.get(url).send().await.unwrap()
        }
    };
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    (status, body["code"].as_str().unwrap_or("").to_owned())
}

fn forged(alg: jsonwebtoken::Algorithm, exp_from_now: i64, secret: &str) -> String {
    let now = jsonwebtoken::get_current_timestamp() as i64;
    let claims = json!({"sub": "guest-x", "nick": "X", "iat": now, "exp": now + exp_from_now, "jti": "j"});
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::new(alg), &claims, &key).unwrap()
}

async fn auth_failures(t: Transport) {
    use jsonwebtoken::Algorithm::{HS256, HS384};
    let (server, _dir) = spawn(&[]).await;
    let (good, _) = server.guest("Aria").await;
    let room = server.room(&good, "Hall").await;
    let unsigned =
        format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", forged(HS256, 3600, SECRET).split('.').nth(1).unwrap());
    let cases: Vec<(Option<String>, &str, u16, &str)> = vec![
        (None, &room, 400, "auth.missing_token"),
        (Some("garbage".into()), &room, 401, "auth.invalid_token"),
        (Some(forged(HS256, -3600, SECRET)), &room, 401, "auth.expired"),
        (Some(forged(HS256, 3600, "another-secret-another-secret-another-1")), &room, 401, "auth.invalid_token"),
        (Some(forged(HS384, 3600, SECRET)), &room, 401, "auth.invalid_token"),
        (Some(unsigned), &room, 401, "auth.invalid_token"),
        (Some(good.clone()), "no-such-room", 404, "room.not_found"),
    ];
    for (token, room, status, code) in &cases {
        let got = handshake_status(&server, t, token.as_deref(), room).await;
        assert_eq!(got, (*status, (*code).to_owned()), "{t:?} handshake with {token:?} to {room}");
        if t != Transport::Ws {
            // The POST that goes with SSE and polling refuses the same way.
            let mut req = server.http.post(format!("{}/api/rooms/{room}/messages", server.base));
            if let Some(token) = token {
                req = req.bearer_auth(token);
            }
            let resp = req.json(&json!({"type": "TALK", "content": "hi"})).send().await.unwrap();
            let got_status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap();
            assert_eq!((got_status, body["code"].as_str()), (*status, Some(*code)), "POST with {token:?}");
        }
    }
}

macro_rules! on_every_transport {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use crate::link::Transport;
            #[tokio::test]
            async fn websocket() { super::$scenario(Transport::Ws).await }
            #[tokio::test]
            async fn sse_and_post() { super::$scenario(Transport::Sse).await }
            #[tokio::test]
            async fn long_poll_and_post() { super::$scenario(Transport::Poll).await }
        }
    )*};
}

on_every_transport!(
    join_and_talk_in_one_order,
    history_on_join,
    resume_after_a_forced_disconnect,
    frame_limit_and_bad_frames,
    auth_failures,
);

#[tokio::test]
async fn switching_transport_mid_conversation_loses_and_repeats_nothing() {
    let (server, _dir) = spawn(&[]).await;
    let (ta, _) = server.guest("Aria").await;
    let (tb, _) = server.guest("Bo").await;
    let room = server.room(&ta, "Hall").await;
    let total = 60;
    let mut b = server.link(Transport::Ws, &tb, &room, Some(0)).await;
    let talker = tokio::spawn(async move {
        for i in 0..total {
            b.talk(&format!("b{i:02}")).await;
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    });
    let mut seen: Vec<Value> = Vec::new();
    let plan = [Transport::Ws, Transport::Sse, Transport::Poll, Transport::Ws, Transport::Sse, Transport::Poll];
    for (i, t) in plan.iter().enumerate() {
        let after = seen.last().map_or(0, |e| e["seq"].as_u64().unwrap());
        let mut a = server.link(*t, &ta, &room, Some(after)).await;
        // Read a share of the conversation, then switch; the last leg reads to the end.
        let want = if i + 1 == plan.len() { total - seen.len() } else { 10 };
        seen.extend(a.events_until_talks(want).await);
        a.drop_link();
    }
    talker.await.unwrap();
    assert_eq!(seqs(&seen), (1..=total as u64).collect::<Vec<_>>(), "every event once, in order");
    let want: Vec<String> = (0..total).map(|i| format!("b{i:02}")).collect();
    assert_eq!(contents(&seen), want);
}
