use uuid::Uuid;

use super::*;
use crate::wire::{GmMessageEvent, MemberEvent, RoomSummary, RoomType, TalkEvent};

fn me() -> MemberId {
    MemberId("me".into())
}

fn talk(seq: u64, from: &str, to: Option<&str>, mentions: &[&str]) -> ServerFrame {
    ServerFrame::Talk(TalkEvent {
        seq,
        room_id: RoomId("r".into()),
        message_id: Uuid::nil(),
        sender_id: MemberId(from.into()),
        sender_nickname: from.to_uppercase(),
        content: format!("line {seq}"),
        created_at: "2026-12-07T17:02:00Z".into(),
        receiver_id: to.map(|t| MemberId(t.into())),
        mentions: mentions.iter().map(|m| MemberId((*m).into())).collect(),
    })
}

fn activity(id: &str, head: u64, read: Option<u64>, unread: u32) -> RoomActivity {
    RoomActivity {
        room: RoomSummary {
            room_id: RoomId(id.into()),
            name: format!("Room {id}"),
            max_capacity: 0,
            connected_count: 0,
            room_type: RoomType::Player,
            private: false,
        },
        head_seq: head,
        read_seq: read,
        counts: Counts { unread, ..Counts::default() },
        last: None,
    }
}

#[test]
fn only_what_others_said_to_me_or_the_room_counts() {
    let join = ServerFrame::Join(MemberEvent {
        seq: 1,
        room_id: RoomId("r".into()),
        member_id: MemberId("bo".into()),
        nickname: "Bo".into(),
        created_at: String::new(),
    });
    let gm = ServerFrame::GmMessage(GmMessageEvent {
        seq: 7,
        room_id: RoomId("r".into()),
        message_id: Uuid::nil(),
        step: 1,
        turn: 1,
        content: "The cave".into(),
        created_at: String::new(),
    });
    let frames = [
        join,
        talk(2, "me", None, &[]),           // mine
        talk(3, "bo", None, &[]),           // a line
        talk(4, "bo", Some("me"), &[]),     // a whisper to me
        talk(5, "bo", Some("cy"), &[]),     // someone else's whisper (never sent to me anyway)
        talk(6, "bo", None, &["me", "cy"]), // a mention
        gm,                                 // the narration
    ];
    let c = count(&frames, &me());
    assert_eq!(c, Counts { unread: 4, mentions: 1, whispers: 1, more: false });
}

#[test]
fn past_the_most_counted_a_count_reads_99_plus() {
    let frames: Vec<_> = (1..=150).map(|s| talk(s, "bo", None, &[])).collect();
    let c = count(&frames, &me());
    assert_eq!((c.unread, c.more), (MAX_COUNTED, true));
    assert_eq!(badge(&c).as_deref(), Some("99+"));
    assert_eq!(badge(&Counts::default()), None);
}

#[test]
fn a_link_names_the_room_and_what_is_new() {
    let c = Counts { unread: 3, mentions: 1, whispers: 2, more: false };
    assert_eq!(label("Great Hall", &c), "Great Hall, 3 unread, 1 mention, 2 whispers");
    assert_eq!(label("Great Hall", &Counts::default()), "Great Hall");
}

#[test]
fn previews_are_short_public_and_whole_words() {
    assert_eq!(preview(&talk(3, "bo", Some("me"), &[])), None, "never a whisper");
    let p = preview(&talk(3, "bo", None, &[])).unwrap();
    assert_eq!((p.seq, p.sender_nickname.as_str(), p.text.as_str()), (3, "BO", "line 3"));
    let long = "word ".repeat(40);
    let short = shorten(&long, PREVIEW_CHARS);
    assert!(short.chars().count() <= PREVIEW_CHARS && short.ends_with("word…"), "{short}");
    assert_eq!(shorten("two\n lines", 80), "two lines");
}

#[test]
fn seeing_a_room_clears_it_at_once_and_survives_an_older_answer() {
    let mut u = Unread::default();
    u.load(vec![activity("a", 10, Some(5), 3), activity("b", 4, Some(4), 0)]);
    assert_eq!(u.total(), 3);
    assert_eq!(u.title(), "(3) DungeonTalk");
    assert!(u.seen(&RoomId("a".into()), 10), "the server is told");
    assert!(!u.seen(&RoomId("a".into()), 9), "a mark never moves back");
    assert_eq!(u.total(), 0);
    // An answer made before the server had the mark: still read here.
    u.load(vec![activity("a", 10, Some(5), 3), activity("b", 4, Some(4), 0)]);
    assert_eq!(u.total(), 0);
    // Once the server has it, the tab forgets its own mark; new lines count again.
    u.load(vec![activity("a", 12, Some(10), 2), activity("b", 4, Some(4), 0)]);
    assert_eq!(u.total(), 2);
    assert_eq!(u.title(), "(2) DungeonTalk");
}

#[test]
fn the_room_in_view_never_counts_and_notifications_count_elsewhere() {
    let mut u = Unread::default();
    u.load(vec![activity("a", 10, Some(5), 3), activity("b", 4, Some(4), 0)]);
    u.set_here(Some(RoomId("a".into())));
    assert_eq!(u.total(), 0);
    u.noticed(&RoomId("a".into()), New::Mention);
    u.noticed(&RoomId("b".into()), New::Whisper);
    let b = u.room(&RoomId("b".into())).unwrap().counts;
    assert_eq!((b.unread, b.whispers), (1, 1));
    assert_eq!(u.total(), 1);
    u.set_here(None);
    assert_eq!(u.title(), "(1) DungeonTalk");
}
