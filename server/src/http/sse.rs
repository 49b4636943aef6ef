//! Server-Sent Events plumbing and `GET /api/rooms/{roomId}/events`, a room's event stream.
//!
//! The body is a stream polled only when the socket can take more (by the connection's own task
//! once the stream has left hyper, `detach.rs`), so a slow reader holds no queue of its own: it
//! falls behind in the shared ring, then catches up from the store.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use dungeontalk_app::wire::{ErrorCode, RoomId, ServerFrame};
use futures_util::FutureExt;
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::alarms::{Alarm, Alarms};
use super::detach::{Detach, streamed};
use super::extract::Params;
use crate::auth::{Ended, Revocation, authenticate_live, cookie_token, token_from};
use crate::error::AppError;
use crate::hub::Attendance;
use crate::hub::feed::{Feed, FeedError, Item};
use crate::session::{self, Transport};
use crate::state::AppState;

/// Most bytes of ready events written as one chunk (fewer, larger writes under load).
const CHUNK_BYTES: usize = 64 * 1024;

/// Query of the SSE endpoints.
#[derive(Deserialize)]
pub struct StreamQuery {
    token: Option<String>,
    /// The member the stream is for, when the token comes from the cookie (see [`stream_caller`]).
    #[serde(rename = "as")]
    expect: Option<String>,
    /// Resume after this seq (`Last-Event-ID` wins when the browser sends one).
    after: Option<u64>,
}

/// The caller of a stream (Bearer, then `?token=`, then the `dt_access` cookie), and a watch
/// that ends the stream when that token is logged out.
///
/// The cookie is the browser's, not the tab's: another tab may have signed in as someone else
/// since. A page that streams with the cookie names its member in `?as=`, and a cookie naming
/// anyone else is refused, so a stream never shows one member another's view.
pub fn stream_caller(
    state: &AppState,
    headers: &HeaderMap,
    query_token: Option<&str>,
    expect: Option<&str>,
) -> Result<(crate::model::Actor, Revocation), AppError> {
    if let Some(token) = token_from(headers, query_token) {
        return authenticate_live(&state.auth, Some(token));
    }
    let (actor, revocation) = authenticate_live(&state.auth, cookie_token(headers))?;
    match expect {
        Some(member) if member != actor.member_id.0 => {
            let msg = "This browser's stream cookie is another member's now; renew it and connect again.";
            Err(AppError::new(ErrorCode::InvalidToken, msg))
        }
        _ => Ok((actor, revocation)),
    }
}

/// The last event of a stream whose token was logged out or has expired.
pub fn ended_event(why: Ended) -> Bytes {
    event("error", &why.error().to_frame())
}

/// An SSE response around a stream of encoded chunks, written outside hyper when it can be.
pub fn sse_response(detach: Detach, body: impl Stream<Item = Bytes> + Send + 'static) -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        // Tells nginx-style proxies not to buffer the stream.
        (header::HeaderName::from_static("x-accel-buffering"), HeaderValue::from_static("no")),
    ];
    streamed(detach, headers, body)
}

/// The heartbeat timer: the first tick one period from now.
pub fn heartbeat(state: &AppState) -> Interval {
    let period = Duration::from_secs(state.settings.sse_heartbeat_secs);
    let mut timer = tokio::time::interval_at(Instant::now() + period, period);
    timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    timer
}

/// A comment line: keeps the connection busy without dispatching an event.
pub const HEARTBEAT: &[u8] = b": keep-alive\n\n";

/// One frame as an SSE event without an id (hello, errors).
pub fn event(name: &str, frame: &impl serde::Serialize) -> Bytes {
    let json = serde_json::to_string(frame).expect("frames serialize");
    Bytes::from(format!("event: {name}\ndata: {json}\n\n"))
}

