//! The HTTP surface: one router over one `AppState`; each transport is a thin adapter over the hub.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, patch, post};
use dungeontalk_app::wire::ErrorCode;
use tower_http::trace::TraceLayer;

use crate::error::AppError;
use crate::state::AppState;

mod alarms;
pub(crate) mod assets;
mod deadline;
pub(crate) mod detach;
mod extract;
pub mod fns;
mod frames;
mod games;
mod health;
mod messages;
mod notify;
mod poll;
mod room_fns;
mod rooms;
mod session;
mod sockjs;
mod sse;
mod stomp;
pub mod websocket;
mod ws;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/auth/guest", post(session::guest))
        .route("/auth/register", post(session::register))
        .route("/auth/login", post(session::login))
        .route("/auth/refresh", post(session::refresh))
        .route("/auth/logout", post(session::logout))
        .route("/auth/cookie", post(session::stream_cookie))
        .route("/rooms", get(rooms::list).post(rooms::create))
        .route("/rooms/{room_id}", patch(rooms::update))
        .route("/rooms/{room_id}/messages", get(rooms::history).post(messages::post))
        .route("/rooms/{room_id}/events", get(sse::room_events))
        .route("/rooms/{room_id}/presence", get(rooms::presence))
        .route("/rooms/{room_id}/poll", get(poll::poll))
        .route("/rooms/{room_id}/invitations", post(notify::invite))
        .route("/notifications/stream", get(notify::stream))
        .route("/games", post(games::create))
        .route("/games/{room_id}", get(games::view))
        .route("/games/{room_id}/{action}", post(games::control))
        .route("/matching", get(games::status).post(games::enqueue).delete(games::leave))
        .route("/fn/{*name}", post(fns::serve))
        // Bigger POST bodies are refused as `chat.frame_too_large` before they are read whole.
        .layer(DefaultBodyLimit::max(state.settings.max_frame_bytes))
        .fallback(|| async { AppError::new(ErrorCode::NotFound, "No such API endpoint.") });
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/ws", get(ws::handshake))
        .route("/ws-chat", get(stomp::handshake))
        // SockJS's raw WebSocket is plain STOMP over WebSocket.
        .route("/ws-chat/websocket", get(stomp::handshake))
        .merge(sockjs::router(state.clone()))
        .nest("/api", api)
        .fallback(assets::serve)
        // Spans name the path only: a query string may carry an access token (`?token=`).
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
        }))
        .with_state(state)
}

#[cfg(test)]
mod tests;
