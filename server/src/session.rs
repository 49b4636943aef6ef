//! A client's way into a room, the same on every transport: the room admits the caller (or
//! refuses with a code), the caller is counted as attending, and their feed starts at their
//! cursor. Transports differ only in the few knobs of [`Transport`]; each adapts an [`Entry`] to
//! its own frames, so a new transport touches its own file and one line here.

use std::time::Duration;

use dungeontalk_app::wire::RoomId;

use crate::config::Settings;
use crate::error::AppError;
use crate::hub::Attendance;
use crate::hub::feed::{Feed, OnLag};
use crate::model::{Actor, RoomRecord};
use crate::state::AppState;

/// The ways into a room, as far as they read it differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// `GET /ws`: a reader a ring behind is told (`RESYNC`).
    WebSocket,
    /// A STOMP subscription (`/ws-chat`, SockJS): as the WebSocket.
    Stomp,
    /// `GET /api/rooms/{roomId}/events`: catches up from the store; counted while it is open.
    Sse,
    /// `GET /api/rooms/{roomId}/poll`: catches up from the store, a batch per poll.
    Poll,
    /// `POST /api/rooms/{roomId}/messages`: writes only (a POSTed JOIN is how one takes a seat).
    Post,
}

impl Transport {
    /// How long the caller stays counted after the connection or request ends: a quick
    /// reconnect (or the next poll) is no LEAVE and JOIN.
    fn linger(self, s: &Settings) -> Duration {
        Duration::from_millis(match self {
            Transport::WebSocket | Transport::Stomp => s.ws_linger_ms,
            // The browser's EventSource comes back by itself; its new stream is counted anew.
            Transport::Sse => 0,
            Transport::Poll | Transport::Post => s.poll_linger_ms,
        })
    }

    /// What a reader a whole ring behind gets.
    fn on_lag(self) -> OnLag {
        match self {
            Transport::WebSocket | Transport::Stomp => OnLag::Report,
            Transport::Sse | Transport::Poll | Transport::Post => OnLag::CatchUp,
        }
    }

    /// Events read from the store at a time; a poll never needs more than one answer's worth.
    fn page(self, s: &Settings) -> usize {
        match self {
            Transport::Poll => s.poll_batch_max.min(s.replay_page),
            _ => s.replay_page,
        }
    }

    /// The recent history a reader without a cursor starts with.
    fn recent(self, s: &Settings) -> usize {
        match self {
            Transport::Poll => s.history_on_join.min(s.poll_batch_max),
            _ => s.history_on_join,
        }
    }
}

/// A caller the room admits, not counted yet (see [`Admitted::attend`]).
pub struct Admitted {
    /// The room as it was at the door.
    pub room: RoomRecord,
    /// Whether the caller held a seat then.
    pub seated: bool,
    transport: Transport,
}

/// A caller let into a room: counted as attending until this is dropped (and the transport's
/// linger after).
pub struct Entry {
    /// The room as it was at the door.
    pub room: RoomRecord,
    /// Whether the caller held a seat then (a seatless reader leaves when the room fills).
    pub seated: bool,
    /// Keeps the caller counted; dropping it is the disconnect.
    pub attendance: Attendance,
    transport: Transport,
}

/// Whether the room lets `actor` in over `transport`: 404 `room.not_found`, 403
/// `room.forbidden`, 409 `room.full` (readers only). A handshake that names a room asks this
/// before its upgrade, so a refusal is a real status.
pub async fn admit(
    state: &AppState,
    actor: &Actor,
    room_id: &RoomId,
    transport: Transport,
) -> Result<Admitted, AppError> {
    let (room, seated) = match transport {
        // A writer needs no free seat: a JOIN to a full room is refused by the hub, and says so.
        Transport::Post => (state.hub.room_for(room_id, actor).await?, false),
        _ => state.hub.reader_for(room_id, actor).await?,
    };
    Ok(Admitted { room, seated, transport })
}

/// [`admit`], then [`Admitted::attend`].
pub async fn enter(state: &AppState, actor: &Actor, room_id: &RoomId, transport: Transport) -> Result<Entry, AppError> {
    admit(state, actor, room_id, transport).await?.attend(state, actor).await
}

impl Admitted {
    /// Counts the caller as attending (429 `limit.connections` past this node's caps).
    pub async fn attend(self, state: &AppState, actor: &Actor) -> Result<Entry, AppError> {
        let linger = self.transport.linger(&state.settings);
        let attendance = state.hub.attend(&self.room.room_id, actor, linger, &state.shutdown).await?;
        Ok(Entry { room: self.room, seated: self.seated, attendance, transport: self.transport })
    }
}

impl Entry {
    /// The caller's feed of the room: every event after `after`, or the recent history without
    /// a cursor, then live ones.
    pub async fn read(&self, state: &AppState, actor: &Actor, after: Option<u64>) -> Result<Feed, AppError> {
        let s = &state.settings;
        let t = self.transport;
        let mut feed = Feed::open(&state.hub, &self.room.room_id, &actor.member_id, t.page(s), t.on_lag());
        feed.keep_seat(self.seated);
        match after {
            Some(after) => feed.resume(after),
            // Boxed: a store read is rare, and inline it would size every caller's future.
            None => Box::pin(feed.recent(t.recent(s))).await?,
        }
        Ok(feed)
    }
}
