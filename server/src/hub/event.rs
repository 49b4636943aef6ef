//! Room events as the hub keeps them: drafts before the store sequences them, stored events after.

use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use axum::extract::ws::Utf8Bytes;
use dungeontalk_app::wire::{MemberEvent, MemberId, RoomId, ServerFrame, TalkEvent};
use serde::Deserialize;
use uuid::Uuid;

/// A stored room event: its seq and its JSON frame, serialized once and shared by every reader.
///
/// `Utf8Bytes` is a reference-counted UTF-8 buffer: cloning it for a subscriber copies nothing.
/// The SSE encoding is made on first use and then shared the same way.
///
/// Ephemeral frames (presence, typing) travel the same way so they keep their place among room
/// events, but have `seq` 0, are never stored and never move a reader's resume point.
#[derive(Clone, Debug)]
pub struct StoredEvent {
    pub room_id: RoomId,
    pub seq: u64,
    pub json: Utf8Bytes,
    /// Who may see it (a whisper: sender and receiver); `None` is the whole room.
    pub audience: Option<Vec<MemberId>>,
    sse: OnceLock<Bytes>,
}

#[derive(Deserialize)]
struct Tag<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
}

impl StoredEvent {
    /// An event as stored: `json` is its server frame (a whisper's audience is read from it).
    pub fn new(room_id: RoomId, seq: u64, json: Utf8Bytes) -> StoredEvent {
        // Only a whisper has a receiverId; the substring test spares every other event a parse.
        let audience = match json.as_str().contains("\"receiverId\"") {
            true => match serde_json::from_str::<ServerFrame>(json.as_str()) {
                Ok(ServerFrame::Talk(TalkEvent { sender_id, receiver_id: Some(to), .. })) => Some(vec![sender_id, to]),
                _ => None,
            },
            false => None,
        };
        StoredEvent { room_id, seq, json, audience, sse: OnceLock::new() }
    }

    /// An ephemeral frame for a room (or, with `audience`, for some of its members).
    pub fn ephemeral(room_id: RoomId, frame: &ServerFrame, audience: Option<Vec<MemberId>>) -> StoredEvent {
        let json = serde_json::to_string(frame).expect("frames serialize");
        StoredEvent { room_id, seq: 0, json: json.into(), audience, sse: OnceLock::new() }
    }

    /// True for presence and typing frames: not stored, no seq.
    pub fn is_ephemeral(&self) -> bool {
        self.seq == 0
    }

    /// Whether `member` may see this event.
    pub fn visible_to(&self, member: &MemberId) -> bool {
        self.audience.as_ref().is_none_or(|a| a.contains(member))
    }

    /// `id: <seq>`, `event: <lower-case type>`, `data: <json>`: built once per event, not per reader.
    pub fn sse(&self) -> Bytes {
        self.sse
            .get_or_init(|| {
                let kind = serde_json::from_str::<Tag>(self.json.as_str()).map(|t| t.kind).unwrap_or("message");
                let mut out = String::with_capacity(self.json.len() + 40);
                if !self.is_ephemeral() {
                    out.push_str("id: ");
                    out.push_str(&self.seq.to_string());
                    out.push('\n');
                }
                out.push_str("event: ");
                out.extend(kind.chars().map(|c| c.to_ascii_lowercase()));
                out.push_str("\ndata: ");
                // serde_json escapes newlines inside strings, so the frame is always one data line.
                out.push_str(self.json.as_str());
                out.push_str("\n\n");
                Bytes::from(out)
            })
            .clone()
    }
}

/// The outcome of an append: the stored event, and whether it was stored earlier already.
#[derive(Clone, Debug)]
pub struct Appended {
    pub event: Arc<StoredEvent>,
    pub message_id: Option<Uuid>,
    pub duplicate: bool,
}

/// A room event before the store gives it a seq.
#[derive(Clone, Debug)]
pub struct Draft {
    pub room_id: RoomId,
    pub created_at: String,
    pub kind: DraftKind,
}

/// What a draft says.
#[derive(Clone, Debug)]
pub enum DraftKind {
    Talk {
        message_id: Uuid,
        sender_id: MemberId,
        sender_nickname: String,
        content: String,
        receiver_id: Option<MemberId>,
    },
    Join {
        member_id: MemberId,
        nickname: String,
    },
    Leave {
        member_id: MemberId,
        nickname: String,
    },
}

impl Draft {
    /// The idempotency key of a TALK.
    pub fn message_id(&self) -> Option<Uuid> {
        match &self.kind {
            DraftKind::Talk { message_id, .. } => Some(*message_id),
            _ => None,
        }
    }

    /// The frame this draft becomes once it has a seq.
    pub fn seal(self, seq: u64) -> ServerFrame {
        let Draft { room_id, created_at, kind } = self;
        match kind {
            DraftKind::Talk { message_id, sender_id, sender_nickname, content, receiver_id } => {
                ServerFrame::Talk(TalkEvent {
                    seq,
                    room_id,
                    message_id,
                    sender_id,
                    sender_nickname,
                    content,
                    created_at,
                    receiver_id,
                })
            }
            DraftKind::Join { member_id, nickname } => {
                ServerFrame::Join(MemberEvent { seq, room_id, member_id, nickname, created_at })
            }
            DraftKind::Leave { member_id, nickname } => {
                ServerFrame::Leave(MemberEvent { seq, room_id, member_id, nickname, created_at })
            }
        }
    }
}
