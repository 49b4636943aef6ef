//! A room event once the log gave it its seq: its JSON frame made once and shared by every
//! reader, with its other encodings made on first use.

use std::cell::RefCell;
use std::sync::OnceLock;

use bytes::Bytes;
use dungeontalk_app::wire::{MemberId, RoomId, ServerFrame, compact};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Draft, EventBody, Seats, Utf8Bytes};

/// A stored room event: its seq and its JSON frame, serialized once and shared by every reader.
///
/// `Utf8Bytes` is a reference-counted UTF-8 buffer: cloning it for a subscriber copies nothing.
/// The SSE and compact encodings are made on first use and then shared the same way.
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
    /// A TALK's idempotency key.
    pub message_id: Option<Uuid>,
    /// When it was appended (ms since the epoch; 0 when unknown, as for events read from a store).
    pub born_ms: u64,
    /// What it says about the room's seats (JOIN, LEAVE, PRESENCE); boxed: most events say nothing.
    pub seats: Option<Box<Seats>>,
    encoded: Encoded,
}

/// The encodings other than the JSON, each made on first use and then shared.
#[derive(Clone, Debug, Default)]
struct Encoded {
    sse: OnceLock<Bytes>,
    compact: OnceLock<Option<Bytes>>,
}

#[derive(Deserialize)]
struct Tag<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
}

impl StoredEvent {
    /// An event as read back from a store: `json` is its server frame.
    pub fn new(room_id: RoomId, seq: u64, json: Utf8Bytes) -> StoredEvent {
        // Only a TALK has a messageId and only a whisper a receiverId; everything else stored is
        // a JOIN or LEAVE (small), whose member the seats need.
        let (audience, message_id, seats) = match serde_json::from_str::<ServerFrame>(json.as_str()) {
            Ok(ServerFrame::Talk(t)) => (t.receiver_id.map(|to| vec![t.sender_id, to]), Some(t.message_id), None),
            Ok(frame) => (None, game_message_id(&frame), Seats::of_frame(&frame)),
            Err(_) => (None, None, None),
        };
        StoredEvent { room_id, seq, json, audience, message_id, born_ms: 0, seats, encoded: Encoded::default() }
    }

    /// The event a draft becomes with its seq, serialized once.
    pub fn seal(draft: Draft, seq: u64) -> StoredEvent {
        let room_id = draft.room_id.clone();
        let (audience, message_id) = match &draft.body {
            EventBody::Talk { message_id, sender_id, receiver_id, .. } => {
                (receiver_id.clone().map(|to| vec![sender_id.clone(), to]), Some(*message_id))
            }
            _ => (None, draft.message_id()),
        };
        let seats = Seats::of_body(&draft.body);
        let json = exact_json(&draft.into_frame(seq)).into();
        StoredEvent {
            room_id,
            seq,
            json,
            audience,
            message_id,
            born_ms: super::now_ms(),
            seats,
            encoded: Encoded::default(),
        }
    }

    /// An ephemeral frame for a room (or, with `audience`, for some of its members).
    pub fn ephemeral(room_id: RoomId, frame: &ServerFrame, audience: Option<Vec<MemberId>>) -> StoredEvent {
        let seats = Seats::of_frame(frame);
        StoredEvent { seats, ..StoredEvent::ephemeral_json(room_id, exact_json(frame).into(), audience) }
    }

    /// An ephemeral frame already serialized (as it arrives from another node).
    pub fn ephemeral_json(room_id: RoomId, json: Utf8Bytes, audience: Option<Vec<MemberId>>) -> StoredEvent {
        StoredEvent {
            room_id,
            seq: 0,
            json,
            audience,
            message_id: None,
            born_ms: 0,
            seats: None,
            encoded: Encoded::default(),
        }
    }

    /// An ephemeral frame from another node: a PRESENCE frame's seat news is read once, here.
    pub fn ephemeral_from(room_id: RoomId, json: Utf8Bytes, audience: Option<Vec<MemberId>>) -> StoredEvent {
        let seats = match json.as_str().contains("\"PRESENCE\"") {
            true => serde_json::from_str::<ServerFrame>(json.as_str()).ok().and_then(|f| Seats::of_frame(&f)),
            false => None,
        };
        StoredEvent { seats, ..StoredEvent::ephemeral_json(room_id, json, audience) }
    }

    /// True for presence and typing frames: not stored, no seq.
    pub fn is_ephemeral(&self) -> bool {
        self.seq == 0
    }

    /// Whether `member` may see this event.
    pub fn visible_to(&self, member: &MemberId) -> bool {
        self.audience.as_ref().is_none_or(|a| a.contains(member))
    }

    /// The frame's `type` (e.g. `TALK`).
    pub fn kind(&self) -> &str {
        serde_json::from_str::<Tag>(self.json.as_str()).map(|t| t.kind).unwrap_or("message")
    }

