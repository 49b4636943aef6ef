//! Accounts: register, login back-off and lockout, refresh rotation and reuse, logout.

use std::time::Duration;

use serde_json::{Value, json};

use crate::sse::SseReader;
use crate::support::TestServer;

/// What a POST answered: status, body, and the `Set-Cookie` name=value pairs.
async fn post(server: &TestServer, path: &str, body: Value, cookie: Option<&str>) -> (u16, Value, Vec<String>) {
    let mut req = server.http.post(format!("{}{path}", server.base)).json(&body);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let resp = req.send().await.unwrap();
    let cookies = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null), cookies)
}

fn refresh_of(cookies: &[String]) -> String {
    cookies.iter().find(|c| c.starts_with("dt_refresh=")).expect("a refresh cookie").clone()
}

/// Registers `name` (nickname the same) with the password `correct horse`.
pub async fn register(server: &TestServer, name: &str) {
    let body = json!({"name": name, "nickname": name, "password": "correct horse"});
    assert_eq!(post(server, "/api/auth/register", body, None).await.0, 201);
}

/// Registers `name` and logs in: (session, cookies).
pub async fn signed_in(server: &TestServer, name: &str) -> (Value, Vec<String>) {
    register(server, name).await;
    let (status, session, cookies) = login(server, name, "correct horse").await;
    assert_eq!(status, 200, "{session}");
    (session, cookies)
}

/// Logs in: (status, body, cookies).
pub async fn login(server: &TestServer, name: &str, password: &str) -> (u16, Value, Vec<String>) {
    post(server, "/api/auth/login", json!({"name": name, "password": password}), None).await
}

#[tokio::test]
async fn register_then_log_in_and_names_are_unique() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[]).await;
    let body = json!({"name": "Aria", "nickname": "Aria the Bold", "password": "correct horse"});
    let (status, created, _) = post(&server, "/api/auth/register", body.clone(), None).await;
    assert_eq!(
        (status, created["name"].as_str(), created["nickname"].as_str()),
        (201, Some("aria"), Some("Aria the Bold"))
    );
    let (status, err, _) = post(&server, "/api/auth/register", body, None).await;
    assert_eq!((status, err["code"].as_str()), (409, Some("auth.name_taken")));
    let short = json!({"name": "bo", "nickname": "Bo", "password": "correct horse"});
    assert_eq!(post(&server, "/api/auth/register", short, None).await.1["code"], "request.invalid");
    let weak = json!({"name": "bobby", "nickname": "Bo", "password": "short"});
    assert_eq!(post(&server, "/api/auth/register", weak, None).await.1["code"], "request.invalid");
    let (status, session, cookies) = login(&server, "ARIA", "correct horse").await;
    assert_eq!(status, 200);
    assert_eq!(session["memberId"], created["memberId"]);
    assert!(
        cookies.iter().any(|c| c.starts_with("dt_refresh=")) && cookies.iter().any(|c| c.starts_with("dt_access="))
    );
    let (status, _) = server.get("/api/rooms", session["accessToken"].as_str().unwrap()).await;
    assert_eq!(status, 200, "the access token works");
    let (status, err, _) = login(&server, "aria", "wrong horse").await;
    assert_eq!((status, err["code"].as_str()), (401, Some("auth.bad_credentials")));
    let (status, err, _) = login(&server, "nobody", "whatever1").await;
    assert_eq!((status, err["code"].as_str()), (401, Some("auth.bad_credentials")), "no hint that the name is unknown");
}

