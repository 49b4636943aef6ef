//! Rooms: list, create, change capacity, who may enter, and a room's stored history.

use std::borrow::Borrow;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use dungeontalk_app::wire::{
    CreateGame, CreateRoom, ErrorCode, RoomId, RoomPresence, RoomSummary, RoomType, UpdateRoom, WorldType,
};
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{Body, Caller, Params};
use crate::cluster::Kind;
use crate::error::AppError;
use crate::model::{Actor, RoomRecord, StoredEvent, now_rfc3339};
use crate::state::AppState;

/// Longest room name, in characters.
pub const MAX_ROOM_NAME_CHARS: usize = 60;
/// Largest capacity a room may be given (0 = unlimited).
pub const MAX_ROOM_CAPACITY: u32 = 1000;

/// The rooms as listed, with their online counts (one shared-state call for all of them).
async fn summaries(state: &AppState, rooms: Vec<RoomRecord>) -> Vec<RoomSummary> {
    let ids: Vec<_> = rooms.iter().map(|r| r.room_id.clone()).collect();
    let counts = state.hub.connected_counts(&ids).await;
    rooms.into_iter().zip(counts).map(|(r, n)| r.summary(n)).collect()
}

/// `GET /api/rooms`: every room the caller may enter, with its online count.
pub async fn list(State(state): State<AppState>, Caller(actor): Caller) -> Result<Json<Vec<RoomSummary>>, AppError> {
    let visible = state.hub.rooms_for(&actor).await?;
    Ok(Json(summaries(&state, visible).await))
}

/// `POST /api/rooms`: creates a room owned by the caller.
pub async fn create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Body(req): Body<CreateRoom>,
) -> Result<(StatusCode, Json<RoomSummary>), AppError> {
    let name = req.name.trim().to_owned();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_ROOM_NAME_CHARS || name.chars().any(char::is_control) {
        let msg = format!("A room name needs 1 to {MAX_ROOM_NAME_CHARS} characters.");
        return Err(AppError::new(ErrorCode::InvalidRequest, msg));
    }
    let max_capacity = req.max_capacity.unwrap_or(state.settings.default_room_capacity);
    state.hub.admit(&actor, Kind::CreateRoom).await?;
    check_room_quota(&state, &actor).await?;
    if req.room_type == RoomType::Game {
        // A game room made here is a game like `POST /api/games` makes, in the default world.
        let req = CreateGame {
            name: Some(name),
            world_type: WorldType::default(),
            // "No limit" (0) is as many as a game seats.
            max_players: req.max_capacity.map(|c| if c == 0 { crate::game::MAX_PLAYERS } else { c }),
            private: req.private,
        };
        let game = state.games.create(&actor, req).await?;
        let room = state.hub.room(&game.room_id).await?;
        return Ok((StatusCode::CREATED, Json(room.summary(0))));
    }
    if max_capacity > MAX_ROOM_CAPACITY {
        let msg = format!("A room holds at most {MAX_ROOM_CAPACITY} members (0 means unlimited).");
        return Err(AppError::new(ErrorCode::InvalidRequest, msg));
    }
    let room = RoomRecord {
        room_id: RoomId(Uuid::now_v7().to_string()),
        name,
        max_capacity,
        created_by: actor.member_id,
        created_at: now_rfc3339(),
        room_type: req.room_type,
        private: req.private,
        allowed: Vec::new(),
        game: None,
    };
    state.hub.create_room(room.clone()).await?;
    Ok((StatusCode::CREATED, Json(room.summary(0))))
}

/// Refuses a new room from a member who has made `max_rooms_per_member` already (`limit.rooms`).
pub async fn check_room_quota(state: &AppState, actor: &Actor) -> Result<(), AppError> {
    let made = state.hub.all_rooms().await?.iter().filter(|r| r.created_by == actor.member_id).count();
    if made >= state.settings.max_rooms_per_member {
        let msg = format!("You have made {made} rooms, as many as one may.");
        return Err(AppError::new(ErrorCode::TooManyRooms, msg));
    }
    Ok(())
}

