//! The UI's typed server functions (`leptos_axum` serves them under `/api/fn/`): the client half
//! is a stub that POSTs JSON, the server half (feature `ssr`) reads what the server put in the
//! context ([`ServerData`]). The ops view of the cluster issue uses the same mechanism.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::wire::{Comparison, MeasureReport, OpsView};

/// Checks an access token: the nickname it names, or why it is refused.
#[cfg(feature = "ssr")]
pub type Verify = dyn Fn(&str) -> Result<String, crate::wire::ErrorBody> + Send + Sync;

/// Gathers the ops view: this node's numbers and every other node's last report.
#[cfg(feature = "ssr")]
pub type Ops = dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<OpsView, crate::wire::ErrorBody>> + Send>>
    + Send
    + Sync;

/// What the server hands its server functions: the comparison it was built with, the live runs
/// kept in memory, a way to check a token, and the ops view.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct ServerData {
    pub comparison: Option<Comparison>,
    /// The newest live runs, at most [`KEPT_MEASUREMENTS`].
    pub measurements: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<MeasureReport>>>,
    /// The nickname a valid access token names, or why it is refused.
    pub verify: std::sync::Arc<Verify>,
    pub ops: std::sync::Arc<Ops>,
}

/// Sets the HTTP status of the server function's answer (a refusal is never a 200).
#[cfg(feature = "ssr")]
fn set_status(code: u16) {
    let code = http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::BAD_REQUEST);
    expect_context::<leptos_axum::ResponseOptions>().set_status(code);
}

/// Live runs the server keeps (older ones are dropped).
pub const KEPT_MEASUREMENTS: usize = 20;

/// The last full comparison (`bench/compare.sh`) this server was built with, if any.
#[server(prefix = "/api/fn", endpoint = "comparison", input = Json)]
pub async fn last_comparison() -> Result<Option<Comparison>, ServerFnError> {
    Ok(expect_context::<ServerData>().comparison)
}

/// Keeps a live run made in the browser (signed in: the token names who ran it) and answers the
/// newest runs.
#[server(prefix = "/api/fn", endpoint = "measurements", input = Json)]
pub async fn save_measurement(token: String, report: MeasureReport) -> Result<Vec<MeasureReport>, ServerFnError> {
    use crate::wire::MAX_CDF_POINTS;
    let data = expect_context::<ServerData>();
    let nickname = match (data.verify)(&token) {
        Ok(n) => n,
        Err(e) => {
            set_status(e.code.http_status());
            return Err(ServerFnError::new(e.message));
        }
    };
    let valid = report.results.len() <= 3 && report.results.iter().all(|m| m.cdf.len() <= MAX_CDF_POINTS);
    if !valid {
        set_status(400);
        return Err(ServerFnError::new("A run has at most 3 transports of at most 64 CDF points each."));
    }
    let at = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let mut kept = data.measurements.lock().expect("measurements lock");
    kept.push_front(MeasureReport { nickname, at, results: report.results });
    kept.truncate(KEPT_MEASUREMENTS);
    Ok(kept.iter().cloned().collect())
}

/// The newest live runs, newest first.
#[server(prefix = "/api/fn", endpoint = "recent_measurements", input = Json)]
pub async fn recent_measurements() -> Result<Vec<MeasureReport>, ServerFnError> {
    let data = expect_context::<ServerData>();
    let kept = data.measurements.lock().expect("measurements lock");
    Ok(kept.iter().cloned().collect())
}

/// The cluster's nodes and their numbers: connections per transport, rooms, RESYNCs, consumer
/// lag (signed-in members only).
#[server(prefix = "/api/fn", endpoint = "ops_view", input = Json)]
pub async fn cluster_ops(token: String) -> Result<OpsView, ServerFnError> {
    let data = expect_context::<ServerData>();
    let answer = match (data.verify)(&token) {
        Ok(_) => (data.ops)().await,
        Err(e) => Err(e),
    };
    answer.map_err(|e| {
        set_status(e.code.http_status());
        ServerFnError::new(e.message)
    })
}
