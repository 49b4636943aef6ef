use proptest::prelude::*;

use super::time::{ms_of, rfc3339};
use super::*;
use crate::wire::ServerFrame;

fn room() -> RoomId {
    RoomId("019ad5e0-6c1a-7f3e-9a51-0e4b9c7d2f10".into())
}

fn talk() -> TalkEvent {
    TalkEvent {
        seq: 12_345,
        room_id: room(),
        message_id: Uuid::parse_str("019ad5e1-0a2b-7c3d-8e4f-5a6b7c8d9e0f").unwrap(),
        sender_id: MemberId("guest-019ad5e1-1111-7222-8333-944455556666".into()),
        sender_nickname: "Aria".into(),
        content: "anyone near the crypt?".into(),
        created_at: "2026-11-30T21:10:45.123Z".into(),
        receiver_id: None,
        mentions: Vec::new(),
    }
}

#[test]
fn a_short_chat_line_is_under_ninety_bytes_and_a_third_of_its_json() {
    let t = talk();
    let compact = encode_talk(&t);
    let json = serde_json::to_vec(&ServerFrame::Talk(t.clone())).unwrap();
    assert_eq!(decode_talk(&compact, &room()).unwrap(), t);
    assert!(compact.len() <= 90, "{} bytes", compact.len());
    assert!(compact.len() * 3 <= json.len() + 10, "{} vs {} bytes of JSON", compact.len(), json.len());
}

#[test]
fn whispers_mentions_and_ids_of_any_shape_come_back_as_they_were() {
    let mut t = talk();
    t.receiver_id = Some(MemberId("member-019ad5e1-1111-7222-8333-944455556667".into()));
    t.mentions = vec![
        MemberId("m1".into()),
        // Upper case is not the canonical text: written as text, so it comes back upper case.
        MemberId("019AD5E1-1111-7222-8333-944455556668".into()),
        MemberId("019ad5e1-1111-7222-8333-944455556668".into()),
        MemberId("guest-".into()),
        MemberId(String::new()),
    ];
    t.sender_id = MemberId("sender with spaces, ü".into());
    t.content = "multi\nline \"quoted\" ✓".into();
    assert_eq!(decode_talk(&encode_talk(&t), &room()).unwrap(), t);
}

#[test]
fn a_time_not_in_the_servers_form_is_kept_as_text() {
    for created in ["2026-11-25T10:00:00+01:00", "2026-11-25T10:00:00.500Z", "1969-12-31T23:59:59Z", "yesterday"] {
        let t = TalkEvent { created_at: created.into(), ..talk() };
        let bytes = encode_talk(&t);
        assert_eq!(bytes[1] & TIME_AS_TEXT, TIME_AS_TEXT, "{created}");
        assert_eq!(decode_talk(&bytes, &room()).unwrap(), t);
    }
}

#[test]
fn times_are_milliseconds_since_the_epoch_written_as_the_server_writes_them() {
    let cases = [
        (0, "1970-01-01T00:00:00Z"),
        (1_700_000_000_123, "2023-11-14T22:13:20.123Z"),
        (1_700_000_000_500, "2023-11-14T22:13:20.5Z"),
        (1_700_000_000_050, "2023-11-14T22:13:20.05Z"),
        (1_709_164_800_000, "2024-02-29T00:00:00Z"),
        (951_782_400_000, "2000-02-29T00:00:00Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
    ];
    for (ms, text) in cases {
        assert_eq!(rfc3339(ms).as_deref(), Some(text));
        assert_eq!(ms_of(text), Some(ms), "{text}");
    }
    assert_eq!(rfc3339(253_402_300_800_000), None, "year 10000");
    for bad in ["2023-02-29T00:00:00Z", "2023-11-14T24:00:00Z", "2023-11-14T22:13:20.1230Z", "2023-11-14 22:13:20Z"] {
        assert_eq!(ms_of(bad), None, "{bad}");
    }
}

#[test]
fn broken_bytes_are_errors_never_panics() {
    let mut t = talk();
    t.receiver_id = Some(MemberId("m2".into()));
    t.mentions = vec![MemberId("m3".into())];
    let bytes = encode_talk(&t);
    for len in 0..bytes.len() {
        assert!(decode_talk(&bytes[..len], &room()).is_err(), "cut at {len}");
    }
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(decode_talk(&trailing, &room()), Err(CompactError("trailing bytes")));
    let mut kind = bytes.clone();
    kind[0] = 9;
    assert_eq!(decode_talk(&kind, &room()), Err(CompactError("unknown kind")));
    let mut flags = bytes.clone();
    flags[1] |= 0x80;
    assert_eq!(decode_talk(&flags, &room()), Err(CompactError("unknown flags")));
    let huge = [TALK, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
    assert_eq!(decode_talk(&huge, &room()), Err(CompactError("varint overflows")));
}

fn an_id() -> impl Strategy<Value = MemberId> {
    let uuid = any::<u128>().prop_map(|n| Uuid::from_u128(n).hyphenated().to_string());
    prop_oneof![
        ".{0,40}".prop_map(MemberId),
        uuid.clone().prop_map(MemberId),
        uuid.clone().prop_map(|u| MemberId(format!("guest-{u}"))),
        uuid.prop_map(|u| MemberId(format!("member-{u}"))),
    ]
}

proptest! {
    #[test]
    fn every_talk_comes_back_as_it_was(
        seq in any::<u64>(),
        ms in 0u64..253_402_300_800_000,
        text_time in proptest::option::of(".{0,30}"),
        id in any::<u128>(),
        sender in an_id(),
        nick in ".{0,30}",
        content in ".{0,300}",
        receiver in proptest::option::of(an_id()),
        mentions in proptest::collection::vec(an_id(), 0..4),
    ) {
        let t = TalkEvent {
            seq,
            room_id: room(),
            message_id: Uuid::from_u128(id),
            sender_id: sender,
            sender_nickname: nick,
            content,
            created_at: text_time.unwrap_or_else(|| rfc3339(ms).unwrap()),
            receiver_id: receiver,
            mentions,
        };
        prop_assert_eq!(decode_talk(&encode_talk(&t), &room()).unwrap(), t);
    }
}
