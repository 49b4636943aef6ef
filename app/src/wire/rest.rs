//! Bodies of the REST endpoints.

use super::{ErrorCode, MemberId, RoomId};
use serde::{Deserialize, Serialize};

/// `POST /api/auth/guest` request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GuestLogin {
    pub nickname: String,
}

/// A successful login: the access token and who it names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub access_token: String,
    pub member_id: MemberId,
    pub nickname: String,
}

/// `POST /api/rooms` request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRoom {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_capacity: Option<u32>,
}

/// A room as listed: `maxCapacity` 0 means unlimited.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomSummary {
    pub room_id: RoomId,
    pub name: String,
    pub max_capacity: u32,
    pub connected_count: u32,
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
}
