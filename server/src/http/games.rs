//! `/api/games` (make a game, its state, start/pause/resume/end) and `/api/matching` (the queue).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use dungeontalk_app::wire::{CreateGame, GameView, MatchRequest, MatchStatus, RoomId};

use super::extract::{Body, Caller};
use super::rooms::check_room_quota;
use crate::cluster::Kind;
use crate::error::AppError;
use crate::game::Control;
use crate::state::AppState;

/// `POST /api/games`: a game room made by the caller (who then JOINs it like any room).
pub async fn create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Body(req): Body<CreateGame>,
) -> Result<(StatusCode, Json<GameView>), AppError> {
    state.hub.admit(&actor, Kind::CreateRoom).await?;
    check_room_quota(&state, &actor).await?;
    Ok((StatusCode::CREATED, Json(state.games.create(&actor, req).await?)))
}

/// `GET /api/games/{roomId}`: the game's state (for anyone who may read the room).
pub async fn view(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(room_id): Path<String>,
) -> Result<Json<GameView>, AppError> {
    let (room, _) = state.hub.reader_for(&RoomId(room_id), &actor).await?;
    Ok(Json(state.games.view(&room).await?))
}

/// `POST /api/games/{roomId}/{start|pause|resume|end}`: a seated player moves the game.
pub async fn control(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((room_id, what)): Path<(String, String)>,
) -> Result<Json<GameView>, AppError> {
    let what = match what.as_str() {
        "start" => Control::Start,
        "pause" => Control::Pause,
        "resume" => Control::Resume,
        "end" => Control::End,
        _ => return Err(AppError::new(dungeontalk_app::wire::ErrorCode::NotFound, "No such API endpoint.")),
    };
    let room = state.hub.room_for(&RoomId(room_id), &actor).await?;
    Ok(Json(state.games.control(&room, &actor, what).await?))
}

/// `POST /api/matching`: wait for a game of a world (202 with how many wait, and the room when
/// this call completed a party).
pub async fn enqueue(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Body(req): Body<MatchRequest>,
) -> Result<(StatusCode, Json<MatchStatus>), AppError> {
    Ok((StatusCode::ACCEPTED, Json(state.games.enqueue(&actor, req.world_type).await?)))
}

/// `GET /api/matching`: 200 while queued or just matched, else 404 `match.not_queued`.
pub async fn status(State(state): State<AppState>, Caller(actor): Caller) -> Result<Json<MatchStatus>, AppError> {
    Ok(Json(state.games.match_status(&actor.member_id).await?))
}

/// `DELETE /api/matching`: stop waiting (204, also when not queued: the caller's wish holds).
pub async fn leave(State(state): State<AppState>, Caller(actor): Caller) -> Result<StatusCode, AppError> {
    state.games.leave_queue(&actor.member_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
