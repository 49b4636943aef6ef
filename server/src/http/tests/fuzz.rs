//! Property tests for every parser of client input (frames, POST bodies, query parameters,
//! `Last-Event-ID`, tokens): whatever arrives, the answer is a success or a 4xx `{code, message}`
//! with a code the UI knows; never a panic, a 5xx or a success for garbage. Cases per property:
//! `PROPTEST_CASES` (default 256), so CI runs a bounded number and a longer run is one variable.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use dungeontalk_app::wire::{ClientFrame, ErrorBody, ErrorCode, MemberId};
use http_body_util::BodyExt;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use tower::ServiceExt;

use super::App;
use crate::config::Settings;

/// The router over a fresh store, with polls that give up at once (a fuzzed poll must not park).
async fn app() -> App {
    let (state, dir) = crate::tests::state(Settings { poll_timeout_ms: 1, ..Settings::default() }).await;
    App { router: crate::http::router(state), _dir: dir }
}

/// The answer's status; an error's body must be a known `{code, message}` (success bodies, some
/// of them endless streams, are not read).
async fn answer(app: &App, req: Request<Body>) -> Result<StatusCode, TestCaseError> {
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    prop_assert!(!status.is_server_error(), "a client's input made a {status}");
    if status.is_client_error() {
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body: Result<ErrorBody, _> = serde_json::from_slice(&bytes);
        prop_assert!(body.is_ok(), "{status} without a known code: {:?}", String::from_utf8_lossy(&bytes));
        prop_assert!(!body.unwrap().message.is_empty());
    }
    Ok(status)
}

/// Text that looks like JSON often enough to get past the first byte.
fn jsonish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[{}\\[\\]\":,a-zA-Z0-9 .\\-\\\\]{0,80}",
        any::<String>(),
        proptest::collection::vec(any::<u8>(), 0..200).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

/// A valid body with one random edit: a cut, or a character put in.
fn mutated(valid: &'static str) -> impl Strategy<Value = String> {
    (0..valid.len(), 0..valid.len(), any::<char>(), any::<bool>()).prop_map(move |(a, b, c, cut)| {
        let (lo, hi) = (a.min(b), a.max(b));
        let mut s: Vec<char> = valid.chars().collect();
        if cut {
            s.drain(lo..hi);
        } else {
            s.insert(lo, c);
        }
        s.into_iter().collect()
    })
}

fn frame() -> impl Strategy<Value = ClientFrame> {
    prop_oneof![
        Just(ClientFrame::Join),
        Just(ClientFrame::Leave),
        Just(ClientFrame::Typing),
        Just(ClientFrame::Heartbeat),
        (any::<String>(), any::<Option<u128>>(), proptest::option::of("[a-z0-9-]{0,40}")).prop_map(|(c, id, to)| {
            ClientFrame::Talk { content: c, message_id: id.map(uuid::Uuid::from_u128), receiver_id: to.map(MemberId) }
        }),
    ]
}

/// A runtime, the app on it, a guest's token and a room of theirs.
fn signed_in() -> (tokio::runtime::Runtime, App, String, String) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(app());
    let token = rt.block_on(super::login(&app));
    let room = rt.block_on(super::room(&app, &token));
    (rt, app, token, room)
}

fn runner() -> TestRunner {
    TestRunner::new(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })
}

