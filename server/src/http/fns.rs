//! `/api/fn/*`: the UI's typed server functions (defined in the app crate, served by
//! `leptos_axum`) with the server's data in their context.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::response::IntoResponse;
use dungeontalk_app::fns::ServerData;
use dungeontalk_app::wire::{Comparison, ComparisonRun, ErrorBody, IdleRun};
use leptos::prelude::provide_context;
use serde_json::Value;

use crate::auth::Auth;
use crate::state::AppState;

/// The comparison this binary was built with (`bench/results/results.json`, if it existed).
const COMPARISON: &str = include_str!(concat!(env!("OUT_DIR"), "/comparison.json"));

/// The server functions' view of the bench's results file.
pub fn comparison(json: &str) -> Option<Comparison> {
    let v: Value = serde_json::from_str(json).ok()?;
    let num = |v: &Value| v.as_f64().unwrap_or(0.0);
    let runs = v["fanout"]
        .as_array()?
        .iter()
        .map(|f| {
            let light = &f["steps"][0];
            ComparisonRun {
                server: f["server"].as_str().unwrap_or_default().to_owned(),
                transport: f["transport"].as_str().unwrap_or_default().to_owned(),
                connections: (num(&f["rooms"]) * num(&f["subscribers_per_room"])) as u32,
                max_sustained: num(&f["max_sustained"]),
                light_p50_ms: num(&light["latency"]["p50"]),
                light_p99_ms: num(&light["latency"]["p99"]),
                bytes_per_delivery: num(&light["bytes_per_delivery"]),
            }
        })
        .collect();
    let idle = v["idle"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|i| IdleRun {
                    server: i["server"].as_str().unwrap_or_default().to_owned(),
                    transport: i["transport"].as_str().unwrap_or_default().to_owned(),
                    kib_per_connection: num(&i["kib_per_connection"]),
                })
                .collect()
        })
        .unwrap_or_default();
    Some(Comparison { machine: v["machine"].as_str().unwrap_or_default().to_owned(), runs, idle })
}

/// What every server function call gets in its context.
pub fn data(auth: &Arc<Auth>) -> ServerData {
    let auth = auth.clone();
    ServerData {
        comparison: comparison(COMPARISON),
        measurements: Arc::new(Mutex::new(VecDeque::new())),
        verify: Arc::new(move |token: &str| {
            auth.verify(token).map(|a| a.nickname).map_err(|e| ErrorBody::new(e.code, e.message))
        }),
    }
}

/// Serves one server function call.
pub async fn serve(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    mut req: Request<Body>,
) -> impl IntoResponse {
    // Nested under `/api`, the request lost its prefix; server functions are found by full path.
    *req.uri_mut() = uri;
    let data = state.fns.clone();
    leptos_axum::handle_server_fns_with_context(move || provide_context(data.clone()), req).await
}
