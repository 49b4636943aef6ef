//! SockJS at `/ws-chat` (the seed's `withSockJS()`), so `sockjs-client` reaches STOMP where a
//! WebSocket is blocked: `info`, the framed `websocket`, `xhr_streaming`, `xhr` polling, `xhr_send`
//! and `eventsource`. Each session is one STOMP connection (`stomp::conn`) over a [`Sock`]; the
//! raw `/ws-chat/websocket` is plain STOMP over WebSocket, answered by `stomp::handshake`.
//!
//! Every request carries the handshake's `?token=` (sockjs-client keeps the query string on each
//! transport URL), and sessions are found by member and id, so a guessed session id reaches
//! nothing. CORS echoes the origin: the token, never a cookie, is what authorizes.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use dungeontalk_app::wire::{ErrorCode, RoomId};
use futures_util::{SinkExt, StreamExt, stream};
use serde::Deserialize;

use super::extract::Params;
use super::stomp::conn;
use super::websocket::Message;
use crate::auth::{authenticate, authenticate_live, token_from};
use crate::error::AppError;
use crate::session::Transport;
use crate::state::AppState;
use frames::Close;
use session::{Receiver, Sessions, Sock};

mod frames;
mod session;

#[derive(Clone)]
struct Sj {
    app: AppState,
    sessions: Arc<Sessions>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SjQuery {
    token: Option<String>,
    room_id: Option<String>,
}

/// The SockJS routes under `/ws-chat`.
pub fn router<S: Clone + Send + Sync + 'static>(app: AppState) -> Router<S> {
    let send_limit = DefaultBodyLimit::max(app.settings.sockjs_max_send_bytes);
    Router::new()
        .route("/ws-chat/info", get(info).options(preflight))
        .route("/ws-chat/{server}/{session}/xhr", post(xhr).options(preflight))
        .route("/ws-chat/{server}/{session}/xhr_streaming", post(xhr_streaming).options(preflight))
        .route("/ws-chat/{server}/{session}/xhr_send", post(xhr_send).options(preflight).layer(send_limit))
        .route("/ws-chat/{server}/{session}/eventsource", get(eventsource))
        .route("/ws-chat/{server}/{session}/websocket", get(websocket))
        .with_state(Sj { app, sessions: Arc::new(Sessions::default()) })
}

/// Headers every SockJS answer has: CORS for the calling origin, and no caching.
fn common(req: &HeaderMap, content_type: &'static str) -> HeaderMap {
    let mut h = HeaderMap::new();
    let origin = req.get(header::ORIGIN).filter(|o| o.as_bytes() != b"null").cloned();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.unwrap_or(HeaderValue::from_static("*")));
    h.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache, no-transform, must-revalidate, max-age=0"),
    );
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h
}

const JS: &str = "application/javascript; charset=UTF-8";

async fn preflight(req: HeaderMap) -> Response {
    let mut h = common(&req, "text/plain; charset=UTF-8");
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("OPTIONS, GET, POST"));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("31536000"));
    if let Some(asked) = req.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
    }
    (StatusCode::NO_CONTENT, h).into_response()
}

async fn info(req: HeaderMap) -> Response {
    let mut raw = [0u8; 4];
    let _ = getrandom::fill(&mut raw);
    let body = serde_json::json!({
        "websocket": true,
        "origins": ["*:*"],
        "cookie_needed": false,
        "entropy": u32::from_le_bytes(raw),
    });
    (common(&req, "application/json; charset=UTF-8"), body.to_string()).into_response()
}

