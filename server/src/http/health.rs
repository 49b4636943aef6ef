//! Liveness and readiness.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::state::AppState;

/// 200 while the process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// 200 when every configured backend answers, else 503 naming the ones that do not.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let mut failing = Vec::new();
    if let Err(e) = state.hub.store().ping().await {
        tracing::warn!(error = %e, "store not ready");
        failing.push("store");
    }
    if failing.is_empty() {
        (StatusCode::OK, Json(json!({"status": "ready"})))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable", "failing": failing})))
    }
}