#[tokio::test]
async fn failed_logins_back_off_then_lock_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[("DUNGEONTALK_LOGIN_BACKOFF_MS", "300")]).await;
    register(&server, "aria").await;
    register(&server, "bobby").await;
    assert_eq!(login(&server, "aria", "wrong").await.0, 401);
    // Too soon after a failure: refused at once, even with the right password, with the wait.
    let (status, err, _) = login(&server, "aria", "correct horse").await;
    assert_eq!((status, err["code"].as_str()), (429, Some("auth.locked")));
    let wait = err["retryAfterMs"].as_u64().unwrap();
    assert!(wait > 0 && wait <= 300, "{wait}");
    tokio::time::sleep(Duration::from_millis(wait + 50)).await;
    assert_eq!(login(&server, "aria", "correct horse").await.0, 200, "after the wait, the right password works");
    // Five failures in a row lock the account for 10 minutes. A try during a back-off (which
    // doubles: 300, 600, 1200, 2400 ms) is refused with the wait and does not count: wait it out.
    let mut failures = 0;
    let last = loop {
        let (status, err, _) = login(&server, "aria", "wrong").await;
        match (status, err["retryAfterMs"].as_u64()) {
            (401, _) => failures += 1,
            (429, Some(wait)) if wait < 60_000 => tokio::time::sleep(Duration::from_millis(wait + 20)).await,
            _ => break (status, err),
        }
    };
    assert_eq!(failures, 4, "the fifth failure is the lock: {last:?}");
    assert_eq!((last.0, last.1["code"].as_str()), (429, Some("auth.locked")), "{last:?}");
    assert!(last.1["retryAfterMs"].as_u64().unwrap() > 590_000, "locked for 10 minutes");
    assert_eq!(login(&server, "aria", "correct horse").await.0, 429, "locked even for the right password");
    assert_eq!(login(&server, "bobby", "correct horse").await.0, 200, "other accounts are not affected");
}

/// Two tabs renewing at once present the same refresh token: within the grace window both get a
/// session; after it, the old token again is reuse and ends the whole login.
#[tokio::test]
async fn refresh_rotates_two_tabs_may_race_and_a_later_reuse_revokes_the_family() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[("DUNGEONTALK_REFRESH_GRACE_SECS", "2")]).await;
    let (_, cookies) = signed_in(&server, "aria").await;
    let first = refresh_of(&cookies);
    let (status, session, cookies) = post(&server, "/api/auth/refresh", json!({}), Some(&first)).await;
    assert_eq!(status, 200);
    let second = refresh_of(&cookies);
    assert_ne!(first, second, "rotated");
    assert_eq!(server.get("/api/rooms", session["accessToken"].as_str().unwrap()).await.0, 200);
    // The other tab, a moment later, with the cookie it read before the first answer landed.
    let (status, raced, cookies) = post(&server, "/api/auth/refresh", json!({}), Some(&first)).await;
    assert_eq!(status, 200, "a concurrent renewal is no theft: {raced}");
    let third = refresh_of(&cookies);
    assert_ne!(third, second);
    assert_eq!(server.get("/api/rooms", raced["accessToken"].as_str().unwrap()).await.0, 200);
    assert_eq!(post(&server, "/api/auth/refresh", json!({}), Some(&third)).await.0, 200, "its successor works");
    // Past the window the first token again is a thief or a replay: the whole login is revoked.
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    let (status, err, _) = post(&server, "/api/auth/refresh", json!({}), Some(&first)).await;
    assert_eq!((status, err["code"].as_str()), (401, Some("auth.refresh_reused")));
    let (status, err, _) = post(&server, "/api/auth/refresh", json!({}), Some(&second)).await;
    assert_eq!((status, err["code"].as_str()), (401, Some("auth.refresh_invalid")), "the newer one died with it");
    assert_eq!(server.get("/api/rooms", raced["accessToken"].as_str().unwrap()).await.0, 401, "the login ended");
    let (status, err, _) = post(&server, "/api/auth/refresh", json!({}), None).await;
    assert_eq!((status, err["code"].as_str()), (401, Some("auth.refresh_invalid")));
}

