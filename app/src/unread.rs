//! Unread: which of a room's lines count as new for a member (the server counts with it), a
//! room's preview line, and the UI's state of every room's unread counts (a plain reducer: the
//! room list, the page title and the links' names read it).

use std::collections::HashMap;

use crate::wire::{Counts, MAX_COUNTED, MemberId, PREVIEW_CHARS, Preview, RoomActivity, RoomId, ServerFrame};

/// What a new line is to its reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum New {
    Line,
    Mention,
    Whisper,
}

/// Whether a room's frame counts as new for `me` once past their read mark: lines by others
/// (a whisper only for its receiver), moves by others, the game master's answers and the end.
/// Joins, leaves, turns, dice and the server's words do not.
pub fn is_new(frame: &ServerFrame, me: &MemberId) -> Option<New> {
    match frame {
        ServerFrame::Talk(t) if &t.sender_id != me => match &t.receiver_id {
            Some(to) if to == me => Some(New::Whisper),
            Some(_) => None,
            None if t.mentions.contains(me) => Some(New::Mention),
            None => Some(New::Line),
        },
        ServerFrame::Action(a) if &a.member_id != me => Some(New::Line),
        ServerFrame::GmMessage(_) | ServerFrame::GameEnd(_) => Some(New::Line),
        _ => None,
    }
}

/// Adds one new line to the counts (at most [`MAX_COUNTED`]; past it `more`).
pub fn add(counts: &mut Counts, new: New) {
    if counts.unread >= MAX_COUNTED {
        counts.more = true;
        return;
    }
    counts.unread += 1;
    match new {
        New::Line => {}
        New::Mention => counts.mentions += 1,
        New::Whisper => counts.whispers += 1,
    }
}

/// The counts of the frames after a read mark.
pub fn count<'a>(frames: impl IntoIterator<Item = &'a ServerFrame>, me: &MemberId) -> Counts {
    let mut counts = Counts::default();
    for new in frames.into_iter().filter_map(|f| is_new(f, me)) {
        add(&mut counts, new);
    }
    counts
}

/// The name a game master's line goes under.
pub const GAME_MASTER: &str = "Game master";

/// A frame as a room's last line in the list: lines said to the room, moves and the narration
/// (never a whisper: the list is the same for everyone in the room).
pub fn preview(frame: &ServerFrame) -> Option<Preview> {
    let (seq, who, text, at) = match frame {
        ServerFrame::Talk(t) if t.receiver_id.is_none() => {
            (t.seq, t.sender_nickname.as_str(), &t.content, &t.created_at)
        }
        ServerFrame::Action(a) => (a.seq, a.nickname.as_str(), &a.content, &a.created_at),
        ServerFrame::GmMessage(m) => (m.seq, GAME_MASTER, &m.content, &m.created_at),
        ServerFrame::GameEnd(e) => (e.seq, GAME_MASTER, &e.result, &e.created_at),
        _ => return None,
    };
    Some(Preview { seq, sender_nickname: who.to_owned(), text: shorten(text, PREVIEW_CHARS), created_at: at.clone() })
}

/// The text on one line, at most `max` characters, cut after a whole word where one fits.
pub fn shorten(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    let at_word = match cut.rfind(' ') {
        Some(i) if i >= cut.len() / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", at_word.trim_end_matches([' ', ',', '.', ';', ':']))
}

/// "3", "99+", or nothing when nothing is new.
pub fn badge(c: &Counts) -> Option<String> {
    match (c.unread, c.more) {
        (0, false) => None,
        (_, true) => Some(format!("{MAX_COUNTED}+")),
        (n, false) => Some(n.to_string()),
    }
}

/// A room link's accessible name: "Great Hall, 3 unread, 1 mention".
pub fn label(name: &str, c: &Counts) -> String {
    let Some(n) = badge(c) else { return name.to_owned() };
    let mut out = format!("{name}, {n} unread");
    let plural = |k: u32, one: &str| if k == 1 { format!("1 {one}") } else { format!("{k} {one}s") };
    if c.mentions > 0 {
        out += &format!(", {}", plural(c.mentions, "mention"));
    }
    if c.whispers > 0 {
        out += &format!(", {}", plural(c.whispers, "whisper"));
    }
    out
}

/// The UI's view of every room's activity: the server's last answer, with what this tab has
/// seen since (so a count drops at once, not at the next refresh).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Unread {
    rooms: Vec<RoomActivity>,
    /// Read marks this tab set that the server's answer may not have yet.
    seen: HashMap<RoomId, u64>,
    /// The room the player has open and in view: its new lines are read as they come.
    here: Option<RoomId>,
}

