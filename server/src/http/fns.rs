//! `/api/fn/*`: the UI's typed server functions (defined in the app crate, served by
//! `leptos_axum`) with the server's data in their context.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::response::IntoResponse;
use dungeontalk_app::fns::ServerData;
use std::time::Duration;

use dungeontalk_app::wire::{Comparison, ComparisonRun, ErrorBody, ErrorCode, IdleRun, OpsView};
use leptos::prelude::provide_context;
use serde_json::Value;

use crate::auth::Auth;
use crate::config::Settings;
use crate::hub::Hub;
use crate::model::now_ms;
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

/// How often a node reports its numbers for the ops view; a node silent for three periods is
/// no longer listed (its entry is dropped).
pub const OPS_REPORT: Duration = Duration::from_secs(2);

/// What every server function call gets in its context.
pub fn data(auth: &Arc<Auth>, hub: &Arc<Hub>, settings: &Arc<Settings>) -> ServerData {
    let auth = auth.clone();
    let (hub, settings) = (hub.clone(), settings.clone());
    ServerData {
        comparison: comparison(COMPARISON).map(Arc::new),
        measurements: Arc::new(Mutex::new(VecDeque::new())),
        verify: Arc::new(move |token: &str| {
            auth.verify(token).map(|a| a.nickname).map_err(|e| ErrorBody::new(e.code, e.message))
        }),
        ops: Arc::new(move || Box::pin(ops(hub.clone(), settings.clone()))),
    }
}

/// Sends this node's numbers to the shared state every [`OPS_REPORT`] until the server stops.
pub async fn report(hub: Arc<Hub>, node: String, shutdown: tokio_util::sync::CancellationToken) {
    let mut timer = tokio::time::interval(OPS_REPORT);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = timer.tick() => {
                let stats = hub.metrics().stats(&node, now_ms());
                if let Err(e) = hub.cluster().channel.report(&stats).await {
                    tracing::debug!(error = %e, "ops: report not sent");
                }
            }
        }
    }
}

/// The ops view: every node that reported lately, with this node's numbers as of now.
async fn ops(hub: Arc<Hub>, settings: Arc<Settings>) -> Result<OpsView, ErrorBody> {
    let since = now_ms().saturating_sub(3 * OPS_REPORT.as_millis() as u64);
    let mut nodes = hub.cluster().channel.nodes(since).await.map_err(|e| {
        tracing::warn!(error = %e, "ops: no node reports");
        ErrorBody::new(ErrorCode::Unavailable, "The shared state does not answer; try again.")
    })?;
    let me = hub.metrics().stats(&settings.node_id, now_ms());
    nodes.retain(|n| n.node != me.node);
    nodes.push(me);
    nodes.sort_by(|a, b| a.node.cmp(&b.node));
    let [store, log, shared] = settings.backends().map(|(_, name)| name.to_owned());
    Ok(OpsView { node: settings.node_id.clone(), store, log, shared, nodes })
}

/// Serves one server function call.
pub async fn serve(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    mut req: Request<Body>,
) -> axum::response::Response {
    // Nested under `/api`, the request lost its prefix; server functions are found by full path.
    *req.uri_mut() = uri;
    let data = state.fns.clone();
    let rooms = super::room_fns::for_call(&state);
    let context = move || {
        provide_context(data.clone());
        provide_context(rooms.clone());
    };
    let resp = leptos_axum::handle_server_fns_with_context(context, req).await.into_response();
    if !resp.headers().contains_key(SERVER_FN_ERROR_HEADER) {
        return resp;
    }
    // Server functions answer every refusal with a 500; the body says what it was.
    let bytes = axum::body::to_bytes(resp.into_body(), MAX_ERROR_BYTES).await.unwrap_or_default();
    let body = serde_json::from_slice::<ErrorBody>(&bytes)
        .unwrap_or_else(|_| ErrorBody::new(ErrorCode::Internal, "The server function failed."));
    crate::error::AppError::new(body.code, body.message).into_response()
}

/// The header `server_fn` marks its error answers with.
const SERVER_FN_ERROR_HEADER: &str = "serverfnerror";
/// An error body is a code and a sentence.
const MAX_ERROR_BYTES: usize = 64 * 1024;
