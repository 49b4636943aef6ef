//! REST calls and the saved session; errors come back as the server's `{code, message}`.

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;

use crate::wire::{CreateRoom, ErrorBody, ErrorCode, GuestLogin, RoomSummary, Session};

const SESSION_KEY: &str = "dungeontalk.session";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The session kept from an earlier visit, if any.
pub fn saved_session() -> Option<Session> {
    let text = storage()?.get_item(SESSION_KEY).ok()??;
    serde_json::from_str(&text).ok()
}

fn save_session(session: &Session) {
    if let (Some(s), Ok(text)) = (storage(), serde_json::to_string(session)) {
        let _ = s.set_item(SESSION_KEY, &text);
    }
}

/// Drops the saved session.
pub fn forget_session() {
    if let Some(s) = storage() {
        let _ = s.remove_item(SESSION_KEY);
    }
}

fn network_error(e: impl std::fmt::Display) -> ErrorBody {
    ErrorBody::new(ErrorCode::Unavailable, format!("The server cannot be reached ({e})."))
}

async fn read<T: DeserializeOwned>(resp: Result<Response, gloo_net::Error>) -> Result<T, ErrorBody> {
    let resp = resp.map_err(network_error)?;
    if resp.ok() {
        return resp.json::<T>().await.map_err(network_error);
    }
    let status = resp.status();
    Err(resp
        .json::<ErrorBody>()
        .await
        .unwrap_or(ErrorBody::new(ErrorCode::Internal, format!("The server answered {status}."))))
}

/// Whether an error means the token is no good any more.
pub fn is_auth_error(e: &ErrorBody) -> bool {
    matches!(e.code, ErrorCode::InvalidToken | ErrorCode::TokenExpired | ErrorCode::MissingToken)
}

/// `POST /api/auth/guest`, keeping the session for the next visit.
pub async fn guest_login(nickname: String) -> Result<Session, ErrorBody> {
    let req = Request::post("/api/auth/guest").json(&GuestLogin { nickname }).map_err(network_error)?;
    let session: Session = read(req.send().await).await?;
    save_session(&session);
    Ok(session)
}

/// `GET /api/rooms`.
pub async fn rooms(token: &str) -> Result<Vec<RoomSummary>, ErrorBody> {
    read(Request::get("/api/rooms").header("Authorization", &format!("Bearer {token}")).send().await).await
}

/// Ok when the room exists and the token is accepted (asked after a WebSocket fails to open,
/// since a browser WebSocket cannot see the handshake's status).
pub async fn probe_room(token: &str, room_id: &str) -> Result<(), ErrorBody> {
    let url = format!("/api/rooms/{}/messages?limit=1", js_sys::encode_uri_component(room_id));
    let resp = Request::get(&url).header("Authorization", &format!("Bearer {token}")).send().await;
    read::<serde_json::Value>(resp).await.map(|_| ())
}

/// `POST /api/rooms`.
pub async fn create_room(token: &str, name: String) -> Result<RoomSummary, ErrorBody> {
    let req = Request::post("/api/rooms")
        .header("Authorization", &format!("Bearer {token}"))
        .json(&CreateRoom { name, max_capacity: None })
        .map_err(network_error)?;
    read(req.send().await).await
}