/// With `cookie_secure` every session cookie (set and cleared) is `Secure`; without it none is.
#[tokio::test]
async fn cookies_are_secure_when_the_setting_says_https() {
    for secure in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let env = [("DUNGEONTALK_COOKIE_SECURE", if secure { "true" } else { "false" })];
        let server = TestServer::spawn(dir.path(), &env).await;
        register(&server, "aria").await;
        let login = server.http.post(format!("{}/api/auth/login", server.base));
        let resp = login.json(&json!({"name": "aria", "password": "correct horse"})).send().await.unwrap();
        let mut cookies: Vec<String> =
            resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        let guest = server.http.post(format!("{}/api/auth/guest", server.base));
        let resp = guest.json(&json!({"nickname": "Gus"})).send().await.unwrap();
        cookies.extend(resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()));
        assert_eq!(cookies.len(), 3, "{cookies:?}");
        for c in &cookies {
            assert_eq!(c.ends_with("; Secure"), secure, "{c}");
            assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict"), "{c}");
        }
    }
}

#[tokio::test]
async fn logout_kills_the_access_token_and_the_refresh_token_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[]).await;
    let (session, cookies) = signed_in(&server, "aria").await;
    let token = session["accessToken"].as_str().unwrap().to_owned();
    let refresh = refresh_of(&cookies);
    server.log_out(&token, Some(&refresh)).await;
    let (status, err) = server.get("/api/rooms", &token).await;
    assert_eq!((status, err["code"].as_str()), (401, Some("auth.logged_out")));
    let (status, _, _) = post(&server, "/api/auth/refresh", json!({}), Some(&refresh)).await;
    assert_eq!(status, 401, "the login's refresh token is dead too");
    server.stop().await;
    let server = TestServer::spawn(dir.path(), &[]).await;
    let (status, err) = server.get("/api/rooms", &token).await;
    assert_eq!((status, err["code"].as_str()), (401, Some("auth.logged_out")), "revocations survive a restart");
    // A guest can log out as well.
    let (guest, _) = server.guest("Bo").await;
    server.log_out(&guest, None).await;
    assert_eq!(server.get("/api/rooms", &guest).await.0, 401);
}

#[tokio::test]
async fn logging_out_ends_every_connection_opened_with_that_token_and_only_those() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[]).await;
    let (session, _) = signed_in(&server, "aria").await;
    let token = session["accessToken"].as_str().unwrap().to_owned();
    // The same member logged in a second time (another device): that login stays.
    let (_, other, _) = login(&server, "aria", "correct horse").await;
    let other = other["accessToken"].as_str().unwrap().to_owned();
    let room = server.room(&token, "Hall").await;
    let mut ws = server.ws(&token, &room, Some(0)).await;
    let mut kept = server.ws(&other, &room, Some(0)).await;
    let mut sse = SseReader::new(server.sse_with(&room, &format!("token={token}&after=0"), &[]).await);
    assert_eq!(sse.next().await["type"], "CONNECTED");
    let (mut notes, _) = server.notifications(&token).await;

    server.log_out(&token, None).await;
    assert_eq!(ws.next_of(&["ERROR"]).await["code"], "auth.logged_out");
    assert_eq!(ws.close_code().await, Some(1008), "the socket closes (policy violation)");
    for stream in [&mut sse, &mut notes] {
        let last = stream.next().await;
        assert_eq!((last["type"].as_str(), last["code"].as_str()), (Some("ERROR"), Some("auth.logged_out")));
        assert!(!stream.raw_chunk().await, "the stream ends");
    }
    kept.join().await;
    kept.talk("still here").await;
    assert_eq!(kept.next_of(&["TALK"]).await["content"], "still here", "the other login's socket lives on");
}

/// Logout ends the whole login, not just the token it was sent with: a token the page renewed
/// earlier (same login) is dead too, with the connections opened with it.
#[tokio::test]
async fn logging_out_ends_the_login_including_tokens_renewed_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[]).await;
    let (session, cookies) = signed_in(&server, "aria").await;
    let first = session["accessToken"].as_str().unwrap().to_owned();
    let (status, renewed, _) = post(&server, "/api/auth/refresh", Value::Null, Some(&refresh_of(&cookies))).await;
    assert_eq!(status, 200);
    let second = renewed["accessToken"].as_str().unwrap().to_owned();
    let room = server.room(&second, "Hall").await;
    let mut old_ws = server.ws(&first, &room, Some(0)).await;
    let (mut old_notes, _) = server.notifications(&first).await;
    server.log_out(&second, None).await;
    assert_eq!(old_ws.next_of(&["ERROR"]).await["code"], "auth.logged_out", "the older token's socket ends");
    assert_eq!(old_notes.next().await["code"], "auth.logged_out");
    let (status, body) = server.get("/api/rooms", &first).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("auth.logged_out")), "the older token is dead");
}

