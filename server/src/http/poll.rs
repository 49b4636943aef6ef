//! `GET /api/rooms/{roomId}/poll`: long polling, a thin adapter over the same feed as the streams.
//!
//! A parked poll waits on the room's live channel (woken by the hub's publish, no sleep loop) and
//! answers with every event that is ready, capped at `poll_batch_max`.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::Response;
use dungeontalk_app::wire::RoomId;
use futures_util::FutureExt;
use serde::Deserialize;

use super::extract::{Caller, Params};
use super::rooms::page_response;
use crate::error::AppError;
use crate::hub::feed::Item;
use crate::session::{self, Transport};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct PollQuery {
    /// The cursor: answer events after this seq (none: the recent history, like a join).
    after: Option<u64>,
    /// How long to wait for the first event, in ms (capped by `poll_timeout_ms`).
    timeout: Option<u64>,
    /// Ephemeral frames (GM_CHUNK, PRESENCE, TYPING) the client has had since the `after` seq:
    /// with it, the answer also holds the ephemeral frames that came after that seq, past those
    /// first `seen`, so the narrator's chunks that came between two polls are not lost.
    seen: Option<usize>,
}

/// `{"events": [...], "next": <seq>}`; an empty list when nothing came in time.
pub async fn poll(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(room_id): Path<String>,
    Params(q): Params<PollQuery>,
) -> Result<Response, AppError> {
    // This poll counts as a connection, and for `poll_linger_ms` after it: the client polls again.
    let entry = session::enter(&state, &actor, &RoomId(room_id), Transport::Poll).await?;
    let _counted = state.hub.metrics().connection("poll");
    let settings = &state.settings;
    let batch_max = settings.poll_batch_max;
    let mut feed = entry.read(&state, &actor, q.after).await?;
    let mut skip = 0;
    if let (Some(after), Some(seen)) = (q.after, q.seen) {
        feed.replay_ephemeral_after(after);
        skip = seen;
    }
    let wait = Duration::from_millis(q.timeout.unwrap_or(settings.poll_timeout_ms).min(settings.poll_timeout_ms));
    let deadline = tokio::time::Instant::now() + wait;
    let mut events = Vec::new();
    loop {
        let first = tokio::select! {
            _ = state.shutdown.cancelled() => None,
            item = tokio::time::timeout_at(deadline, feed.next()) => item.ok(),
        };
        match first {
            // Ephemeral frames after the cursor that the client had already.
            Some(Ok(Item::Event(e))) if e.is_ephemeral() && skip > 0 => skip -= 1,
            Some(Ok(Item::Event(e))) => {
                events.push(e);
                break;
            }
            Some(Ok(Item::Lagged { .. })) | None => break,
            Some(Err(e)) => return Err(e.into()),
        }
    }
    while !events.is_empty() && events.len() < batch_max && feed.ready() {
        match feed.next().now_or_never() {
            Some(Ok(Item::Event(e))) if e.is_ephemeral() && skip > 0 => skip -= 1,
            Some(Ok(Item::Event(e))) => events.push(e),
            _ => break,
        }
    }
    state.hub.metrics().deliveries.with_label_values(&["poll"]).inc_by(events.len() as u64);
    Ok(page_response(&events, Some(feed.last())))
}