impl Unread {
    /// Every room, in the server's order.
    pub fn rooms(&self) -> &[RoomActivity] {
        &self.rooms
    }

    /// One room's entry.
    pub fn room(&self, id: &RoomId) -> Option<&RoomActivity> {
        self.rooms.iter().find(|r| &r.room.room_id == id)
    }

    /// Takes a fresh answer from the server, keeping this tab's newer marks.
    pub fn load(&mut self, rooms: Vec<RoomActivity>) {
        self.rooms = rooms;
        // A mark the server has reached need not be kept; a room gone takes its mark along.
        let rooms = &self.rooms;
        self.seen.retain(|id, seq| rooms.iter().any(|r| &r.room.room_id == id && r.read_seq.unwrap_or(0) < *seq));
        for (id, seq) in self.seen.clone() {
            self.apply_seen(&id, seq);
        }
        if let Some(here) = self.here.clone() {
            self.clear(&here);
        }
    }

    /// The player has seen the room up to `seq`; true when the server should be told (the mark
    /// moved past what it knows).
    pub fn seen(&mut self, room: &RoomId, seq: u64) -> bool {
        let known =
            self.room(room).and_then(|r| r.read_seq).unwrap_or(0).max(self.seen.get(room).copied().unwrap_or(0));
        if seq <= known {
            return false;
        }
        self.seen.insert(room.clone(), seq);
        self.apply_seen(room, seq);
        true
    }

    fn apply_seen(&mut self, id: &RoomId, seq: u64) {
        if let Some(r) = self.rooms.iter_mut().find(|r| &r.room.room_id == id) {
            r.read_seq = Some(r.read_seq.unwrap_or(0).max(seq));
            if seq >= r.head_seq {
                r.counts = Counts::default();
            }
        }
    }

    fn clear(&mut self, id: &RoomId) {
        if let Some(r) = self.rooms.iter_mut().find(|r| &r.room.room_id == id) {
            r.counts = Counts::default();
        }
    }

    /// Whether the room is the one in view.
    pub fn is_here(&self, room: &RoomId) -> bool {
        self.here.as_ref() == Some(room)
    }

    /// The room the player has open and in view (`None`: none, or the tab is hidden).
    pub fn set_here(&mut self, room: Option<RoomId>) {
        self.here = room;
        if let Some(here) = self.here.clone() {
            self.clear(&here);
        }
    }

    /// A notification said something new arrived in a room: counted at once (the next answer
    /// from the server replaces the guess), unless the player is looking at it.
    pub fn noticed(&mut self, room: &RoomId, new: New) {
        if self.here.as_ref() == Some(room) {
            return;
        }
        if let Some(r) = self.rooms.iter_mut().find(|r| &r.room.room_id == room) {
            add(&mut r.counts, new);
        }
    }

    /// New lines in every room but the one in view.
    pub fn total(&self) -> u32 {
        self.rooms.iter().filter(|r| Some(&r.room.room_id) != self.here.as_ref()).map(|r| r.counts.unread).sum()
    }

    /// The page title: "(3) DungeonTalk" with new lines elsewhere, "DungeonTalk" without.
    pub fn title(&self) -> String {
        match self.total() {
            0 => "DungeonTalk".to_owned(),
            n => format!("({n}) DungeonTalk"),
        }
    }
}

#[cfg(test)]
mod tests;