struct RoomStream {
    feed: Feed,
    /// Heartbeats, shutdown, and the end of the token (the stream ends then).
    alarms: Alarms,
    hello: Option<Bytes>,
    done: bool,
    delivered: prometheus::IntCounter,
    _attendance: Attendance,
    _counted: crate::metrics::ConnectionGuard,
}

impl RoomStream {
    /// The next chunk: the hello, a heartbeat, or every event that is ready (at least one).
    async fn chunk(&mut self) -> Option<Bytes> {
        if let Some(hello) = self.hello.take() {
            return Some(hello);
        }
        if self.done {
            return None;
        }
        let first = tokio::select! {
            alarm = self.alarms.next() => match alarm {
                Alarm::Stopping => return None,
                Alarm::Tick => return Some(Bytes::from_static(HEARTBEAT)),
                Alarm::Ended(why) => {
                    self.done = true;
                    return Some(ended_event(why));
                }
            },
            item = self.feed.next() => item,
        };
        let first = match first {
            Ok(Item::Event(e)) => {
                self.delivered.inc();
                e.sse()
            }
            Ok(Item::Lagged { after }) => event("resync", &ServerFrame::Resync { after }),
            Err(FeedError::Closed) => return None,
            Err(e) => {
                // Say why, then end: the browser reconnects with Last-Event-ID and resumes.
                self.done = true;
                return Some(event("error", &AppError::from(e).to_frame()));
            }
        };
        if !self.feed.ready() {
            return Some(first);
        }
        let mut buf = first.to_vec();
        while buf.len() < CHUNK_BYTES && self.feed.ready() {
            match self.feed.next().now_or_never() {
                Some(Ok(Item::Event(e))) => {
                    self.delivered.inc();
                    buf.extend_from_slice(&e.sse())
                }
                _ => break,
            }
        }
        Some(Bytes::from(buf))
    }
}

/// `GET /api/rooms/{roomId}/events`: `connected` first, then the room's events with `id: <seq>`.
pub async fn room_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(room_id): Path<String>,
    detach: Detach,
    Params(q): Params<StreamQuery>,
) -> Result<Response, AppError> {
    let (actor, revocation) = stream_caller(&state, &headers, q.token.as_deref(), q.expect.as_deref())?;
    let room_id = RoomId(room_id);
    let admitted = session::admit(&state, &actor, &room_id, Transport::Sse).await?;
    let last_event_id = match headers.get("last-event-id").map(|v| v.to_str().map(str::trim)) {
        None => None,
        Some(Ok(v)) => match v.parse::<u64>() {
            Ok(seq) => Some(seq),
            Err(_) => return Err(AppError::new(ErrorCode::InvalidRequest, "Last-Event-ID must be a seq number.")),
        },
        Some(Err(_)) => return Err(AppError::new(ErrorCode::InvalidRequest, "Last-Event-ID must be a seq number.")),
    };
    let entry = admitted.attend(&state, &actor).await?;
    let feed = entry.read(&state, &actor, last_event_id.or(q.after)).await?;
    let connected = ServerFrame::Connected {
        room_id: room_id.clone(),
        member_id: actor.member_id.clone(),
        nickname: actor.nickname.clone(),
    };
    // `retry:` makes the browser come back after 1 s instead of its default 3 s.
    let mut hello = b"retry: 1000\n".to_vec();
    hello.extend_from_slice(&event("connected", &connected));
    let st = RoomStream {
        feed,
        alarms: Alarms::new(heartbeat(&state), &state.shutdown, revocation),
        hello: Some(Bytes::from(hello)),
        done: false,
        delivered: state.hub.metrics().deliveries.with_label_values(&["sse"]),
        _attendance: entry.attendance,
        _counted: state.hub.metrics().connection("sse"),
    };
    // The state goes into each step's future and back out: boxed, a pointer moves per chunk, not
    // the stream's feed and timers.
    let body = stream::unfold(Box::new(st), |mut st| async move { st.chunk().await.map(|c| (c, st)) });
    Ok(sse_response(detach, body))
}
