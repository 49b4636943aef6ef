//! What the room list and the page title show of each room: how far the caller has read, what
//! is new since, and the room's last line (the `room_activity` and `mark_read` server functions).

use serde::{Deserialize, Serialize};

use super::{RoomId, RoomSummary};

/// One room as its list entry shows it to one member.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomActivity {
    pub room: RoomSummary,
    /// The seq of the room's newest stored event (0: none yet).
    pub head_seq: u64,
    /// How far the member has read (`None`: never opened the room; nothing counts as unread).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_seq: Option<u64>,
    #[serde(flatten)]
    pub counts: Counts,
    /// The room's newest line a member of the room may see (whispers are never previewed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<Preview>,
}

/// What is new for a member since their read mark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Lines by others (messages, whispers to the member, the game master's answers).
    pub unread: u32,
    /// Of those, the ones that name the member (`@nickname`).
    pub mentions: u32,
    /// Of those, whispers to the member.
    pub whispers: u32,
    /// More were new than the server counts ([`MAX_COUNTED`]): show "99+".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub more: bool,
}

/// The most new lines counted per room; past it a count reads "99+".
pub const MAX_COUNTED: u32 = 99;

/// A room's last line, short.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    pub seq: u64,
    /// Who said it ("Game master" for the narration).
    pub sender_nickname: String,
    /// At most [`PREVIEW_CHARS`] characters, cut at a word with "…".
    pub text: String,
    /// RFC 3339 UTC.
    pub created_at: String,
}

/// The longest preview text, in characters.
pub const PREVIEW_CHARS: usize = 80;

/// The answer to `mark_read`: the member's read mark in the room as it now stands (a mark never
/// moves back, so it may be past the seq asked for).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadMark {
    pub room_id: RoomId,
    pub read_seq: u64,
}
