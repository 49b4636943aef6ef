//! A room as stored.

use dungeontalk_app::wire::{MemberId, RoomId, RoomSummary, RoomType, WorldType};
use serde::{Deserialize, Serialize};

/// A room as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomRecord {
    pub room_id: RoomId,
    pub name: String,
    /// 0 means unlimited.
    pub max_capacity: u32,
    pub created_by: MemberId,
    pub created_at: String,
    #[serde(default)]
    pub room_type: RoomType,
    /// Only the creator and `allowed` may enter.
    #[serde(default)]
    pub private: bool,
    /// Members invited into a private room.
    #[serde(default)]
    pub allowed: Vec<MemberId>,
    /// A game room's rules, fixed when it was made (every node runs the game by them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub game: Option<GameSetup>,
}

/// How a game room's game runs: fixed at creation, so a game keeps its rules on every node and
/// across restarts whatever the settings say later.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GameSetup {
    pub world_type: WorldType,
    /// Turns the game lasts.
    pub turns: u32,
    /// How long a turn waits for its actions.
    pub turn_secs: u32,
    /// A matched party's size: the game starts by itself once that many have joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autostart: Option<u32>,
    /// Set once the game is over (a node starting up need not follow it).
    #[serde(default)]
    pub finished: bool,
}

impl RoomRecord {
    /// Whether `member` may enter.
    pub fn admits(&self, member: &MemberId) -> bool {
        !self.private || self.created_by == *member || self.allowed.contains(member)
    }

    /// The room as lists show it, with its online count.
    pub fn summary(self, connected_count: u32) -> RoomSummary {
        RoomSummary {
            room_id: self.room_id,
            name: self.name,
            max_capacity: self.max_capacity,
            connected_count,
            room_type: self.room_type,
            private: self.private,
        }
    }
}
