use uuid::Uuid;

use super::*;
use crate::wire::{RoomId, TalkEvent};

fn me() -> MemberId {
    MemberId("me".into())
}

/// "2026-12-07T17:02:00Z" → ("2026-12-07", "17:02", seconds): UTC stands in for local time here.
fn clock(at: &str) -> (String, String, i64) {
    let (day, rest) = at.split_once('T').unwrap();
    let (h, m) = (rest[..2].parse::<i64>().unwrap(), rest[3..5].parse::<i64>().unwrap());
    let d = day[8..10].parse::<i64>().unwrap();
    (day.to_owned(), rest[..5].to_owned(), ((d * 24 + h) * 60 + m) * 60)
}

fn name_of(id: &MemberId) -> String {
    format!("nick-{}", id.0)
}

fn talk(seq: u64, from: &str, at: &str) -> ServerFrame {
    ServerFrame::Talk(TalkEvent {
        seq,
        room_id: RoomId("r".into()),
        message_id: Uuid::nil(),
        sender_id: MemberId(from.into()),
        sender_nickname: from.to_uppercase(),
        content: format!("line {seq}"),
        created_at: at.into(),
        receiver_id: None,
        mentions: Vec::new(),
    })
}

fn line(seq: u64, from: &str, at: &str) -> Line {
    let me = me();
    Reader { me: &me, clock: &clock, name_of: &name_of }.line(&talk(seq, from, at)).unwrap()
}

fn seqs(t: &Timeline) -> Vec<u64> {
    t.lines().iter().map(|l| l.seq).collect()
}

#[test]
fn lines_keep_seq_order_and_each_seq_once() {
    let mut t = Timeline::default();
    for seq in [3, 1, 2, 3, 2] {
        t.live(line(seq, "bo", "2026-12-07T10:00:00Z"));
    }
    assert_eq!(seqs(&t), [1, 2, 3], "out of order in, in order out; a repeated seq is dropped");
    assert_eq!((t.oldest_seq(), t.newest_seq()), (Some(1), 3));
}

#[test]
fn scrollback_pages_merge_before_what_is_shown_and_find_the_start() {
    let mut t = Timeline::default();
    for seq in 101..=150 {
        t.live(line(seq, "bo", "2026-12-07T10:00:00Z"));
    }
    // A newest-first page, overlapping what is shown by one (a frame that came meanwhile).
    let page: Vec<Line> = (51..=101).rev().map(|s| line(s, "bo", "2026-12-07T09:00:00Z")).collect();
    t.older(page, false);
    assert_eq!(seqs(&t), (51..=150).collect::<Vec<_>>());
    assert!(!t.reached_start, "a full page: there may be more");
    t.older((1..=50).map(|s| line(s, "bo", "2026-12-07T08:00:00Z")).collect(), true);
    assert!(t.reached_start, "a short page: nothing older");
    assert_eq!(t.lines().len(), 150);
}

#[test]
fn new_lines_while_reading_history_are_counted_not_followed() {
    let mut t = Timeline::default();
    t.live(line(1, "bo", "2026-12-07T10:00:00Z"));
    assert_eq!(t.seen_seq(), 1, "a line that comes into view is seen");
    t.follow(false);
    t.live(line(2, "bo", "2026-12-07T10:00:01Z"));
    t.live(line(3, "me", "2026-12-07T10:00:02Z"));
    t.live(line(2, "bo", "2026-12-07T10:00:01Z"));
    assert_eq!(t.unseen, 1, "another's new line counts once; my own does not");
    assert_eq!(t.seen_seq(), 1, "lines below the view are not seen: the read mark stays");
    t.older(vec![line(0, "bo", "2026-12-07T09:00:00Z")], true);
    assert_eq!(t.unseen, 1, "older lines are not new");
    t.follow(true);
    assert_eq!((t.unseen, t.following), (0, true), "back at the latest: all seen");
    assert_eq!(t.seen_seq(), 3);
}

#[test]
fn following_drops_the_oldest_past_the_cap_and_reading_drops_nothing() {
    let mut t = Timeline { reached_start: true, ..Timeline::default() };
    for seq in 1..=(MAX_LINES as u64 + 10) {
        t.live(line(seq, "bo", "2026-12-07T10:00:00Z"));
    }
    assert_eq!((t.lines().len(), t.oldest_seq()), (MAX_LINES, Some(11)));
    assert!(!t.reached_start, "dropped lines come back through scrollback");
    t.follow(false);
    t.live(line(MAX_LINES as u64 + 11, "bo", "2026-12-07T10:00:00Z"));
    assert_eq!(t.lines().len(), MAX_LINES + 1, "nothing moves under a reader");
}

#[test]
fn a_sender_s_lines_group_within_minutes_and_days_are_marked() {
    let mut t = Timeline::default();
    for (seq, from, at) in [
        (1, "bo", "2026-12-06T23:58:00Z"),
        (2, "bo", "2026-12-06T23:59:00Z"),
        (3, "bo", "2026-12-07T00:00:30Z"),
        (4, "al", "2026-12-07T00:01:00Z"),
        (5, "al", "2026-12-07T00:09:00Z"),
        (6, "al", "2026-12-07T00:10:00Z"),
    ] {
        t.live(line(seq, from, at));
    }
    let groups: Vec<bool> = (0..6).map(|i| t.continues(i)).collect();
    assert_eq!(groups, [false, true, false, false, false, true], "a new day, a new sender or a pause starts a group");
    let days: Vec<Option<&str>> = (0..6).map(|i| t.day_above(i)).collect();
    assert_eq!(days, [Some("2026-12-06"), None, Some("2026-12-07"), None, None, None]);
}

#[test]
fn frames_read_as_lines_of_their_kind() {
    let me = me();
    let reader = Reader { me: &me, clock: &clock, name_of: &name_of };
    let mut whisper = talk(7, "bo", "2026-12-07T10:00:00Z");
    if let ServerFrame::Talk(t) = &mut whisper {
        t.receiver_id = Some(me.clone());
        t.mentions = vec![me.clone()];
    }
    let l = reader.line(&whisper).unwrap();
    assert_eq!((l.kind, l.whisper.as_deref(), l.mention, l.own), (Kind::Talk, Some("to you"), true, false));
    let mut mine = talk(8, "me", "2026-12-07T10:00:00Z");
    if let ServerFrame::Talk(t) = &mut mine {
        t.receiver_id = Some(MemberId("bo".into()));
    }
    let l = reader.line(&mine).unwrap();
    assert_eq!((l.own, l.whisper.as_deref()), (true, Some("to nick-bo")));
    let chunk =
        ServerFrame::GmChunk { room_id: RoomId("r".into()), turn: 1, index: 0, text: "The".into(), sent_at_us: None };
    assert_eq!(reader.line(&chunk), None, "chunks stream in the game panel, not as lines");
}
