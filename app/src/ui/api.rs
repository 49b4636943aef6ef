//! REST calls and the saved session; errors come back as the server's `{code, message}`.

use std::cell::RefCell;

use futures::FutureExt;
use futures::future::{LocalBoxFuture, Shared};
use gloo_net::http::{Request, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::wire::{
    CreateGame, CreateRoom, ErrorBody, ErrorCode, GameView, GuestLogin, HistoryPage, Login, MatchRequest, MatchStatus,
    Register, Registered, RoomPresence, RoomSummary, RoomType, ServerFrame, Session, WorldType,
};

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

/// The unsent text of a room's composer, kept across visits on this browser.
pub fn draft(room_id: &str) -> String {
    storage().and_then(|s| s.get_item(&format!("dungeontalk.draft.{room_id}")).ok().flatten()).unwrap_or_default()
}

/// Keeps (or, when empty, drops) a room's unsent text.
pub fn save_draft(room_id: &str, text: &str) {
    let Some(s) = storage() else { return };
    let key = format!("dungeontalk.draft.{room_id}");
    let _ = if text.is_empty() { s.remove_item(&key) } else { s.set_item(&key, text) };
}

fn network_error(e: impl std::fmt::Display) -> ErrorBody {
    ErrorBody::new(ErrorCode::Unavailable, format!("The server cannot be reached ({e})."))
}

/// The server's error body, or one made from the status when it sent none.
async fn error_of(resp: Response) -> ErrorBody {
    let status = resp.status();
    resp.json::<ErrorBody>()
        .await
        .unwrap_or(ErrorBody::new(ErrorCode::Internal, format!("The server answered {status}.")))
}

async fn read<T: DeserializeOwned>(resp: Result<Response, gloo_net::Error>) -> Result<T, ErrorBody> {
    let resp = resp.map_err(network_error)?;
    if resp.ok() {
        return resp.json::<T>().await.map_err(network_error);
    }
    Err(error_of(resp).await)
}

fn bearer(req: RequestBuilder, token: &str) -> RequestBuilder {
    req.header("Authorization", &format!("Bearer {token}"))
}

async fn post_json<B: Serialize, T: DeserializeOwned>(req: RequestBuilder, body: &B) -> Result<T, ErrorBody> {
    read(req.json(body).map_err(network_error)?.send().await).await
}

/// Whether an error means the token is no good any more.
pub fn is_auth_error(e: &ErrorBody) -> bool {
    matches!(e.code, ErrorCode::InvalidToken | ErrorCode::TokenExpired | ErrorCode::MissingToken | ErrorCode::LoggedOut)
}

/// `POST /api/auth/guest`, keeping the session for the next visit.
pub async fn guest_login(nickname: String) -> Result<Session, ErrorBody> {
    let session: Session = post_json(Request::post("/api/auth/guest"), &GuestLogin { nickname }).await?;
    save_session(&session);
    Ok(session)
}

/// `POST /api/auth/register`.
pub async fn register(req: Register) -> Result<Registered, ErrorBody> {
    post_json(Request::post("/api/auth/register"), &req).await
}

/// `POST /api/auth/login`: the access token (kept), and the refresh cookie (the browser keeps it).
pub async fn login(name: String, password: String) -> Result<Session, ErrorBody> {
    let session: Session = post_json(Request::post("/api/auth/login"), &Login { name, password }).await?;
    save_session(&session);
    Ok(session)
}

type Renewal = Shared<LocalBoxFuture<'static, Result<Session, ErrorBody>>>;

thread_local! {
    /// The renewal in flight: whoever needs a token meanwhile waits for the same answer, so one
    /// page rotates its refresh cookie once (two rotations would look like a stolen token).
    static RENEWING: RefCell<Option<Renewal>> = const { RefCell::new(None) };
}

/// `POST /api/auth/refresh`: a new access token for the refresh cookie (registered members only);
/// single-flight within the page.
pub async fn refresh() -> Result<Session, ErrorBody> {
    let flight =
        RENEWING.with_borrow_mut(|slot| slot.get_or_insert_with(|| renew_once().boxed_local().shared()).clone());
    flight.await
}

async fn renew_once() -> Result<Session, ErrorBody> {
    let answer: Result<Session, ErrorBody> = read(Request::post("/api/auth/refresh").send().await).await;
    // Ended here, not by the callers: a caller that wakes late must not end the next renewal.
    RENEWING.with_borrow_mut(|slot| *slot = None);
    let session = answer?;
    save_session(&session);
    Ok(session)
}

/// `POST /api/auth/cookie`: the token as this browser's stream cookie, so an `EventSource` URL
/// never carries it.
pub async fn stream_cookie(token: &str) -> Result<(), ErrorBody> {
    let resp = bearer(Request::post("/api/auth/cookie"), token).send().await.map_err(network_error)?;
    if resp.ok() { Ok(()) } else { Err(error_of(resp).await) }
}

/// `POST /api/auth/logout`: the token dies on the server, whatever happens to this page.
pub async fn logout(token: &str) -> Result<(), ErrorBody> {
    let resp = bearer(Request::post("/api/auth/logout"), token).send().await.map_err(network_error)?;
    if resp.ok() { Ok(()) } else { Err(error_of(resp).await) }
}

/// `GET /api/rooms/{roomId}/presence`: who is in the room now.
pub async fn presence(token: &str, room_id: &str) -> Result<RoomPresence, ErrorBody> {
    let url = format!("/api/rooms/{}/presence", js_sys::encode_uri_component(room_id));
    read(bearer(Request::get(&url), token).send().await).await
}

/// Ok when the room exists and the token is accepted (asked after a WebSocket fails to open,
/// since a browser WebSocket cannot see the handshake's status).
pub async fn probe_room(token: &str, room_id: &str) -> Result<(), ErrorBody> {
    presence(token, room_id).await.map(|_| ())
}

/// `POST /api/rooms`.
pub async fn create_room(
    token: &str,
    name: String,
    max_capacity: Option<u32>,
    private: bool,
) -> Result<RoomSummary, ErrorBody> {
    let body = CreateRoom { name, max_capacity, room_type: RoomType::Player, private };
    post_json(bearer(Request::post("/api/rooms"), token), &body).await
}

/// `POST /api/rooms` for a private room of one's own (unlimited, listed only for its creator).
pub async fn create_private_room(token: &str, name: String) -> Result<RoomSummary, ErrorBody> {
    let body = CreateRoom { name, max_capacity: Some(0), room_type: RoomType::Player, private: true };
    post_json(bearer(Request::post("/api/rooms"), token), &body).await
}

/// `POST /api/games`: a game room of the caller's.
pub async fn create_game(
    token: &str,
    name: String,
    world_type: WorldType,
    players: u32,
    private: bool,
) -> Result<GameView, ErrorBody> {
    let body = CreateGame { name: Some(name), world_type, max_players: Some(players), private };
    post_json(bearer(Request::post("/api/games"), token), &body).await
}

/// `GET /api/games/{roomId}`: the game's state (`game.not_found` for a chat room).
pub async fn game(token: &str, room_id: &str) -> Result<GameView, ErrorBody> {
    let url = format!("/api/games/{}", js_sys::encode_uri_component(room_id));
    read(bearer(Request::get(&url), token).send().await).await
}

/// `POST /api/games/{roomId}/{start|pause|resume|end}`.
pub async fn game_control(token: &str, room_id: &str, what: &str) -> Result<GameView, ErrorBody> {
    let url = format!("/api/games/{}/{what}", js_sys::encode_uri_component(room_id));
    read(bearer(Request::post(&url), token).send().await).await
}

/// A page of the room's events before `before`, newest first (`limit` at most).
pub async fn history_before(
    token: &str,
    room_id: &str,
    before: u64,
    limit: usize,
) -> Result<Vec<ServerFrame>, ErrorBody> {
    let url = format!("/api/rooms/{}/messages?before={before}&limit={limit}", js_sys::encode_uri_component(room_id));
    let page: HistoryPage = read(bearer(Request::get(&url), token).send().await).await?;
    Ok(page.events)
}

/// Every stored event of a room the caller may see, oldest first (a game's log is short).
pub async fn whole_history(token: &str, room_id: &str) -> Result<Vec<ServerFrame>, ErrorBody> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let url = format!("/api/rooms/{}/messages?after={after}&limit=200", js_sys::encode_uri_component(room_id));
        let page: HistoryPage = read(bearer(Request::get(&url), token).send().await).await?;
        let empty = page.events.is_empty();
        all.extend(page.events);
        match page.next {
            Some(next) if next > after && !empty => after = next,
            _ => return Ok(all),
        }
    }
}

/// `POST /api/matching`: wait for a game of `world_type`.
pub async fn find_game(token: &str, world_type: WorldType) -> Result<MatchStatus, ErrorBody> {
    post_json(bearer(Request::post("/api/matching"), token), &MatchRequest { world_type }).await
}

/// `GET /api/matching`: where the caller stands (`match.not_queued` when nowhere).
pub async fn match_status(token: &str) -> Result<MatchStatus, ErrorBody> {
    read(bearer(Request::get("/api/matching"), token).send().await).await
}

/// `DELETE /api/matching`: stop waiting.
pub async fn stop_finding(token: &str) -> Result<(), ErrorBody> {
    let resp = bearer(Request::delete("/api/matching"), token).send().await.map_err(network_error)?;
    if resp.ok() { Ok(()) } else { Err(error_of(resp).await) }
}