/// A reused refresh token (a stolen copy) ends the login it belongs to: its refresh family and
/// every access token and connection of it.
#[tokio::test]
async fn a_reused_refresh_token_ends_the_logins_connections() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[("DUNGEONTALK_REFRESH_GRACE_SECS", "0")]).await;
    let (_, cookies) = signed_in(&server, "aria").await;
    let stolen = refresh_of(&cookies);
    let (_, renewed, _) = post(&server, "/api/auth/refresh", Value::Null, Some(&stolen)).await;
    let token = renewed["accessToken"].as_str().unwrap().to_owned();
    let room = server.room(&token, "Hall").await;
    let mut ws = server.ws(&token, &room, Some(0)).await;
    let (status, err, _) = post(&server, "/api/auth/refresh", Value::Null, Some(&stolen)).await;
    assert_eq!((status, err["code"].as_str()), (401, Some("auth.refresh_reused")));
    assert_eq!(ws.next_of(&["ERROR"]).await["code"], "auth.logged_out");
    assert_eq!(server.get("/api/rooms", &token).await.0, 401);
}

/// A stream does not outlive its token: at expiry (plus the verifier's 5 s leeway) it ends with
/// `auth.expired`, and the client renews and reconnects.
#[tokio::test]
async fn streams_end_when_their_token_expires() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[("DUNGEONTALK_ACCESS_TOKEN_TTL_SECS", "1")]).await;
    let (session, _) = signed_in(&server, "aria").await;
    let token = session["accessToken"].as_str().unwrap().to_owned();
    let room = server.room(&token, "Hall").await;
    let mut ws = server.ws(&token, &room, Some(0)).await;
    let mut sse = SseReader::new(server.sse_with(&room, &format!("token={token}&after=0"), &[]).await);
    assert_eq!(sse.next().await["type"], "CONNECTED");
    let ended = tokio::time::timeout(Duration::from_secs(12), ws.next_of(&["ERROR"])).await.expect("ends in time");
    assert_eq!(ended["code"], "auth.expired");
    assert_eq!(ws.close_code().await, Some(1008));
    let last = sse.next().await;
    assert_eq!((last["type"].as_str(), last["code"].as_str()), (Some("ERROR"), Some("auth.expired")));
}

/// Password checks are bounded: a burst of logins beyond the queue is refused at once with 503
/// `unavailable` (try again), the rest are answered, and the server keeps serving meanwhile; a
/// name that cannot exist is refused without a hash.
#[tokio::test]
async fn a_login_flood_is_bounded_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[("DUNGEONTALK_LOGIN_QUEUE_MAX", "2")]).await;
    register(&server, "aria").await;
    let attempts = (0..24).map(|_| login(&server, "aria", "wrong horse battery"));
    let health = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        server.http.get(format!("{}/healthz", server.base)).send().await.unwrap().status().as_u16()
    };
    let (answers, health) = tokio::join!(futures::future::join_all(attempts), health);
    assert_eq!(health, 200, "the server answered during the flood");
    let refused = answers.iter().filter(|(s, b, _)| *s == 503 && b["code"] == "unavailable").count();
    let checked = answers.iter().filter(|(s, _, _)| matches!(*s, 401 | 429)).count();
    assert!(refused > 0, "the queue is bounded: {:?}", answers.iter().map(|a| a.0).collect::<Vec<_>>());
    assert!(checked > 0 && refused + checked == 24, "every attempt got a clear answer");
    let long = "x".repeat(5000);
    let (status, body, _) = login(&server, &long, "whatever-pass").await;
    assert_eq!((status, body["code"].as_str()), (401, Some("auth.bad_credentials")));
}