/// `PATCH /api/rooms/{roomId}`: the creator changes the capacity (`CAPACITY_UPDATED`).
pub async fn update(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(room_id): Path<String>,
    Body(req): Body<UpdateRoom>,
) -> Result<Json<RoomSummary>, AppError> {
    let mut room = state.hub.room_for(&RoomId(room_id), &actor).await?;
    if room.created_by != actor.member_id {
        return Err(AppError::new(ErrorCode::RoomForbidden, "Only the room's creator may change it."));
    }
    if req.max_capacity > MAX_ROOM_CAPACITY {
        let msg = format!("A room holds at most {MAX_ROOM_CAPACITY} members (0 means unlimited).");
        return Err(AppError::new(ErrorCode::InvalidRequest, msg));
    }
    room.max_capacity = req.max_capacity;
    state.hub.update_room(room.clone()).await?;
    state.hub.capacity_updated(&room.room_id, &actor).await;
    let count = state.hub.connected_counts(std::slice::from_ref(&room.room_id)).await[0];
    Ok(Json(room.summary(count)))
}

/// `GET /api/rooms/{roomId}/presence`: who is in the room now (a PRESENCE frame's fields).
pub async fn presence(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(room_id): Path<String>,
) -> Result<Json<RoomPresence>, AppError> {
    let (room, _) = state.hub.reader_for(&RoomId(room_id), &actor).await?;
    let (connected_count, members) = state.hub.snapshot(&room.room_id).await?;
    Ok(Json(RoomPresence { room_id: room.room_id, max_capacity: room.max_capacity, connected_count, members }))
}

#[derive(Deserialize)]
pub struct PageQuery {
    before: Option<u64>,
    after: Option<u64>,
    limit: Option<usize>,
}

/// `GET /api/rooms/{roomId}/messages`: newest first with `?before=`, oldest first with `?after=`.
pub async fn history(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(room_id): Path<String>,
    Params(q): Params<PageQuery>,
) -> Result<Response, AppError> {
    let room_id = RoomId(room_id);
    state.hub.reader_for(&room_id, &actor).await?;
    let limit = q.limit.unwrap_or(50).clamp(1, state.settings.max_page);
    let (events, next) = match (q.before, q.after) {
        (Some(_), Some(_)) => {
            return Err(AppError::new(ErrorCode::InvalidRequest, "Give either before or after, not both."));
        }
        (before, None) => {
            let page = state.hub.history_before(&room_id, before.unwrap_or(u64::MAX), limit).await?;
            let next = page.more.then(|| page.events.last().map(|e| e.seq)).flatten();
            (page.events, next)
        }
        (None, Some(after)) => {
            // Only as far as the store is whole: a later page resumes where this one ends.
            let page = state.hub.history_after(&room_id, after, limit).await?;
            let next = page.events.last().map_or(Some(after), |e| Some(e.seq));
            (page.events, next)
        }
    };
    // Whispers between others are left out; the cursor still moves past them.
    let visible: Vec<&StoredEvent> = events.iter().filter(|e| e.visible_to(&actor.member_id)).collect();
    Ok(page_response(&visible, next))
}

/// `{"events":[…],"next":…}` built from the stored bytes, without parsing them again.
pub fn page_response<E: Borrow<StoredEvent>>(events: &[E], next: Option<u64>) -> Response {
    let mut body = String::with_capacity(events.iter().map(|e| e.borrow().json.len() + 1).sum::<usize>() + 32);
    body.push_str("{\"events\":[");
    for (i, e) in events.iter().map(Borrow::borrow).enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(e.json.as_str());
    }
    body.push_str("],\"next\":");
    match next {
        Some(n) => body.push_str(&n.to_string()),
        None => body.push_str("null"),
    }
    body.push('}');
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}
