//! Bodies of the REST endpoints.

use super::{ErrorCode, MemberId, RoomId};
use serde::{Deserialize, Serialize};

/// `POST /api/auth/guest` request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuestLogin {
    pub nickname: String,
}

/// `POST /api/auth/register` request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Register {
    pub name: String,
    pub nickname: String,
    pub password: String,
}

/// `201` to a registration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Registered {
    pub member_id: MemberId,
    pub name: String,
    pub nickname: String,
}

/// `POST /api/auth/login` request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Login {
    pub name: String,
    pub password: String,
}

/// A successful login: the access token and who it names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub access_token: String,
    pub member_id: MemberId,
    pub nickname: String,
}

/// A room's kind: players among themselves, or a game narrated by the AI (each has its own
/// profanity-filter mode).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RoomType {
    #[default]
    Player,
    Game,
}

/// `POST /api/rooms` request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRoom {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_capacity: Option<u32>,
    #[serde(default)]
    pub room_type: RoomType,
    /// Only the creator and invited members may enter (others get 403).
    #[serde(default)]
    pub private: bool,
}

/// `PATCH /api/rooms/{roomId}` request (the creator only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateRoom {
    pub max_capacity: u32,
}

/// A room as listed: `maxCapacity` 0 means unlimited.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomSummary {
    pub room_id: RoomId,
    pub name: String,
    pub max_capacity: u32,
    pub connected_count: u32,
    #[serde(default)]
    pub room_type: RoomType,
    #[serde(default)]
    pub private: bool,
}

/// `GET /api/rooms/{roomId}/presence`: who is in the room now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomPresence {
    pub room_id: RoomId,
    pub max_capacity: u32,
    pub connected_count: u32,
    pub members: Vec<super::PresenceMember>,
}

/// A page of a room's stored events (`GET …/messages`), as raw server frames.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    /// Newest first with `before`, oldest first with `after`.
    pub events: Vec<super::ServerFrame>,
    /// The cursor for the next page (`before` or `after` of the next request), if there may be more.
    pub next: Option<u64>,
}

/// `202` to `POST …/messages`: the frame was accepted; `seq` is the stored event it made, if any
/// (a repeated JOIN or LEAVE stores nothing).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<uuid::Uuid>,
    pub seq: Option<u64>,
    /// Delivered, but with a word for the sender (e.g. `chat.profanity_warning`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<ErrorBody>,
}

/// A page of a long poll (`GET …/poll`): the events after the cursor, and the next cursor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollBatch {
    /// Oldest first; empty when the poll timed out.
    pub events: Vec<super::ServerFrame>,
    /// The `after` of the next poll: the highest seq this client has now seen.
    pub next: u64,
}

/// `POST /api/rooms/{roomId}/invitations` request: whom to invite.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invite {
    pub member_id: MemberId,
}

/// The answer to an invitation: whether the member had a notification stream open to receive it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invited {
    pub delivered: bool,
}

/// The body of every error answer: a stable code and a message a person can read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    /// For limits (`chat.rate_limited`, `auth.locked`): when a retry can succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl ErrorBody {
    /// An error without a retry time.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ErrorBody {
        ErrorBody { code, message: message.into(), retry_after_ms: None }
    }
}
