//! Router tests through `oneshot`: status codes and `{code, message}` bodies, no sockets.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::config::Settings;

mod fuzz;

use crate::tests::SECRET;

struct App {
    router: Router,
    _dir: tempfile::TempDir,
}

async fn app() -> App {
    let (state, dir) = crate::tests::state(Settings::default()).await;
    App { router: super::router(state), _dir: dir }
}

async fn call(app: &App, req: Request<Body>) -> (StatusCode, Value) {
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn get(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut req = Request::get(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    req.body(Body::empty()).unwrap()
}

fn post(uri: &str, token: Option<&str>, body: Value) -> Request<Body> {
    let mut req = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    req.body(Body::from(body.to_string())).unwrap()
}

async fn login(app: &App) -> String {
    let (status, body) = call(app, post("/api/auth/guest", None, json!({"nickname": "Aria"}))).await;
    assert_eq!(status, StatusCode::OK);
    body["accessToken"].as_str().unwrap().to_owned()
}

async fn room(app: &App, token: &str) -> String {
    let (status, body) = call(app, post("/api/rooms", Some(token), json!({"name": "Crypt"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["roomId"].as_str().unwrap().to_owned()
}

fn forged(claims: Value, alg: jsonwebtoken::Algorithm, secret: &str) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::new(alg), &claims, &key).unwrap()
}

fn claims(exp_offset: i64) -> Value {
    let now = jsonwebtoken::get_current_timestamp() as i64;
    json!({"sub": "m1", "nick": "Eve", "iat": now, "exp": now + exp_offset, "jti": "x"})
}

#[tokio::test]
async fn health_and_readiness() {
    let app = app().await;
    assert_eq!(call(&app, get("/healthz", None)).await.0, StatusCode::OK);
    let (status, body) = call(&app, get("/readyz", None)).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ready")));
    let want = json!({"store": "embedded", "log": "local", "shared": "local"});
    assert_eq!(body["backends"], want, "each backend by name");
}

#[tokio::test]
async fn metrics_are_prometheus_text_and_count_appends() {
    let app = app().await;
    let token = login(&app).await;
    let room = room(&app, &token).await;
    let url = format!("/api/rooms/{room}/messages");
    assert_eq!(call(&app, post(&url, Some(&token), json!({"type": "JOIN"}))).await.0, 202);
    let frame = json!({"type": "TALK", "content": "hello"});
    assert_eq!(call(&app, post(&url, Some(&token), frame)).await.0, 202);
    let resp = app.router.clone().oneshot(get("/metrics", None)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/plain"));
    let text = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(text.contains("# TYPE dungeontalk_events_appended_total counter"), "{text}");
    assert!(text.contains("dungeontalk_events_appended_total 2"), "a JOIN and a TALK appended: {text}");
    assert!(text.contains("dungeontalk_append_to_deliver_seconds_count 2"), "{text}");
}

#[tokio::test]
async fn guest_login_gives_a_token_naming_a_new_member() {
    let app = app().await;
    let (status, body) = call(&app, post("/api/auth/guest", None, json!({"nickname": "  Aria "}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["nickname"], "Aria", "the nickname is trimmed");
    assert!(body["memberId"].as_str().unwrap().starts_with("guest-"));
    assert_eq!(body["accessToken"].as_str().unwrap().split('.').count(), 3);
}

#[tokio::test]
async fn bad_logins_get_400_with_a_code() {
    let app = app().await;
    for body in [json!({"nickname": ""}), json!({"nickname": "x".repeat(21)}), json!({"nick": "a"})] {
        let (status, err) = call(&app, post("/api/auth/guest", None, body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(err["code"], "request.invalid");
        assert!(!err["message"].as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn rooms_need_a_valid_token() {
    let app = app().await;
    let (status, err) = call(&app, get("/api/rooms", None)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("auth.missing_token")));
    let (status, err) = call(&app, get("/api/rooms", Some("not-a-jwt"))).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("auth.invalid_token")));
    let token = login(&app).await;
    let id = room(&app, &token).await;
    let (status, list) = call(&app, get("/api/rooms", Some(&token))).await;
    assert_eq!(status, StatusCode::OK);
    let want = json!([{"roomId": id, "name": "Crypt", "maxCapacity": 3, "connectedCount": 0, "roomType": "PLAYER", "private": false}]);
    assert_eq!(list, want);
}

#[tokio::test]
async fn ws_handshake_refuses_missing_and_bad_credentials() {
    let app = app().await;
    let token = login(&app).await;
    let room_id = room(&app, &token).await;
    let expired = forged(claims(-3600), jsonwebtoken::Algorithm::HS256, SECRET);
    let wrong_key = forged(claims(3600), jsonwebtoken::Algorithm::HS256, "another-secret-another-secret-another");
    let wrong_alg = forged(claims(3600), jsonwebtoken::Algorithm::HS384, SECRET);
    let unsigned = {
        let good = forged(claims(3600), jsonwebtoken::Algorithm::HS256, SECRET);
        let payload = good.split('.').nth(1).unwrap().to_owned();
        format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.")
    };
    let cases = [
        (format!("/ws?roomId={room_id}"), StatusCode::BAD_REQUEST, "auth.missing_token"),
        (format!("/ws?token={token}"), StatusCode::BAD_REQUEST, "request.missing_param"),
        (format!("/ws?token=garbage&roomId={room_id}"), StatusCode::UNAUTHORIZED, "auth.invalid_token"),
        (format!("/ws?token={expired}&roomId={room_id}"), StatusCode::UNAUTHORIZED, "auth.expired"),
        (format!("/ws?token={wrong_key}&roomId={room_id}"), StatusCode::UNAUTHORIZED, "auth.invalid_token"),
        (format!("/ws?token={wrong_alg}&roomId={room_id}"), StatusCode::UNAUTHORIZED, "auth.invalid_token"),
        (format!("/ws?token={unsigned}&roomId={room_id}"), StatusCode::UNAUTHORIZED, "auth.invalid_token"),
        (format!("/ws?token={token}&roomId=no-such-room"), StatusCode::NOT_FOUND, "room.not_found"),
    ];
    for (uri, status, code) in cases {
        let (got, body) = call(&app, get(&uri, None)).await;
        assert_eq!((got, body["code"].as_str()), (status, Some(code)), "{uri}");
    }
    // The Bearer header works as well as ?token=, and a good handshake without upgrade headers is not 2xx.
    let (got, _) = call(&app, get(&format!("/ws?roomId={room_id}"), Some(&token))).await;
    assert!(got.is_client_error() && got != StatusCode::UNAUTHORIZED, "{got}");
}

#[tokio::test]
async fn history_of_an_unknown_room_is_404_and_bad_queries_400() {
    let app = app().await;
    let token = login(&app).await;
    let (status, err) = call(&app, get("/api/rooms/nope/messages", Some(&token))).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("room.not_found")));
    let id = room(&app, &token).await;
    let (status, page) = call(&app, get(&format!("/api/rooms/{id}/messages"), Some(&token))).await;
    let typed: dungeontalk_app::wire::HistoryPage = serde_json::from_value(page.clone()).unwrap();
    assert!(typed.events.is_empty(), "the body is the shared HistoryPage type");
    assert_eq!((status, page), (StatusCode::OK, json!({"events": [], "next": null})));
    let (status, err) = call(&app, get(&format!("/api/rooms/{id}/messages?before=x"), Some(&token))).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("request.invalid")));
}

#[tokio::test]
async fn unknown_api_paths_are_json_404s_and_pages_fall_back_to_the_app() {
    let app = app().await;
    let (status, err) = call(&app, get("/api/nothing", None)).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("request.not_found")));
    let resp = app.router.clone().oneshot(get("/rooms/abc", None)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
}

#[tokio::test]
async fn embedded_files_have_their_content_type_and_revalidate_with_etags() {
    let app = app().await;
    for asset in super::assets::ASSETS {
        let resp = app.router.clone().oneshot(get(asset.path, None)).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{}", asset.path);
        let ctype = resp.headers()[header::CONTENT_TYPE].to_str().unwrap().to_owned();
        let want = match asset.path.rsplit('.').next() {
            Some("wasm") => "application/wasm",
            Some("js") => "text/javascript; charset=utf-8",
            Some("html") => "text/html; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            _ => ctype.as_str(),
        };
        assert_eq!(ctype, want, "{}", asset.path);
        let etag = resp.headers()[header::ETAG].clone();
        let again = Request::get(asset.path).header(header::IF_NONE_MATCH, etag).body(Body::empty()).unwrap();
        let resp = app.router.clone().oneshot(again).await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_MODIFIED, "{}", asset.path);
    }
    // Whatever was built, `/` is an HTML page and unknown files are 404, not the app.
    let resp = app.router.clone().oneshot(get("/", None)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app.router.clone().oneshot(get("/missing.js", None)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_ui_server_functions_answer_typed_json_and_check_the_token() {
    let app = app().await;
    let (status, body) = call(&app, post("/api/fn/comparison", None, json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.is_null() || body["runs"].is_array(), "the comparison or null: {body}");
    let report = json!({"results": [{"transport": "ws", "samples": 2, "p50Ms": 1.0, "p90Ms": 2.0, "p99Ms": 2.0,
        "maxMs": 2.0, "cdf": [[1.0, 0.5], [2.0, 1.0]]}]});
    let (status, _) = call(&app, post("/api/fn/measurements", None, json!({"token": "nope", "report": report}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a bad token is refused");
    let token = login(&app).await;
    let (status, kept) =
        call(&app, post("/api/fn/measurements", None, json!({"token": token, "report": report}))).await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!((kept[0]["nickname"].as_str(), kept[0]["results"][0]["p50Ms"].as_f64()), (Some("Aria"), Some(1.0)));
    let (_, recent) = call(&app, post("/api/fn/recent_measurements", None, json!({}))).await;
    assert_eq!(recent, kept, "the newest runs, for every browser");
}

#[test]
fn the_comparison_is_read_from_the_bench_results() {
    let json = r#"{"machine": "2 cores", "fanout": [{"server": "dungeontalk", "transport": "ws", "rooms": 100,
        "subscribers_per_room": 10, "max_sustained": 1000.0, "steps": [{"latency": {"p50": 0.5, "p99": 1.5},
        "bytes_per_delivery": 280.0}]}], "idle": [{"server": "bare", "transport": "ws", "kib_per_connection": 4.5}]}"#;
    let c = super::fns::comparison(json).unwrap();
    assert_eq!((c.machine.as_str(), c.runs[0].connections, c.runs[0].light_p99_ms), ("2 cores", 1000, 1.5));
    assert_eq!(c.idle[0].kib_per_connection, 4.5);
    assert!(super::fns::comparison("not json").is_none());
}
