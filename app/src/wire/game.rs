//! The game's part of the contract (../shared/API.md "AI game rooms" and "Matching"): worlds,
//! status and phase, dice, the stored game events and the REST bodies.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{MemberId, RoomId};

/// The kind of world a game is set in; the game plan draws its places, foes and items from it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorldType {
    #[default]
    Fantasy,
    Sf,
    Modern,
}

impl WorldType {
    /// Every world.
    pub const ALL: [WorldType; 3] = [WorldType::Fantasy, WorldType::Sf, WorldType::Modern];

    /// The wire name (`FANTASY`, `SF`, `MODERN`).
    pub fn as_str(self) -> &'static str {
        match self {
            WorldType::Fantasy => "FANTASY",
            WorldType::Sf => "SF",
            WorldType::Modern => "MODERN",
        }
    }

    /// A name for people.
    pub fn label(self) -> &'static str {
        match self {
            WorldType::Fantasy => "Fantasy",
            WorldType::Sf => "Science fiction",
            WorldType::Modern => "Modern",
        }
    }
}

/// Where a game is in its life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GameStatus {
    #[default]
    Created,
    Active,
    Paused,
    Completed,
}

/// What a game waits for now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GamePhase {
    /// Not started yet.
    #[default]
    Waiting,
    /// Players send their ACTIONs for the turn.
    TurnInput,
    /// The game master answers the turn.
    AiResponse,
    /// Over: `GAME_END` says what the party achieved.
    GameEnd,
}

/// A die to roll: a d20, or a check of one of the six stats (also a d20, read against the stat).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Die {
    D20,
    Str,
    Dex,
    Int,
    Wis,
    Wil,
    Luk,
}

impl Die {
    /// Every die.
    pub const ALL: [Die; 7] = [Die::D20, Die::Str, Die::Dex, Die::Int, Die::Wis, Die::Wil, Die::Luk];

    /// The wire name (`d20`, `str`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Die::D20 => "d20",
            Die::Str => "str",
            Die::Dex => "dex",
            Die::Int => "int",
            Die::Wis => "wis",
            Die::Wil => "wil",
            Die::Luk => "luk",
        }
    }

    /// A name for people.
    pub fn label(self) -> &'static str {
        match self {
            Die::D20 => "d20",
            Die::Str => "Strength",
            Die::Dex => "Dexterity",
            Die::Int => "Intelligence",
            Die::Wis => "Wisdom",
            Die::Wil => "Willpower",
            Die::Luk => "Luck",
        }
    }
}

/// What a roll of 1–20 means, the same for the narrator, the result and the UI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// 1.
    Fumble,
    /// 2–7.
    Failure,
    /// 8–13.
    Partial,
    /// 14–19.
    Success,
    /// 20.
    Triumph,
}

impl Outcome {
    /// The outcome of a d20 result.
    pub fn of(result: u8) -> Outcome {
        match result {
            0 | 1 => Outcome::Fumble,
            2..=7 => Outcome::Failure,
            8..=13 => Outcome::Partial,
            14..=19 => Outcome::Success,
            _ => Outcome::Triumph,
        }
    }

    /// Whether it counts as the party getting what it wanted.
    pub fn succeeded(self) -> bool {
        matches!(self, Outcome::Partial | Outcome::Success | Outcome::Triumph)
    }

    /// A word for people.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Fumble => "fumble",
            Outcome::Failure => "failure",
            Outcome::Partial => "partial success",
            Outcome::Success => "success",
            Outcome::Triumph => "triumph",
        }
    }
}

/// `TURN`: the game's clock moved: a new turn, phase or status. `step` counts these events (and
/// `GAME_END`) from 1; an event whose `step` is not the next one lost a race and changes nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnEvent {
    pub seq: u64,
    pub room_id: RoomId,
    pub message_id: Uuid,
    pub step: u32,
    pub turn: u32,
    pub phase: GamePhase,
    pub status: GameStatus,
    /// When the turn closes by itself (unix ms), in TURN_INPUT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at_ms: Option<u64>,
    /// Who made the change (start, pause, resume), absent for the game's own clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    pub created_at: String,
}

/// `ACTION`: a player's move. `turn` is the turn it counts for, as the sender's node saw it; the
/// game's fold ([`crate::game`]) decides from the order of the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionEvent {
    pub seq: u64,
    pub room_id: RoomId,
    pub message_id: Uuid,
    pub member_id: MemberId,
    pub nickname: String,
    pub turn: u32,
    pub content: String,
    pub created_at: String,
}

/// `DICE`: a roll, made once by the server (a retried ROLL keeps the first result).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiceEvent {
    pub seq: u64,
    pub room_id: RoomId,
    pub message_id: Uuid,
    pub member_id: MemberId,
    pub nickname: String,
    pub die: Die,
    /// 1–20.
    pub result: u8,
    pub outcome: Outcome,
    pub turn: u32,
    pub created_at: String,
}

/// `GM_MESSAGE`: the game master's whole answer to a turn (its `GM_CHUNK`s joined).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GmMessageEvent {
    pub seq: u64,
    pub room_id: RoomId,
    pub message_id: Uuid,
    /// The TURN step of the AI_RESPONSE it answers.
    pub step: u32,
    pub turn: u32,
    pub content: String,
    pub created_at: String,
}

/// `GAME_END`: the game is over, and what the party achieved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GameEndEvent {
    pub seq: u64,
    pub room_id: RoomId,
    pub message_id: Uuid,
    pub step: u32,
    pub turn: u32,
    pub result: String,
    /// Whether the party reached its goal.
    pub victory: bool,
    pub created_at: String,
}

/// `SYSTEM`: a word from the server to the room (the narrator failed, the game was paused).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemEvent {
    pub seq: u64,
    pub room_id: RoomId,
    pub message_id: Uuid,
    pub content: String,
    pub created_at: String,
}

/// `POST /api/games` request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateGame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub world_type: WorldType,
    /// 1–5 [default: 3].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_players: Option<u32>,
    #[serde(default)]
    pub private: bool,
}

/// A player as the game sees them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GamePlayer {
    pub member_id: MemberId,
    pub nickname: String,
    /// Whether they have sent their ACTION for the current turn.
    pub acted: bool,
}

/// A game's state (`GET /api/games/{roomId}` and the answers of start/pause/resume/end).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GameView {
    pub room_id: RoomId,
    pub name: String,
    pub room_type: super::RoomType,
    pub world_type: WorldType,
    pub max_players: u32,
    pub status: GameStatus,
    pub phase: GamePhase,
    pub turn: u32,
    /// Turns the game lasts.
    pub turns: u32,
    pub players: Vec<GamePlayer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// The highest seq the state has folded in.
    pub seq: u64,
}

/// `POST /api/matching` request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchRequest {
    pub world_type: WorldType,
}

/// Where a member stands in the matching queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchStatus {
    pub world_type: WorldType,
    /// Players waiting for this world (the caller included while queued).
    pub waiting: u32,
    /// How many make a party.
    pub size: u32,
    /// Set once the caller was matched: the game room made for the party.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<RoomId>,
}
