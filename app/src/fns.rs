//! The UI's typed server functions (`leptos_axum` serves them under `/api/fn/`): the client half
//! is a stub that POSTs JSON, the server half (feature `ssr`) reads what the server put in the
//! context ([`ServerData`]). The ops view of the cluster issue uses the same mechanism.

use leptos::prelude::*;
use leptos::server_fn::codec::{Json, JsonEncoding};
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::wire::{Comparison, ErrorBody, ErrorCode, Invited, MeasureReport, OpsView, ReadMark, RoomActivity, RoomId};

/// A server function's refusal: the `{code, message}` body of every error answer (the server
/// gives it the code's HTTP status).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FnError(pub ErrorBody);

impl FnError {
    fn new(code: ErrorCode, message: impl Into<String>) -> FnError {
        FnError(ErrorBody::new(code, message))
    }
}

impl std::fmt::Display for FnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl FromServerFnError for FnError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(e: ServerFnErrorErr) -> FnError {
        // On the server the only thing deserialized is the request: its failure is the caller's.
        let bad_request = cfg!(feature = "ssr") && matches!(e, ServerFnErrorErr::Deserialization(_));
        let code = match e {
            _ if bad_request => ErrorCode::InvalidRequest,
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => ErrorCode::InvalidRequest,
            ServerFnErrorErr::Request(_) => ErrorCode::Unavailable,
            _ => ErrorCode::Internal,
        };
        FnError::new(code, e.to_string())
    }
}

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
///
/// Cloned into every handler's state, so a clone shares everything (a clone per WebSocket would
/// otherwise copy the comparison's ~1.6 KiB for the socket's whole life).
#[derive(Clone)]
pub struct ServerData {
    pub comparison: Option<std::sync::Arc<Comparison>>,
    /// The newest live runs, at most [`KEPT_MEASUREMENTS`].
    pub measurements: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<MeasureReport>>>,
    /// The nickname a valid access token names, or why it is refused.
    pub verify: std::sync::Arc<Verify>,
    pub ops: std::sync::Arc<Ops>,
}

/// A server function's answer from the server's side.
#[cfg(feature = "ssr")]
pub type Answer<T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, ErrorBody>> + Send>>;

/// What the room list's server functions ask of the server (put in each call's context as an
/// `Arc<dyn RoomFns>`); each checks the token first.
#[cfg(feature = "ssr")]
pub trait RoomFns: Send + Sync {
    /// Every room the member may enter, with their unread counts and the room's last line.
    fn activity(&self, token: String) -> Answer<Vec<RoomActivity>>;
    /// Moves the member's read mark in a room.
    fn mark_read(&self, token: String, room_id: RoomId, seq: u64) -> Answer<ReadMark>;
    /// Invites a member named by login name or by the nickname they go by in a room now.
    fn invite(&self, token: String, room_id: RoomId, name: String) -> Answer<Invited>;
}

/// Live runs the server keeps (older ones are dropped).
pub const KEPT_MEASUREMENTS: usize = 20;

/// The last full comparison (`bench/compare.sh`) this server was built with, if any.
#[server(prefix = "/api/fn", endpoint = "comparison", input = Json)]
pub async fn last_comparison() -> Result<Option<Comparison>, FnError> {
    Ok(expect_context::<ServerData>().comparison.as_deref().cloned())
}

/// Keeps a live run made in the browser (signed in: the token names who ran it) and answers the
/// newest runs.
#[server(prefix = "/api/fn", endpoint = "measurements", input = Json)]
pub async fn save_measurement(token: String, report: MeasureReport) -> Result<Vec<MeasureReport>, FnError> {
    use crate::wire::{MAX_CDF_POINTS, MAX_RUN_TRANSPORTS};
    let data = expect_context::<ServerData>();
    let nickname = (data.verify)(&token).map_err(FnError)?;
    let valid =
        report.results.len() <= MAX_RUN_TRANSPORTS && report.results.iter().all(|m| m.cdf.len() <= MAX_CDF_POINTS);
    if !valid {
        let msg =
            format!("A run has at most {MAX_RUN_TRANSPORTS} transports of at most {MAX_CDF_POINTS} CDF points each.");
        return Err(FnError::new(ErrorCode::InvalidRequest, msg));
    }
    let at = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let mut kept = data.measurements.lock().expect("measurements lock");
    kept.push_front(MeasureReport { nickname, at, results: report.results });
    kept.truncate(KEPT_MEASUREMENTS);
    Ok(kept.iter().cloned().collect())
}

/// The newest live runs, newest first.
#[server(prefix = "/api/fn", endpoint = "recent_measurements", input = Json)]
pub async fn recent_measurements() -> Result<Vec<MeasureReport>, FnError> {
    let data = expect_context::<ServerData>();
    let kept = data.measurements.lock().expect("measurements lock");
    Ok(kept.iter().cloned().collect())
}

/// The cluster's nodes and their numbers: connections per transport, rooms, RESYNCs, consumer
/// lag (signed-in members only).
#[server(prefix = "/api/fn", endpoint = "ops_view", input = Json)]
pub async fn cluster_ops(token: String) -> Result<OpsView, FnError> {
    let data = expect_context::<ServerData>();
    let answer = match (data.verify)(&token) {
        Ok(_) => (data.ops)().await,
        Err(e) => Err(e),
    };
    answer.map_err(FnError)
}

/// Every room the caller may enter, with what is new for them since their read mark and the
/// room's last line.
#[server(prefix = "/api/fn", endpoint = "room_activity", input = Json)]
pub async fn list_activity(token: String) -> Result<Vec<RoomActivity>, FnError> {
    expect_context::<std::sync::Arc<dyn RoomFns>>().activity(token).await.map_err(FnError)
}

/// The caller has seen the room through `seq`: their read mark moves there (never back).
#[server(prefix = "/api/fn", endpoint = "mark_read", input = Json)]
pub async fn mark_read(token: String, room_id: RoomId, seq: u64) -> Result<ReadMark, FnError> {
    expect_context::<std::sync::Arc<dyn RoomFns>>().mark_read(token, room_id, seq).await.map_err(FnError)
}

/// Invites someone into a room by name: a registered login name, or the nickname of one member
/// in a room now (`member.ambiguous` when several go by it).
#[server(prefix = "/api/fn", endpoint = "invite", input = Json)]
pub async fn invite_by_name(token: String, room_id: RoomId, name: String) -> Result<Invited, FnError> {
    expect_context::<std::sync::Arc<dyn RoomFns>>().invite(token, room_id, name).await.map_err(FnError)
}
