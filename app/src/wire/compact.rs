//! The compact encoding of a TALK (`GET /ws?encoding=compact`): the same event as its JSON frame,
//! in a binary WebSocket frame about a third of the size.
//!
//! A chat socket's traffic is TALKs, and most of a TALK's JSON is its field names, three ids as
//! text and a timestamp as text. This layout drops the names, writes UUIDs as their 16 bytes and
//! the time as milliseconds, and leaves out `roomId` (a `/ws` socket is in one room). It is
//! lossless: whatever cannot be written compactly (an id that is not a UUID, a time that is not
//! the server's own format) is written as text, so decoding always gives back the JSON's fields.
//!
//! ```text
//! TALK    = 0x01 flags seq:varint created id16:messageId id:senderId str:senderNickname str:content
//!           [id:receiverId if flags & 1] [varint:count id* if flags & 2]
//! created = varint:ms since the Unix epoch | str (if flags & 4)
//! id      = 0x00 str | 0x01 uuid16 | 0x02 uuid16 ("guest-" + UUID) | 0x03 uuid16 ("member-" + UUID)
//! str     = varint:byte length, UTF-8;   varint = unsigned LEB128;   uuid16 = the UUID's 16 bytes
//! ```

use uuid::Uuid;

use super::{MemberId, RoomId, TalkEvent};

mod time;

/// The first byte of a compact TALK.
pub const TALK: u8 = 1;

const HAS_RECEIVER: u8 = 1;
const HAS_MENTIONS: u8 = 2;
const TIME_AS_TEXT: u8 = 4;

/// Id shapes written as 16 bytes (tag, prefix); tag 0 is text.
const ID_SHAPES: [(u8, &str); 3] = [(1, ""), (2, "guest-"), (3, "member-")];

/// Why bytes are not a compact TALK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactError(pub &'static str);

impl std::fmt::Display for CompactError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a compact TALK: {}", self.0)
    }
}

impl std::error::Error for CompactError {}

/// A TALK in the compact layout (its `roomId` is the socket's).
pub fn encode_talk(talk: &TalkEvent) -> Vec<u8> {
    let ms = time::ms_of(&talk.created_at);
    let mut flags = 0;
    if talk.receiver_id.is_some() {
        flags |= HAS_RECEIVER;
    }
    if !talk.mentions.is_empty() {
        flags |= HAS_MENTIONS;
    }
    if ms.is_none() {
        flags |= TIME_AS_TEXT;
    }
    let mut out = Vec::with_capacity(48 + talk.sender_nickname.len() + talk.content.len());
    out.extend([TALK, flags]);
    varint(&mut out, talk.seq);
    match ms {
        Some(ms) => varint(&mut out, ms),
        None => string(&mut out, &talk.created_at),
    }
    out.extend_from_slice(talk.message_id.as_bytes());
    id(&mut out, &talk.sender_id.0);
    string(&mut out, &talk.sender_nickname);
    string(&mut out, &talk.content);
    if let Some(to) = &talk.receiver_id {
        id(&mut out, &to.0);
    }
    if !talk.mentions.is_empty() {
        varint(&mut out, talk.mentions.len() as u64);
        for m in &talk.mentions {
            id(&mut out, &m.0);
        }
    }
    out
}

/// The TALK in `bytes`, in `room` (the socket's).
pub fn decode_talk(bytes: &[u8], room: &RoomId) -> Result<TalkEvent, CompactError> {
    let mut r = Reader(bytes);
    if r.byte()? != TALK {
        return Err(CompactError("unknown kind"));
    }
    let flags = r.byte()?;
    if flags & !(HAS_RECEIVER | HAS_MENTIONS | TIME_AS_TEXT) != 0 {
        return Err(CompactError("unknown flags"));
    }
    let seq = r.varint()?;
    let created_at = match flags & TIME_AS_TEXT {
        0 => time::rfc3339(r.varint()?).ok_or(CompactError("time out of range"))?,
        _ => r.string()?,
    };
    let message_id = r.uuid()?;
    let sender_id = MemberId(r.id()?);
    let sender_nickname = r.string()?;
    let content = r.string()?;
    let receiver_id = match flags & HAS_RECEIVER {
        0 => None,
        _ => Some(MemberId(r.id()?)),
    };
    let mut mentions = Vec::new();
    if flags & HAS_MENTIONS != 0 {
        let count = r.varint()?;
        // Each id takes at least 2 bytes: a count beyond what is left is a lie, not a reason
        // to reserve memory for it.
        if count == 0 || count > r.0.len() as u64 / 2 {
            return Err(CompactError("bad mention count"));
        }
        for _ in 0..count {
            mentions.push(MemberId(r.id()?));
        }
    }
    if !r.0.is_empty() {
        return Err(CompactError("trailing bytes"));
    }
    Ok(TalkEvent {
        seq,
        room_id: room.clone(),
        message_id,
        sender_id,
        sender_nickname,
        content,
        created_at,
        receiver_id,
        mentions,
    })
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn string(out: &mut Vec<u8>, s: &str) {
    varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn id(out: &mut Vec<u8>, id: &str) {
    for (tag, prefix) in ID_SHAPES {
        // Only the canonical text (lower-case, hyphenated) is written as bytes: decoding
        // writes it back that way.
        let uuid = id.strip_prefix(prefix).filter(|u| u.len() == 36).and_then(|u| Uuid::try_parse(u).ok());
        if let Some(uuid) = uuid.filter(|u| u.hyphenated().to_string() == id[prefix.len()..]) {
            out.push(tag);
            out.extend_from_slice(uuid.as_bytes());
            return;
        }
    }
    out.push(0);
    string(out, id);
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], CompactError> {
        if self.0.len() < n {
            return Err(CompactError("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, CompactError> {
        Ok(self.take(1)?[0])
    }

    fn varint(&mut self) -> Result<u64, CompactError> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(CompactError("varint overflows"));
            }
            n |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(CompactError("varint too long"))
    }

    fn string(&mut self) -> Result<String, CompactError> {
        let len = self.varint()?;
        let len = usize::try_from(len).map_err(|_| CompactError("truncated"))?;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| CompactError("text is not UTF-8"))
    }

    fn uuid(&mut self) -> Result<Uuid, CompactError> {
        let bytes: [u8; 16] = self.take(16)?.try_into().expect("took 16");
        Ok(Uuid::from_bytes(bytes))
    }

    fn id(&mut self) -> Result<String, CompactError> {
        let tag = self.byte()?;
        if tag == 0 {
            return self.string();
        }
        let (_, prefix) = ID_SHAPES.iter().find(|(t, _)| *t == tag).ok_or(CompactError("unknown id tag"))?;
        Ok(format!("{prefix}{}", self.uuid()?.hyphenated()))
    }
}

#[cfg(test)]
mod tests;
