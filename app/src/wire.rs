//! The typed wire contract (../shared/API.md): one tagged enum per channel, JSON in camelCase.
//!
//! Serde only, so the same types compile for the server and for the WASM UI.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

mod activity;
pub mod compact;
mod error_code;
mod game;
mod measure;
mod ops;
mod rest;
pub mod stomp;

pub use activity::*;
pub use error_code::ErrorCode;
pub use game::*;
pub use measure::*;
pub use ops::*;
pub use rest::*;

/// A room's id (server-made UUIDv7 text).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoomId(pub String);

/// A member's id; always the subject of the caller's token, never taken from a payload.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MemberId(pub String);

impl std::fmt::Display for RoomId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for MemberId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A frame a client sends: a WebSocket text frame or the body of `POST …/messages`.
///
/// The room comes from the handshake or the path, the sender from the token: fields such as
/// `senderId` or `roomId` in a client frame are ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE", rename_all_fields = "camelCase")]
pub enum ClientFrame {
    /// Enter the room (idempotent).
    Join,
    /// Leave the room (idempotent).
    Leave,
    /// "I am typing" (ephemeral: shown to the room for a few seconds, never stored).
    Typing,
    /// "I am still here": keeps the chat session alive without saying anything.
    Heartbeat,
    /// Say something; a repeated `messageId` is accepted once.
    Talk {
        content: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        receiver_id: Option<MemberId>,
    },
    /// A player's move for the current turn of a game (sent while the game master answers, it
    /// counts for the next turn); a repeated `messageId` is accepted once.
    Action {
        content: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<Uuid>,
    },
    /// Roll a die in a game; a repeated `messageId` keeps the first roll.
    Roll {
        die: Die,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<Uuid>,
    },
}

/// A frame the server sends: a WebSocket frame, an SSE `data:` line or an element of a poll batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE", rename_all_fields = "camelCase")]
pub enum ServerFrame {
    /// The first frame of every connection: the handshake was accepted.
    Connected { room_id: RoomId, member_id: MemberId, nickname: String },
    /// A chat message (stored, sequenced).
    Talk(TalkEvent),
    /// A member entered the room (stored, sequenced).
    Join(MemberEvent),
    /// A member left the room (stored, sequenced).
    Leave(MemberEvent),
    /// Who is in the room now (ephemeral, no seq).
    Presence(PresenceEvent),
    /// A member is typing (ephemeral, no seq).
    Typing { room_id: RoomId, member_id: MemberId, nickname: String },
    /// The request worked but something about it deserves a word (e.g. profanity in WARN mode).
    Warning { code: ErrorCode, message: String },
    /// The request in a client frame failed; the connection stays open.
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    /// The server could not keep up with this client: fetch events after `after`, then continue.
    Resync { after: u64 },
    /// A `TALK` was stored (sent to the sender only). Not a room event, so its seq is not `seq`.
    Ack { message_id: Uuid, accepted_seq: u64 },
    /// A piece of the game master's answer while it streams (ephemeral, no seq); arrives on the
    /// `aichat.{roomId}` channel from the AI service. `sentAtUs`: when the narrating node made it
    /// (microseconds since the Unix epoch, that node's clock), for measuring its way to clients.
    GmChunk {
        room_id: RoomId,
        turn: u32,
        index: u32,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sent_at_us: Option<u64>,
    },
    /// The game's clock moved (stored, sequenced).
    Turn(TurnEvent),
    /// A player's move (stored, sequenced).
    Action(ActionEvent),
    /// A die was rolled (stored, sequenced).
    Dice(DiceEvent),
    /// The game master's answer to a turn (stored, sequenced).
    GmMessage(GmMessageEvent),
    /// The game is over (stored, sequenced).
    GameEnd(GameEndEvent),
    /// A word from the server to the room (stored, sequenced).
    System(SystemEvent),
}

impl ServerFrame {
    /// The per-room sequence number of a stored room event; `None` for ephemeral frames.
    pub fn seq(&self) -> Option<u64> {
        match self {
            ServerFrame::Talk(e) => Some(e.seq),
            ServerFrame::Join(e) | ServerFrame::Leave(e) => Some(e.seq),
            ServerFrame::Turn(e) => Some(e.seq),
            ServerFrame::Action(e) => Some(e.seq),
            ServerFrame::Dice(e) => Some(e.seq),
            ServerFrame::GmMessage(e) => Some(e.seq),
            ServerFrame::GameEnd(e) => Some(e.seq),
            ServerFrame::System(e) => Some(e.seq),
            _ => None,
        }
    }

