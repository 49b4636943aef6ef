//! `GET /api/notifications/stream` (a member's mentions and invitations, as SSE) and
//! `POST /api/rooms/{roomId}/invitations`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use dungeontalk_app::wire::{ErrorCode, Invite, Invited, MemberId, Notification, RoomId};
use futures_util::stream;
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};

use super::alarms::{Alarm, Alarms};
use super::detach::Detach;
use super::extract::{Body, Caller, Params};
use super::sse::{HEARTBEAT, ended_event, heartbeat, sse_response, stream_caller};
use crate::cluster::Kind;
use crate::error::AppError;
use crate::hub::notify::encode;
use crate::model::{Actor, now_rfc3339};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
    /// The member the stream is for, when the token comes from the cookie.
    #[serde(rename = "as")]
    expect: Option<String>,
}

struct NoticeStream {
    rx: broadcast::Receiver<Bytes>,
    alarms: Alarms,
    hello: Option<Bytes>,
    done: bool,
    _queue: QueueSeat,
}

/// A member's place in the matching queue while their notification stream is open: once no
/// stream of theirs is open here, they leave the queue (see `Games::stream_closed`).
struct QueueSeat {
    games: std::sync::Arc<crate::game::Games>,
    member: MemberId,
}

impl Drop for QueueSeat {
    fn drop(&mut self) {
        self.games.stream_closed(std::mem::replace(&mut self.member, MemberId(String::new())));
    }
}

impl NoticeStream {
    async fn chunk(&mut self) -> Option<Bytes> {
        if let Some(hello) = self.hello.take() {
            return Some(hello);
        }
        if self.done {
            return None;
        }
        loop {
            tokio::select! {
                alarm = self.alarms.next() => match alarm {
                    Alarm::Stopping => return None,
                    Alarm::Ended(why) => {
                        self.done = true;
                        return Some(ended_event(why));
                    }
                    Alarm::Tick => return Some(Bytes::from_static(HEARTBEAT)),
                },
                n = self.rx.recv() => match n {
                    Ok(bytes) => return Some(bytes),
                    // Notifications are best effort: a reader this far behind skips the oldest.
                    Err(RecvError::Lagged(skipped)) => tracing::debug!(skipped, "notification reader lagged"),
                    Err(RecvError::Closed) => return None,
                },
            }
        }
    }
}

/// `GET /api/notifications/stream`: `connected` first, then `mention` and `invitation` events.
pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    detach: Detach,
    Params(q): Params<TokenQuery>,
) -> Result<Response, AppError> {
    let (actor, revocation) = stream_caller(&state, &headers, q.token.as_deref(), q.expect.as_deref())?;
    let hello =
        encode(&Notification::Connected { member_id: actor.member_id.clone(), nickname: actor.nickname.clone() });
    let st = NoticeStream {
        rx: state.hub.notifications(&actor).await,
        alarms: Alarms::new(heartbeat(&state), &state.shutdown, revocation),
        hello: Some(hello),
        done: false,
        _queue: QueueSeat { games: state.games.clone(), member: actor.member_id.clone() },
    };
    let body = stream::unfold(st, |mut st| async move { st.chunk().await.map(|c| (c, st)) });
    Ok(sse_response(detach, body))
}

/// `POST /api/rooms/{roomId}/invitations`: lets a member into a private room and tells them (if
/// their notification stream is open) that the caller invites them.
pub async fn invite(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(room_id): Path<String>,
    Body(req): Body<Invite>,
) -> Result<(StatusCode, Json<Invited>), AppError> {
    let invited = invite_member(&state, &actor, &RoomId(room_id), req.member_id).await?;
    Ok((StatusCode::ACCEPTED, Json(invited)))
}

/// Lets `member` into the room (if it is private) and tells them the caller invites them.
pub async fn invite_member(
    state: &AppState,
    actor: &Actor,
    room_id: &RoomId,
    member: MemberId,
) -> Result<Invited, AppError> {
    let mut room = state.hub.room_for(room_id, actor).await?;
    state.hub.admit(actor, Kind::Invite).await?;
    if room.private && !room.allowed.contains(&member) {
        // An invitation into a private room is the key to it.
        room.allowed.push(member.clone());
        state.hub.update_room(room.clone()).await?;
    }
    let notification = Notification::Invitation {
        room_id: room.room_id,
        room_name: room.name,
        from_id: actor.member_id.clone(),
        from_nickname: actor.nickname.clone(),
        created_at: now_rfc3339(),
    };
    let delivered = state.hub.notify(&member, &notification).await?;
    Ok(Invited { delivered })
}

/// The member a name means: a registered login name first, else the one member who goes by that
/// nickname (any case) in a room now.
pub async fn member_named(state: &AppState, name: &str) -> Result<MemberId, AppError> {
    if name.trim().is_empty() {
        return Err(AppError::new(ErrorCode::InvalidRequest, "Give the name of the member to invite."));
    }
    if let Some(member) = state.accounts.member_named(name).await? {
        return Ok(member);
    }
    let wanted = name.trim().to_lowercase();
    let mut found = std::collections::HashSet::new();
    for room in state.hub.all_rooms().await? {
        let (_, members) = state.hub.snapshot(&room.room_id).await?;
        found.extend(members.into_iter().filter(|m| m.nickname.to_lowercase() == wanted).map(|m| m.member_id));
    }
    let mut found = found.into_iter();
    match (found.next(), found.next()) {
        (Some(member), None) => Ok(member),
        (None, _) => Err(AppError::new(
            ErrorCode::MemberNotFound,
            format!("No one called {} is in a room now or has an account.", name.trim()),
        )),
        (Some(_), Some(_)) => Err(AppError::new(
            ErrorCode::MemberAmbiguous,
            format!("More than one member goes by {}; use their login name.", name.trim()),
        )),
    }
}
