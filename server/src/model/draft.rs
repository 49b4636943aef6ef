//! A room event before its seq: what a client or the game asks for (`Draft`, `EventBody`), what
//! travels between nodes, and what the log answers (`Appended`).

use dungeontalk_app::wire::{
    ActionEvent, DiceEvent, Die, GameEndEvent, GamePhase, GameStatus, GmMessageEvent, MemberEvent, MemberId, Outcome,
    RoomId, ServerFrame, SystemEvent, TalkEvent, TurnEvent,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The outcome of an append: the event's seq, and whether it was a repeat of an event appended
/// earlier (a `messageId` seen before: then `seq` is that earlier event's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    pub seq: u64,
    pub message_id: Option<Uuid>,
    pub duplicate: bool,
}

impl Appended {
    /// True when the draft was a repeat of an event stored earlier.
    pub fn duplicate(&self) -> bool {
        self.duplicate
    }
}

/// A room event before the log gives it a seq; this is what travels between nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Draft {
    pub room_id: RoomId,
    pub created_at: String,
    pub body: EventBody,
}

/// What a draft says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE", rename_all_fields = "camelCase")]
pub enum EventBody {
    Talk {
        message_id: Uuid,
        sender_id: MemberId,
        sender_nickname: String,
        content: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        receiver_id: Option<MemberId>,
        /// Who its `@nicknames` named, resolved when it was sent.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mentions: Vec<MemberId>,
    },
    Join {
        member_id: MemberId,
        nickname: String,
    },
    Leave {
        member_id: MemberId,
        nickname: String,
    },
    /// The game's clock moved (`step` claims the next one: see `dungeontalk_app::game`).
    Turn {
        message_id: Uuid,
        step: u32,
        turn: u32,
        phase: GamePhase,
        status: GameStatus,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ends_at_ms: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    Action {
        message_id: Uuid,
        member_id: MemberId,
        nickname: String,
        turn: u32,
        content: String,
    },
    Dice {
        message_id: Uuid,
        member_id: MemberId,
        nickname: String,
        die: Die,
        result: u8,
        turn: u32,
    },
    GmMessage {
        message_id: Uuid,
        step: u32,
        turn: u32,
        content: String,
    },
    GameEnd {
        message_id: Uuid,
        step: u32,
        turn: u32,
        result: String,
        victory: bool,
    },
    System {
        message_id: Uuid,
        content: String,
    },
}

impl Draft {
    /// A draft of `body` in `room_id`, made now.
    pub fn new(room_id: RoomId, body: EventBody) -> Draft {
        Draft { room_id, created_at: super::now_rfc3339(), body }
    }

    /// The idempotency key of a TALK or a game event: the log and the store keep one event per
    /// `(roomId, messageId)`.
    pub fn message_id(&self) -> Option<Uuid> {
        match &self.body {
            EventBody::Talk { message_id, .. }
            | EventBody::Turn { message_id, .. }
            | EventBody::Action { message_id, .. }
            | EventBody::Dice { message_id, .. }
            | EventBody::GmMessage { message_id, .. }
            | EventBody::GameEnd { message_id, .. }
            | EventBody::System { message_id, .. } => Some(*message_id),
            EventBody::Join { .. } | EventBody::Leave { .. } => None,
        }
    }

    /// The frame this draft becomes once it has a seq.
    pub fn into_frame(self, seq: u64) -> ServerFrame {
        let Draft { room_id, created_at, body } = self;
        match body {
            EventBody::Talk { message_id, sender_id, sender_nickname, content, receiver_id, mentions } => {
                ServerFrame::Talk(TalkEvent {
                    seq,
                    room_id,
                    message_id,
                    sender_id,
                    sender_nickname,
                    content,
                    created_at,
                    receiver_id,
                    mentions,
                })
            }
            EventBody::Join { member_id, nickname } => {
                ServerFrame::Join(MemberEvent { seq, room_id, member_id, nickname, created_at })
            }
            EventBody::Leave { member_id, nickname } => {
                ServerFrame::Leave(MemberEvent { seq, room_id, member_id, nickname, created_at })
            }
            EventBody::Turn { message_id, step, turn, phase, status, ends_at_ms, by } => ServerFrame::Turn(TurnEvent {
                seq,
                room_id,
                message_id,
                step,
                turn,
                phase,
                status,
                ends_at_ms,
                by,
                created_at,
            }),
            EventBody::Action { message_id, member_id, nickname, turn, content } => ServerFrame::Action(ActionEvent {
                seq,
                room_id,
                message_id,
                member_id,
                nickname,
                turn,
                content,
                created_at,
            }),
            EventBody::Dice { message_id, member_id, nickname, die, result, turn } => ServerFrame::Dice(DiceEvent {
                seq,
                room_id,
                message_id,
                member_id,
                nickname,
                die,
                result,
                outcome: Outcome::of(result),
                turn,
                created_at,
            }),
            EventBody::GmMessage { message_id, step, turn, content } => {
                ServerFrame::GmMessage(GmMessageEvent { seq, room_id, message_id, step, turn, content, created_at })
            }
            EventBody::GameEnd { message_id, step, turn, result, victory } => {
                ServerFrame::GameEnd(GameEndEvent { seq, room_id, message_id, step, turn, result, victory, created_at })
            }
            EventBody::System { message_id, content } => {
                ServerFrame::System(SystemEvent { seq, room_id, message_id, content, created_at })
            }
        }
    }
}