    /// Whether it belongs to a game: what STOMP's `/sub/aichat/room/{roomId}` carries.
    pub fn is_game(&self) -> bool {
        matches!(
            self,
            ServerFrame::GmChunk { .. }
                | ServerFrame::Turn(_)
                | ServerFrame::Action(_)
                | ServerFrame::Dice(_)
                | ServerFrame::GmMessage(_)
                | ServerFrame::GameEnd(_)
                | ServerFrame::System(_)
        )
    }
}

/// The `type` of every game frame, as its JSON starts (`{"type":"TURN"`...): what the server
/// checks without parsing.
pub const GAME_TYPES: [&str; 7] = ["GM_CHUNK", "TURN", "ACTION", "DICE", "GM_MESSAGE", "GAME_END", "SYSTEM"];

/// What changed in a room's presence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PresenceType {
    Join,
    Leave,
    /// A JOIN was refused: the room is full.
    JoinIgnored,
    /// A LEAVE from someone who was not in the room.
    LeaveIgnored,
    /// The room's capacity changed.
    CapacityUpdated,
    /// A member was idle longer than a chat session lives and was taken out of the room.
    SessionExpired,
}

/// A member as presence lists them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceMember {
    pub member_id: MemberId,
    pub nickname: String,
    /// `ONLINE` (a connection is open) or `AWAY` (joined, no connection right now).
    pub status: String,
}

/// A change in the room's presence (the original's fields). A delta: it names the member the
/// change is about (and, when they are in the room now, how the list shows them), so its size does
/// not grow with the room; the whole list is `GET /api/rooms/{roomId}/presence` (and `members`,
/// when a frame carries a snapshot).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceEvent {
    pub room_id: RoomId,
    /// 0 means unlimited.
    pub max_capacity: u32,
    pub connected_count: u32,
    /// Members holding a seat (joined): the room is full when this reaches `max_capacity`.
    #[serde(default)]
    pub joined_count: u32,
    /// Every joined member: only in a snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<PresenceMember>>,
    pub event_type: PresenceType,
    /// Who the change is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<MemberId>,
    /// That member as the list shows them after a JOIN (absent when the change took them out or
    /// left the list as it was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<PresenceMember>,
    /// RFC 3339 UTC.
    pub event_time: String,
}

/// A stored chat message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TalkEvent {
    pub seq: u64,
    pub room_id: RoomId,
    pub message_id: Uuid,
    pub sender_id: MemberId,
    pub sender_nickname: String,
    pub content: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver_id: Option<MemberId>,
    /// The members its `@nicknames` named, among those in the room when it was sent (by id:
    /// nicknames are not unique); each gets a MENTION notification.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<MemberId>,
}

/// A stored membership change (JOIN or LEAVE).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberEvent {
    pub seq: u64,
    pub room_id: RoomId,
    pub member_id: MemberId,
    pub nickname: String,
    /// RFC 3339 UTC.
    pub created_at: String,
}

/// A frame of the per-user notification stream (`/api/notifications/stream`), never stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE", rename_all_fields = "camelCase")]
pub enum Notification {
    /// The first event of every stream: whose notifications these are.
    Connected { member_id: MemberId, nickname: String },
    /// Someone wrote `@nickname` (the reader's) in a room.
    Mention(TalkEvent),
    /// Someone whispered to the reader.
    Whisper(TalkEvent),
    /// Someone invited the reader into a room.
    Invitation { room_id: RoomId, room_name: String, from_id: MemberId, from_nickname: String, created_at: String },
    /// The matching queue found a party: a game room was made for it.
    Matched { room_id: RoomId, world_type: WorldType },
    /// The reader's read mark in a room moved (in this tab or another): its unread count goes.
    Read { room_id: RoomId, read_seq: u64 },
}

impl Notification {
    /// The SSE `event:` name: the lower-case type.
    pub fn event_name(&self) -> &'static str {
        match self {
            Notification::Connected { .. } => "connected",
            Notification::Mention(_) => "mention",
            Notification::Whisper(_) => "whisper",
            Notification::Invitation { .. } => "invitation",
            Notification::Matched { .. } => "matched",
            Notification::Read { .. } => "read",
        }
    }
}

#[cfg(test)]
mod tests;
