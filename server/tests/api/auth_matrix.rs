//! The auth matrix: every bad token and identity case on every transport gets the right status
//! and code, and a client can never choose who it is: the sender is always the token's member.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::accounts::signed_in;
use crate::link::{Outcome, Transport, on_every_transport};
use crate::support::{JWT_SECRET, TestServer, spawn};

fn forged(alg: jsonwebtoken::Algorithm, exp_from_now: i64, secret: &str) -> String {
    let now = jsonwebtoken::get_current_timestamp() as i64;
    let claims = json!({"sub": "guest-x", "nick": "X", "iat": now, "exp": now + exp_from_now, "jti": "j"});
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::new(alg), &claims, &key).unwrap()
}

/// Logs the token out: from now on it is refused as `auth.logged_out`.
async fn log_out(server: &TestServer, token: &str) -> String {
    server.log_out(token, None).await;
    token.to_owned()
}

/// Every token that must be refused, with the status and code it gets: none, malformed, signed
/// with another key, another algorithm or none, expired, and logged out (a member and a guest).
async fn bad_tokens(server: &TestServer) -> Vec<(Option<String>, u16, &'static str)> {
    use jsonwebtoken::Algorithm::{HS256, HS384};
    let payload = forged(HS256, 3600, JWT_SECRET).split('.').nth(1).unwrap().to_owned();
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    let (session, _) = signed_in(server, "mira").await;
    let member = log_out(server, session["accessToken"].as_str().unwrap()).await;
    let guest = log_out(server, &server.guest("Gil").await.0).await;
    let invalid = "auth.invalid_token";
    vec![
        (None, 400, "auth.missing_token"),
        (Some("garbage".into()), 401, invalid),
        (Some(forged(HS256, 3600, "another-secret-another-secret-another-1")), 401, invalid),
        (Some(forged(HS384, 3600, JWT_SECRET)), 401, invalid),
        (Some(unsigned), 401, invalid),
        (Some(forged(HS256, -3600, JWT_SECRET)), 401, "auth.expired"),
        (Some(member), 401, "auth.logged_out"),
        (Some(guest), 401, "auth.logged_out"),
    ]
}

/// A private room of `owner`'s: (roomId).
async fn private_room(server: &TestServer, owner: &str) -> String {
    let url = format!("{}/api/rooms", server.base);
    let resp = server.http.post(url).bearer_auth(owner).json(&json!({"name": "Vault", "private": true})).send();
    let resp = resp.await.unwrap();
    assert_eq!(resp.status(), 201);
    resp.json::<Value>().await.unwrap()["roomId"].as_str().unwrap().to_owned()
}

/// (status, code) of a response with an error body (an accepted stream's body is not read: it
/// would never end).
async fn refusal(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    if resp.status().is_success() {
        return (status, String::new());
    }
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    (status, body["code"].as_str().unwrap_or("").to_owned())
}

/// The status and code a transport's handshake gets with `token` for `room`.
async fn handshake(server: &TestServer, t: Transport, token: Option<&str>, room: &str) -> (u16, String) {
    let query = token.map_or(String::new(), |t| format!("token={t}"));
    let resp = match t {
        // A plain GET: a refusal comes before the upgrade, with a JSON body.
        Transport::Ws => server.http.get(format!("{}/ws?{query}&roomId={room}", server.base)).send().await.unwrap(),
        Transport::Sse => server.sse_with(room, &query, &[]).await,
        Transport::Poll => {
            server.http.get(format!("{}/api/rooms/{room}/poll?timeout=0&{query}", server.base)).send().await.unwrap()
        }
    };
    refusal(resp).await
}

/// What a `POST …/messages` (the sending half of SSE and polling) gets with `token` for `room`.
async fn post_status(server: &TestServer, token: Option<&str>, room: &str) -> (u16, String) {
    let mut req = server.http.post(format!("{}/api/rooms/{room}/messages", server.base));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    refusal(req.json(&json!({"type": "TALK", "content": "hi"})).send().await.unwrap()).await
}

