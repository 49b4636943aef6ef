//! A room as stored.

use dungeontalk_app::wire::{MemberId, RoomId, RoomType};
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
}

impl RoomRecord {
    /// Whether `member` may enter.
    pub fn admits(&self, member: &MemberId) -> bool {
        !self.private || self.created_by == *member || self.allowed.contains(member)
    }
}
