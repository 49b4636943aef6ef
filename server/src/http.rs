//! The HTTP surface: one router over one `AppState`; each transport is a thin adapter over the hub.

use axum::Router;
use axum::routing::{get, post};
use dungeontalk_app::wire::ErrorCode;
use tower_http::trace::TraceLayer;

use crate::error::AppError;
use crate::state::AppState;

pub(crate) mod assets;
mod extract;
mod health;
mod rooms;
mod session;
mod ws;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/auth/guest", post(session::guest))
        .route("/rooms", get(rooms::list).post(rooms::create))
        .route("/rooms/{room_id}/messages", get(rooms::history))
        .fallback(|| async { AppError::new(ErrorCode::NotFound, "No such API endpoint.") });
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/ws", get(ws::handshake))
        .nest("/api", api)
        .fallback(assets::serve)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

#[cfg(test)]
mod tests;