    /// A TALK in the compact encoding (`/ws?encoding=compact`), made on first use and shared;
    /// `None` for every other frame, which goes as JSON on every socket.
    pub fn compact(&self) -> Option<Bytes> {
        // Only TALKs and game events have a messageId: nothing else is parsed for this.
        self.message_id?;
        self.encoded
            .compact
            .get_or_init(|| match serde_json::from_str::<ServerFrame>(self.json.as_str()) {
                Ok(ServerFrame::Talk(talk)) => Some(Bytes::from(compact::encode_talk(&talk))),
                _ => None,
            })
            .clone()
    }

    /// `id: <seq>`, `event: <lower-case type>`, `data: <json>`: built once per event, not per reader.
    pub fn sse(&self) -> Bytes {
        self.encoded
            .sse
            .get_or_init(|| {
                let kind = self.kind();
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

/// Frames larger than this leave the serializing thread's scratch buffer behind them.
const SCRATCH_KEPT: usize = 16 * 1024;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A frame's JSON in a buffer of exactly its size. Events stay in their room's ring while the
/// room is busy (up to `outgoing_queue_len` each), and `to_string`'s doubling would leave a third
/// of each of those buffers empty on average (a 330-byte PRESENCE frame in 512 bytes); it would
/// also grow through three allocations where this makes one.
fn exact_json<T: Serialize>(value: &T) -> String {
    SCRATCH.with_borrow_mut(|buf| {
        buf.clear();
        serde_json::to_writer(&mut *buf, value).expect("frames always serialize");
        let json = String::from_utf8(buf.to_vec()).expect("serde_json writes UTF-8");
        if buf.capacity() > SCRATCH_KEPT {
            *buf = Vec::new();
        }
        json
    })
}

/// A stored game event's idempotency key.
pub(super) fn game_message_id(frame: &ServerFrame) -> Option<Uuid> {
    match frame {
        ServerFrame::Turn(e) => Some(e.message_id),
        ServerFrame::Action(e) => Some(e.message_id),
        ServerFrame::Dice(e) => Some(e.message_id),
        ServerFrame::GmMessage(e) => Some(e.message_id),
        ServerFrame::GameEnd(e) => Some(e.message_id),
        ServerFrame::System(e) => Some(e.message_id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn talk_body(content: &str) -> EventBody {
        EventBody::Talk {
            message_id: Uuid::now_v7(),
            sender_id: MemberId("guest-1".into()),
            sender_nickname: "Aria".into(),
            content: content.into(),
            receiver_id: None,
            mentions: vec![],
        }
    }

    fn talk(content: &str) -> ServerFrame {
        Draft::new(RoomId("room-1".into()), talk_body(content)).into_frame(7)
    }

    #[test]
    fn an_event_s_json_is_serde_s_in_a_buffer_of_its_exact_size() {
        for n in [0, 1, 50, 200, 1000, 5000] {
            let frame = talk(&"é".repeat(n));
            let json = exact_json(&frame);
            assert_eq!(json, serde_json::to_string(&frame).unwrap());
            assert_eq!(json.capacity(), json.len(), "no room left over at {n}");
        }
    }

    #[test]
    fn a_large_frame_s_scratch_room_is_not_kept() {
        exact_json(&talk(&"x".repeat(100_000)));
        assert!(SCRATCH.with_borrow(|b| b.capacity()) <= SCRATCH_KEPT);
        exact_json(&talk("short"));
        assert!(SCRATCH.with_borrow(|b| b.capacity()) > 0, "a small frame's room stays for the next");
    }

    #[test]
    fn a_talk_has_a_compact_form_with_the_servers_own_time_and_nothing_else_has_one() {
        let room = RoomId("room-1".into());
        let sealed = StoredEvent::seal(Draft::new(room.clone(), talk_body("hi")), 7);
        let bytes = sealed.compact().expect("a TALK has one");
        let frame: ServerFrame = serde_json::from_str(sealed.json.as_str()).unwrap();
        assert_eq!(ServerFrame::Talk(compact::decode_talk(&bytes, &room).unwrap()), frame);
        // The layout's flags & 4: the time went as text. The server's own times never should,
        // whatever their milliseconds (the `time` crate trims trailing zeros).
        for ms in [0, 5, 50, 120, 500, 999] {
            let at = time::OffsetDateTime::from_unix_timestamp_nanos(1_764_540_645_000_000_000 + ms * 1_000_000)
                .unwrap()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
            let mut draft = Draft::new(room.clone(), talk_body("hi"));
            draft.created_at = at.clone();
            let bytes = StoredEvent::seal(draft, 7).compact().unwrap();
            assert_eq!(bytes[1] & 4, 0, "{at} went as text");
        }
        assert_eq!(bytes[1] & 4, 0, "now_rfc3339 went as text");
        let join = Draft::new(room, EventBody::Join { member_id: MemberId("guest-1".into()), nickname: "Aria".into() });
        assert_eq!(StoredEvent::seal(join, 8).compact(), None);
    }
}