#[test]
fn client_frames_parse_or_say_bad_frame() {
    let mut runner = runner();
    runner
        .run(&frame(), |f| {
            let text = serde_json::to_vec(&f).unwrap();
            prop_assert_eq!(crate::http::frames::parse(&text).unwrap(), f);
            Ok(())
        })
        .unwrap();
    let garbage = prop_oneof![jsonish().prop_map(String::into_bytes), proptest::collection::vec(any::<u8>(), 0..300)];
    let edited = prop_oneof![
        mutated(r#"{"type":"TALK","content":"hi","messageId":"0190f0e2-7a3b-7c3d-8e4f-0123456789ab"}"#),
        mutated(r#"{"type":"JOIN"}"#),
    ];
    runner
        .run(&prop_oneof![garbage, edited.prop_map(String::into_bytes)], |bytes| {
            if let Err(e) = crate::http::frames::parse(&bytes) {
                prop_assert_eq!(e.code, ErrorCode::BadFrame);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn post_bodies_get_a_success_or_a_coded_4xx() {
    let (rt, app, token, room) = signed_in();
    let paths = [
        "/api/auth/guest".to_owned(),
        "/api/auth/register".to_owned(),
        "/api/auth/login".to_owned(),
        "/api/rooms".to_owned(),
        format!("/api/rooms/{room}/messages"),
        format!("/api/rooms/{room}/invitations"),
        "/api/fn/ops_view".to_owned(),
    ];
    let bodies = prop_oneof![
        jsonish(),
        mutated(r#"{"nickname":"Aria"}"#),
        mutated(r#"{"name":"aria","password":"correct horse","nickname":"Aria"}"#),
        mutated(r#"{"name":"Crypt","maxCapacity":3,"private":true}"#),
        mutated(r#"{"type":"TALK","content":"hello @Aria"}"#),
    ];
    let mut runner = runner();
    runner
        .run(&(0..paths.len(), bodies, any::<bool>()), |(i, body, json)| {
            let mut req = Request::post(&paths[i]).header(header::AUTHORIZATION, format!("Bearer {token}"));
            if json {
                req = req.header(header::CONTENT_TYPE, "application/json");
            }
            rt.block_on(answer(&app, req.body(Body::from(body)).unwrap()))?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn query_parameters_last_event_ids_and_tokens_get_a_success_or_a_coded_4xx() {
    let (rt, app, token, room) = signed_in();
    let enc = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
    let paths = [
        format!("/api/rooms/{room}/messages"),
        format!("/api/rooms/{room}/poll"),
        format!("/api/rooms/{room}/presence"),
        format!("/api/rooms/{room}/events"),
        "/api/rooms".to_owned(),
        "/ws".to_owned(),
        "/api/notifications/stream".to_owned(),
    ];
    let known = vec!["after", "limit", "before", "roomId", "token", "timeout"];
    let keys = prop_oneof![proptest::sample::select(known).prop_map(str::to_owned), "[a-zA-Z]{1,8}"];
    let query = proptest::collection::vec((keys, jsonish()), 0..4);
    let mut runner = runner();
    runner
        .run(&(0..paths.len(), query), |(i, pairs)| {
            let q: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect();
            let uri = format!("{}?{}", paths[i], q.join("&"));
            let req = Request::get(&uri).header(header::AUTHORIZATION, format!("Bearer {token}"));
            rt.block_on(answer(&app, req.body(Body::empty()).unwrap()))?;
            Ok(())
        })
        .unwrap();

    // Last-Event-ID: a seq resumes, anything else is request.invalid.
    let events = format!("/api/rooms/{room}/events");
    let ids = prop_oneof!["[ -~]{0,24}", any::<u64>().prop_map(|n| n.to_string()), "[0-9]{15,30}"];
    runner
        .run(&ids, |id| {
            let req = Request::get(&events)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header("last-event-id", id.as_str());
            let status = rt.block_on(answer(&app, req.body(Body::empty()).unwrap()))?;
            prop_assert_eq!(status.is_success(), id.trim().parse::<u64>().is_ok(), "Last-Event-ID {:?}", id);
            Ok(())
        })
        .unwrap();

    // Tokens: anything but the real one is refused (400 or 401), whatever it looks like.
    let edited = (0..token.len(), any::<u8>(), 0..3usize).prop_map({
        let token = token.clone();
        move |(at, b, how)| {
            let mut t = token.clone().into_bytes();
            match how {
                0 => t[at] = b'A' + (b % 26),
                1 => t.truncate(at),
                _ => t.insert(at, b'A' + (b % 26)),
            }
            String::from_utf8(t).unwrap()
        }
    });
    runner
        .run(&prop_oneof!["[ -~]{0,200}", edited], |t| {
            let req = Request::get("/api/rooms").header(header::AUTHORIZATION, format!("Bearer {t}"));
            let status = rt.block_on(answer(&app, req.body(Body::empty()).unwrap()))?;
            prop_assert_eq!(status.is_success(), t.trim() == token, "token {:?}", t);
            Ok(())
        })
        .unwrap();
}