/// The session a receiving request names, made (and its STOMP connection started) if new.
async fn open(sj: &Sj, headers: &HeaderMap, q: SjQuery, server: &str, id: &str) -> Result<Arc<Sock>, AppError> {
    ids(server, id)?;
    let token = token_from(headers, q.token.as_deref());
    let member = authenticate(&sj.app.auth, token.clone())?.member_id;
    if let Some(sock) = sj.sessions.get(&member.0, id) {
        return Ok(sock);
    }
    let (actor, revocation) = authenticate_live(&sj.app.auth, token)?;
    if let Some(room_id) = q.room_id.filter(|r| !r.is_empty()) {
        crate::session::admit(&sj.app, &actor, &RoomId(room_id), Transport::Stomp).await?;
    }
    let s = &sj.app.settings;
    let linger = Duration::from_millis(s.sockjs_disconnect_delay_ms);
    let (sock, pipe) = Sock::new(s.outgoing_queue_len, linger);
    let full =
        || AppError::new(ErrorCode::TooManyConnections, "Too many SockJS sessions on this server; try again later.");
    let kept = sj.sessions.insert(&member.0, id, sock.clone(), s.sockjs_max_sessions).map_err(|()| full())?;
    if !Arc::ptr_eq(&kept, &sock) {
        return Ok(kept);
    }
    let (app, sessions, id) = (sj.app.clone(), sj.sessions.clone(), id.to_owned());
    tokio::spawn(async move {
        conn::run(pipe, "sockjs", app, actor, revocation).await;
        sock.close(Close::GoAway);
        // A receiver that comes back meanwhile still hears how the session ended.
        tokio::time::sleep(linger).await;
        sessions.remove(&member.0, &id);
    });
    Ok(kept)
}

fn ids(server: &str, id: &str) -> Result<(), AppError> {
    if frames::valid_id(server) && frames::valid_id(id) {
        Ok(())
    } else {
        Err(AppError::new(ErrorCode::NotFound, "SockJS server and session ids are 1-64 characters without dots."))
    }
}

fn heartbeat(sj: &Sj) -> Duration {
    Duration::from_secs(sj.app.settings.sockjs_heartbeat_secs)
}

/// `POST …/xhr`: one frame per request (long polling).
async fn xhr(
    State(sj): State<Sj>,
    Path((server, id)): Path<(String, String)>,
    headers: HeaderMap,
    Params(q): Params<SjQuery>,
) -> Result<Response, AppError> {
    let sock = open(&sj, &headers, q, &server, &id).await?;
    let frame = match sock.attach() {
        Ok(mut r) => r.next(heartbeat(&sj)).await.0,
        Err(frame) => frame,
    };
    Ok((common(&headers, JS), frame + "\n").into_response())
}

/// A streaming receiver's state between chunks.
struct Streaming {
    receiver: Option<Receiver>,
    /// The answer instead, when the session could not be attached.
    refused: Option<String>,
    heartbeat: Duration,
    budget: usize,
    /// Wraps a frame for the transport (`{frame}\n`, `data: {frame}\r\n\r\n`).
    wrap: fn(String) -> String,
}

impl Streaming {
    async fn chunk(&mut self) -> Option<Bytes> {
        if let Some(frame) = self.refused.take() {
            return Some(Bytes::from((self.wrap)(frame)));
        }
        let r = self.receiver.as_mut()?;
        let (frame, last) = r.next(self.heartbeat).await;
        let chunk = (self.wrap)(frame);
        self.budget = self.budget.saturating_sub(chunk.len());
        // Past the response limit the client opens a new request, so the browser can free
        // what it buffered of this one.
        if last || self.budget == 0 {
            self.receiver = None;
        }
        Some(Bytes::from(chunk))
    }
}

