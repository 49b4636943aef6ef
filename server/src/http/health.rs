//! Liveness, readiness (each configured backend by name) and Prometheus metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::state::AppState;

/// 200 while the process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// 200 when every configured backend answers, else 503 naming the ones that do not (`failing`:
/// `mongodb`, `kafka`, `redis`, or `store`/`log`/`shared` for the embedded ones).
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let hub = &state.hub;
    let s = &state.settings;
    let backends: serde_json::Map<String, Value> =
        s.backends().into_iter().map(|(role, name)| (role.to_owned(), Value::from(name))).collect();
    let backends = Value::Object(backends);
    let limit = std::time::Duration::from_millis(s.backend_timeout_ms);
    let timed = |what: &'static str| {
        move |r: Result<Result<(), String>, _>| match r {
            Ok(Ok(())) => None,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, backend = what, "not ready");
                Some((what, e))
            }
            Err(_) => {
                tracing::warn!(backend = what, "not ready: timed out");
                Some((what, "timed out".to_owned()))
            }
        }
    };
    let (store, log, shared) = tokio::join!(
        tokio::time::timeout(limit, async { hub.store().ping().await.map_err(|e| e.to_string()) }),
        tokio::time::timeout(limit, async { hub.log().ping().await.map_err(|e| e.to_string()) }),
        tokio::time::timeout(limit, async { hub.cluster().channel.ping().await.map_err(|e| e.to_string()) }),
    );
    let mut errors = serde_json::Map::new();
    let failing: Vec<String> = [timed("store")(store), timed("log")(log), timed("shared")(shared)]
        .into_iter()
        .flatten()
        .map(|(role, error)| {
            let name = match backends[role].as_str() {
                Some("embedded" | "local") | None => role.to_owned(),
                Some(name) => name.to_owned(),
            };
            errors.insert(name.clone(), Value::from(error));
            name
        })
        .collect();
    if failing.is_empty() {
        (StatusCode::OK, Json(json!({"status": "ready", "node": s.node_id, "backends": backends})))
    } else {
        let body = json!({
            "status": "unavailable", "node": s.node_id, "failing": failing, "errors": errors, "backends": backends,
        });
        (StatusCode::SERVICE_UNAVAILABLE, Json(body))
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let hub = &state.hub;
    let rooms = hub.rooms().ids();
    let counts = hub.connected_counts(&rooms).await;
    let gauge = &hub.metrics().room_members;
    gauge.reset();
    for (room, n) in rooms.iter().zip(counts) {
        gauge.with_label_values(&[room.0.as_str()]).set(i64::from(n));
    }
    for (table, n) in hub.tables() {
        hub.metrics().table_entries.with_label_values(&[table]).set(n as i64);
    }
    hub.metrics().table_entries.with_label_values(&["games"]).set(state.games.watched() as i64);
    // A cache bounded by its size (see `hub::latest`), not by connections.
    hub.metrics().table_entries.with_label_values(&["latest"]).set(hub.latest().len() as i64);
    for (kind, n) in state.games.narrator_work().labelled() {
        hub.metrics().gm_work.with_label_values(&[kind]).set(n as i64);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], hub.metrics().render())
}
