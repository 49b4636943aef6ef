use super::*;
use serde_json::{Value, json};

fn round_trip(frame: &ServerFrame) -> Value {
    let text = serde_json::to_string(frame).unwrap();
    let back: ServerFrame = serde_json::from_str(&text).unwrap();
    assert_eq!(&back, frame, "round trip changed {text}");
    serde_json::from_str(&text).unwrap()
}

fn talk() -> TalkEvent {
    TalkEvent {
        seq: 7,
        room_id: RoomId("r1".into()),
        message_id: Uuid::parse_str("01890a5d-ac96-774b-bcce-b302099a8057").unwrap(),
        sender_id: MemberId("m1".into()),
        sender_nickname: "Aria".into(),
        content: "hello".into(),
        created_at: "2026-11-25T10:00:00Z".into(),
        receiver_id: None,
        mentions: Vec::new(),
    }
}

#[test]
fn talk_event_uses_the_contracts_field_names() {
    let v = round_trip(&ServerFrame::Talk(talk()));
    assert_eq!(v["type"], "TALK");
    assert_eq!(v["seq"], 7);
    assert_eq!(v["roomId"], "r1");
    assert_eq!(v["senderId"], "m1");
    assert_eq!(v["senderNickname"], "Aria");
    assert_eq!(v["createdAt"], "2026-11-25T10:00:00Z");
    assert!(v.get("receiverId").is_none(), "absent whisper target is omitted");
}

#[test]
fn member_events_and_control_frames_round_trip() {
    let member = MemberEvent {
        seq: 1,
        room_id: RoomId("r1".into()),
        member_id: MemberId("m2".into()),
        nickname: "Bo".into(),
        created_at: "2026-11-25T10:00:00Z".into(),
    };
    assert_eq!(round_trip(&ServerFrame::Join(member.clone()))["type"], "JOIN");
    assert_eq!(round_trip(&ServerFrame::Leave(member))["memberId"], "m2");
    let err = round_trip(&ServerFrame::Error {
        code: ErrorCode::FrameTooLarge,
        message: "too big".into(),
        retry_after_ms: None,
    });
    assert_eq!(err, json!({"type": "ERROR", "code": "chat.frame_too_large", "message": "too big"}));
    assert_eq!(round_trip(&ServerFrame::Resync { after: 41 }), json!({"type": "RESYNC", "after": 41}));
    let hello = ServerFrame::Connected {
        room_id: RoomId("r1".into()),
        member_id: MemberId("m1".into()),
        nickname: "Aria".into(),
    };
    assert_eq!(round_trip(&hello), json!({"type": "CONNECTED", "roomId": "r1", "memberId": "m1", "nickname": "Aria"}));
}

#[test]
fn seq_is_only_on_stored_events() {
    assert_eq!(ServerFrame::Talk(talk()).seq(), Some(7));
    assert_eq!(ServerFrame::Resync { after: 3 }.seq(), None);
}

#[test]
fn client_frames_parse_from_the_original_shapes() {
    let join: ClientFrame = serde_json::from_str(r#"{"type":"JOIN","roomId":"x"}"#).unwrap();
    assert_eq!(join, ClientFrame::Join);
    let talk: ClientFrame = serde_json::from_str(
        r#"{"type":"TALK","content":"hi","senderId":"someone-else","messageId":"01890a5d-ac96-774b-bcce-b302099a8057"}"#,
    )
    .unwrap();
    match talk {
        ClientFrame::Talk { content, message_id, receiver_id } => {
            assert_eq!(content, "hi");
            assert!(message_id.is_some());
            assert_eq!(receiver_id, None);
        }
        other => panic!("parsed as {other:?}"),
    }
}

#[test]
fn client_frames_round_trip_and_reject_unknown_types() {
    let frame =
        ClientFrame::Talk { content: "psst".into(), message_id: None, receiver_id: Some(MemberId("m9".into())) };
    let text = serde_json::to_string(&frame).unwrap();
    assert_eq!(text, r#"{"type":"TALK","content":"psst","receiverId":"m9"}"#);
    assert_eq!(serde_json::from_str::<ClientFrame>(&text).unwrap(), frame);
    assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"PRESENCE"}"#).is_err());
    assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"TALK"}"#).is_err());
}

#[test]
fn error_codes_serialize_as_their_stable_strings() {
    for code in [ErrorCode::MissingToken, ErrorCode::TokenExpired, ErrorCode::RoomNotFound, ErrorCode::Internal] {
        assert_eq!(serde_json::to_value(code).unwrap(), Value::String(code.as_str().into()));
    }
}

#[test]
fn notifications_and_http_answers_use_the_contracts_names() {
    let mention = Notification::Mention(talk());
    let v = serde_json::to_value(&mention).unwrap();
    assert_eq!((v["type"].as_str(), v["senderNickname"].as_str()), (Some("MENTION"), Some("Aria")));
    assert_eq!(mention.event_name(), "mention");
    let invitation = Notification::Invitation {
        room_id: RoomId("r1".into()),
        room_name: "Crypt".into(),
        from_id: MemberId("m1".into()),
        from_nickname: "Aria".into(),
        created_at: "2026-11-25T10:00:00Z".into(),
    };
    let text = serde_json::to_string(&invitation).unwrap();
    assert_eq!(serde_json::from_str::<Notification>(&text).unwrap(), invitation);
    assert!(text.contains("\"roomName\":\"Crypt\"") && text.contains("\"fromNickname\""), "{text}");
    let accepted = Accepted { message_id: Some(talk().message_id), seq: Some(7), warning: None };
    assert_eq!(
        serde_json::to_value(&accepted).unwrap(),
        json!({"messageId": "01890a5d-ac96-774b-bcce-b302099a8057", "seq": 7})
    );
    let batch: PollBatch = serde_json::from_value(json!({"events": [], "next": 3})).unwrap();
    assert_eq!(batch, PollBatch { events: vec![], next: 3 });
}

#[test]
fn the_documented_error_table_matches_the_codes() {
    let doc = include_str!("../../../docs/ARCHITECTURE.md");
    let section = doc.split("\n## Error codes\n").nth(1).expect("an Error codes section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| `")).collect();
    assert_eq!(rows.len(), ErrorCode::ALL.len(), "one row per code in docs/ARCHITECTURE.md");
    for (row, code) in rows.iter().zip(ErrorCode::ALL) {
        let want = format!("| `{}` | {} | {} |", code.as_str(), code.http_status(), code.meaning());
        assert_eq!(*row, want, "docs/ARCHITECTURE.md, in table order");
    }
}