async fn stream_response(
    sj: Sj,
    headers: HeaderMap,
    q: SjQuery,
    (server, id): (String, String),
    (content_type, prelude, wrap): (&'static str, String, fn(String) -> String),
) -> Result<Response, AppError> {
    let sock = open(&sj, &headers, q, &server, &id).await?;
    let (receiver, refused) = match sock.attach() {
        Ok(r) => (Some(r), None),
        Err(frame) => (None, Some(frame)),
    };
    let budget = sj.app.settings.sockjs_response_limit_bytes;
    let st = Streaming { receiver, refused, heartbeat: heartbeat(&sj), budget, wrap };
    let body = stream::once(async move { Ok::<_, std::convert::Infallible>(Bytes::from(prelude)) })
        .chain(stream::unfold(st, |mut st| async move { st.chunk().await.map(|c| (Ok(c), st)) }));
    Ok((common(&headers, content_type), Body::from_stream(body)).into_response())
}

/// `POST …/xhr_streaming`: frames on one response until `sockjs_response_limit_bytes`.
async fn xhr_streaming(
    State(sj): State<Sj>,
    Path(path): Path<(String, String)>,
    headers: HeaderMap,
    Params(q): Params<SjQuery>,
) -> Result<Response, AppError> {
    // 2 KiB of `h` first: some browsers show nothing of a streamed response before that much.
    let prelude = "h".repeat(2048) + "\n";
    stream_response(sj, headers, q, path, (JS, prelude, |f| f + "\n")).await
}

/// `GET …/eventsource`: frames as server-sent events.
async fn eventsource(
    State(sj): State<Sj>,
    Path(path): Path<(String, String)>,
    headers: HeaderMap,
    Params(q): Params<SjQuery>,
) -> Result<Response, AppError> {
    let wrap: fn(String) -> String = |f| format!("data: {f}\r\n\r\n");
    stream_response(sj, headers, q, path, ("text/event-stream; charset=UTF-8", "\r\n".to_owned(), wrap)).await
}

/// `POST …/xhr_send`: a JSON array of STOMP data for the session; 204.
async fn xhr_send(
    State(sj): State<Sj>,
    Path((server, id)): Path<(String, String)>,
    headers: HeaderMap,
    Params(q): Params<SjQuery>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, AppError> {
    ids(&server, &id)?;
    let member = authenticate(&sj.app.auth, token_from(&headers, q.token.as_deref()))?.member_id;
    let gone =
        || AppError::new(ErrorCode::NotFound, "No such SockJS session: open one with a receiving request first.");
    let sock = sj.sessions.get(&member.0, &id).filter(|s| !s.is_closed()).ok_or_else(gone)?;
    let body = body.map_err(|_| {
        let max = sj.app.settings.sockjs_max_send_bytes;
        AppError::new(ErrorCode::FrameTooLarge, format!("An xhr_send body may be at most {max} bytes."))
    })?;
    let messages = frames::messages(&body).map_err(|m| AppError::new(ErrorCode::InvalidRequest, m))?;
    for m in messages {
        if !sock.deliver(m).await {
            return Err(gone());
        }
    }
    Ok((StatusCode::NO_CONTENT, common(&headers, "text/plain; charset=UTF-8")).into_response())
}

/// `GET …/websocket`: SockJS frames over a WebSocket, one session per socket.
async fn websocket(
    State(sj): State<Sj>,
    Path((server, id)): Path<(String, String)>,
    headers: HeaderMap,
    Params(q): Params<SjQuery>,
    upgrade: Result<super::websocket::Upgrade, AppError>,
) -> Result<Response, AppError> {
    ids(&server, &id)?;
    let (actor, revocation) = authenticate_live(&sj.app.auth, token_from(&headers, q.token.as_deref()))?;
    if let Some(room_id) = q.room_id.filter(|r| !r.is_empty()) {
        crate::session::admit(&sj.app, &actor, &RoomId(room_id), Transport::Stomp).await?;
    }
    let upgrade = super::ws::sized(upgrade, &sj.app.settings)?;
    Ok(upgrade.on_upgrade(move |socket| async move {
        let s = &sj.app.settings;
        let (sock, pipe) = Sock::new(s.outgoing_queue_len, Duration::from_millis(s.sockjs_disconnect_delay_ms));
        let receiver = sock.attach().expect("a new session takes its first receiver");
        tokio::spawn(conn::run(pipe, "sockjs", sj.app.clone(), actor, revocation));
        framed(socket, &sock, receiver, heartbeat(&sj)).await;
        sock.close(Close::Abandoned);
    }))
}

async fn framed(mut socket: super::websocket::WebSocket, sock: &Sock, mut receiver: Receiver, heartbeat: Duration) {
    loop {
        tokio::select! {
            msg = socket.next() => match msg {
                Some(Ok(Message::Text(t))) => match frames::messages(t.as_bytes()) {
                    Ok(messages) => {
                        for m in messages {
                            if !sock.deliver(m).await {
                                return;
                            }
                        }
                    }
                    // The protocol's answer to a broken message: close the socket.
                    Err(_) => return,
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            (frame, last) = receiver.next(heartbeat) => {
                if socket.send(Message::Text(frame.into())).await.is_err() || last {
                    let _ = socket.close().await;
                    return;
                }
            }
        }
    }
}
