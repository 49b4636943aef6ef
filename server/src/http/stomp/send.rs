//! What a STOMP `SEND` to `/pub/chat/send` carries: the original client's JSON
//! (`{"type","roomId","senderId","content","messageId"?,"timestamp"?}`), read as one of our frames.

use dungeontalk_app::wire::{ClientFrame, Die, ErrorCode, MemberId, RoomId};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::AppError;

/// The original's chat message DTO; `senderId`, `senderNickname` and `timestamp` are ignored
/// (identity comes from the token, time from the server).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Original {
    #[serde(rename = "type")]
    kind: String,
    room_id: Option<String>,
    content: Option<String>,
    message_id: Option<String>,
    receiver_id: Option<String>,
    /// A ROLL's die (`d20`, `str`, ...).
    die: Option<Die>,
}

/// The room a `SEND` body names and the frame it asks for.
pub fn read(body: &[u8]) -> Result<(RoomId, ClientFrame), AppError> {
    let o: Original = serde_json::from_slice(body)
        .map_err(|e| AppError::new(ErrorCode::BadFrame, format!("Not a valid chat message: {e}")))?;
    let room_id = o.room_id.filter(|r| !r.is_empty()).map(RoomId);
    let room_id = room_id.ok_or_else(|| AppError::new(ErrorCode::MissingParam, "roomId is required."))?;
    let frame = match o.kind.as_str() {
        "JOIN" => ClientFrame::Join,
        "LEAVE" => ClientFrame::Leave,
        "TYPING" => ClientFrame::Typing,
        // The original's clients send PRESENCE to say they are still there.
        "PRESENCE" | "HEARTBEAT" => ClientFrame::Heartbeat,
        "TALK" => ClientFrame::Talk {
            content: o.content.unwrap_or_default(),
            message_id: o.message_id.as_deref().map(|id| message_uuid(&room_id, id)),
            receiver_id: o.receiver_id.filter(|r| !r.is_empty()).map(MemberId),
        },
        "ACTION" => ClientFrame::Action {
            content: o.content.unwrap_or_default(),
            message_id: o.message_id.as_deref().map(|id| message_uuid(&room_id, id)),
        },
        "ROLL" => ClientFrame::Roll {
            die: o.die.ok_or_else(|| {
                AppError::new(ErrorCode::MissingParam, "A ROLL needs a die: d20, str, dex, int, wis, wil or luk.")
            })?,
            message_id: o.message_id.as_deref().map(|id| message_uuid(&room_id, id)),
        },
        other => {
            let msg = format!("Unknown message type {other:?}: JOIN, LEAVE, TALK, TYPING, PRESENCE, ACTION or ROLL.");
            return Err(AppError::new(ErrorCode::BadFrame, msg));
        }
    };
    Ok((room_id, frame))
}

/// The idempotency key for a client's `messageId`: itself when it is a UUID; otherwise a UUID
/// derived from it (the original let clients pick any string), so a retry is still caught.
fn message_uuid(room: &RoomId, id: &str) -> Uuid {
    if let Ok(uuid) = Uuid::parse_str(id) {
        return uuid;
    }
    let digest = Sha256::new().chain_update(room.0.as_bytes()).chain_update([0]).chain_update(id.as_bytes()).finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_original_messages_read_as_our_frames() {
        let join = br#"{"type":"JOIN","roomId":"r1","senderId":"forged","content":"Aria joined."}"#;
        assert_eq!(read(join).unwrap(), (RoomId("r1".into()), ClientFrame::Join));
        let talk = br#"{"type":"TALK","roomId":"r1","senderId":"x","content":"hi","timestamp":"2024-01-01T00:00:00Z"}"#;
        let (_, frame) = read(talk).unwrap();
        assert_eq!(frame, ClientFrame::Talk { content: "hi".into(), message_id: None, receiver_id: None });
        assert_eq!(read(br#"{"type":"TALK","content":"hi"}"#).unwrap_err().code, ErrorCode::MissingParam);
        assert_eq!(read(br#"{"type":"DANCE","roomId":"r1"}"#).unwrap_err().code, ErrorCode::BadFrame);
        assert_eq!(read(b"not json").unwrap_err().code, ErrorCode::BadFrame);
    }

    #[test]
    fn any_message_id_becomes_a_stable_key() {
        let id = |m: &str| match read(
            format!(r#"{{"type":"TALK","roomId":"r1","content":"x","messageId":"{m}"}}"#).as_bytes(),
        ) {
            Ok((_, ClientFrame::Talk { message_id, .. })) => message_id.unwrap(),
            other => panic!("{other:?}"),
        };
        assert_eq!(id("msg-1"), id("msg-1"), "a retry has the same key");
        assert_ne!(id("msg-1"), id("msg-2"));
        assert_eq!(id("0190f0e2-7a3b-7c3d-8e4f-0123456789ab").to_string(), "0190f0e2-7a3b-7c3d-8e4f-0123456789ab");
    }
}