async fn auth_failures(t: Transport) {
    let (server, _dir) = spawn(&[]).await;
    let (owner, _) = server.guest("Aria").await;
    let (stranger, stranger_id) = server.guest("Bo").await;
    let room = server.room(&owner, "Hall").await;
    let vault = private_room(&server, &owner).await;
    let mut cases: Vec<(Option<String>, String, u16, &str)> =
        bad_tokens(&server).await.into_iter().map(|(token, s, code)| (token, room.clone(), s, code)).collect();
    cases.push((Some(stranger.clone()), vault.clone(), 403, "room.forbidden"));
    cases.push((Some(owner.clone()), "no-such-room".into(), 404, "room.not_found"));
    if t == Transport::Ws {
        // Over SSE and polling the room is the path: there is no request without one.
        cases.push((Some(owner.clone()), String::new(), 400, "request.missing_param"));
    }
    for (token, room, status, code) in &cases {
        let got = handshake(&server, t, token.as_deref(), room).await;
        assert_eq!(got, (*status, (*code).to_owned()), "{t:?} handshake with {token:?} to {room:?}");
        if t != Transport::Ws {
            let got = post_status(&server, token.as_deref(), room).await;
            assert_eq!(got, (*status, (*code).to_owned()), "POST with {token:?} to {room:?}");
        }
    }
    // The 403 is about the invitation: once invited, the same token gets in.
    let url = format!("{}/api/rooms/{vault}/invitations", server.base);
    let resp = server.http.post(url).bearer_auth(&owner).json(&json!({"memberId": stranger_id})).send().await;
    assert_eq!(resp.unwrap().status(), 202);
    let mut link = server.link(t, &stranger, &vault, Some(0)).await;
    link.join().await;
    assert_eq!(link.talk("let me in").await, 2, "after the JOIN");
}

/// A client cannot say it is someone else, or somewhere else: `senderId`, `memberId`, nicknames
/// and `roomId` in a frame are ignored; the token and the handshake decide.
async fn the_sender_is_the_token_never_the_payload(t: Transport) {
    let (server, _dir) = spawn(&[]).await;
    let (ta, a_id) = server.guest("Aria").await;
    let (_, b_id) = server.guest("Bo").await;
    let room = server.room(&ta, "Hall").await;
    let elsewhere = server.room(&ta, "Elsewhere").await;
    let mut a = server.link(t, &ta, &room, Some(0)).await;
    let lies = json!({"senderId": b_id, "senderNickname": "Admin", "memberId": b_id, "nickname": "Admin",
                      "roomId": elsewhere});
    let with_lies = |mut frame: Value| {
        frame.as_object_mut().unwrap().extend(lies.as_object().unwrap().clone());
        frame
    };
    // (Over a WebSocket a JOIN is not answered; its stored event shows below.)
    assert!(matches!(a.send(with_lies(json!({"type": "JOIN"}))).await, Outcome::Accepted(_)));
    let talk = json!({"type": "TALK", "content": "hi", "messageId": Uuid::now_v7()});
    assert!(matches!(a.send(with_lies(talk)).await, Outcome::Accepted(Some(2))));
    let seen = a.events_until_talks(1).await;
    let stored = server.history(&ta, &room).await;
    assert_eq!(seen, stored, "live and stored agree");
    let who: Vec<(&str, &str, &str)> = stored
        .iter()
        .map(|e| {
            let id = e.get("senderId").unwrap_or(&e["memberId"]).as_str().unwrap();
            let nick = e.get("senderNickname").unwrap_or(&e["nickname"]).as_str().unwrap();
            (id, nick, e["roomId"].as_str().unwrap())
        })
        .collect();
    assert_eq!(who, vec![(a_id.as_str(), "Aria", room.as_str()); 2]);
    assert!(server.history(&ta, &elsewhere).await.is_empty(), "nothing went to the other room");
}

on_every_transport!(auth_failures, the_sender_is_the_token_never_the_payload);

/// The notification stream and the REST reads refuse the same tokens the same way, and a private
/// room is invisible to those not invited.
#[tokio::test]
async fn the_notification_stream_and_rest_reads_refuse_like_the_transports() {
    let (server, _dir) = spawn(&[]).await;
    for (token, status, code) in bad_tokens(&server).await {
        let query = token.as_deref().map_or(String::new(), |t| format!("?token={t}"));
        let resp = server.http.get(format!("{}/api/notifications/stream{query}", server.base)).send().await;
        let want = (status, code.to_owned());
        assert_eq!(refusal(resp.unwrap()).await, want, "notification stream with {token:?}");
        let mut req = server.http.get(format!("{}/api/rooms", server.base));
        if let Some(token) = &token {
            req = req.bearer_auth(token);
        }
        assert_eq!(refusal(req.send().await.unwrap()).await, want, "room list with {token:?}");
    }
    let (owner, _) = server.guest("Aria").await;
    let (stranger, _) = server.guest("Bo").await;
    let vault = private_room(&server, &owner).await;
    for path in ["messages", "presence"] {
        let (status, body) = server.get(&format!("/api/rooms/{vault}/{path}"), &stranger).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("room.forbidden")), "{path}");
        assert_eq!(server.get(&format!("/api/rooms/{vault}/{path}"), &owner).await.0, 200, "{path}");
    }
    assert_eq!(server.get("/api/rooms", &stranger).await.1, json!([]), "not listed for strangers");
    assert_eq!(server.get("/api/rooms", &owner).await.1[0]["roomId"], vault.as_str());
}
