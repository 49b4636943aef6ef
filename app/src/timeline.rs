//! A room's conversation as plain state: frames in, lines out. Live frames and older pages (read
//! back through `?before=`) merge by seq, each seq once; while the player reads further up, new
//! lines are counted instead of moving the view. No browser types, so it is tested natively; the
//! chat view keeps one in a signal and only renders it.

use crate::wire::{MemberId, ServerFrame};

/// Lines kept in memory; past it the oldest go while the player follows the latest (they come
/// back through scrollback), and nothing goes while they read history.
pub const MAX_LINES: usize = 2_000;
/// Lines of one sender closer than this (and on one day) are shown as one group.
pub const GROUP_SECS: i64 = 5 * 60;

/// What a line is, for how it is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A player's message.
    Talk,
    /// Joins, leaves, turns and system notices.
    Notice,
    /// A player's move in a game.
    Move,
    /// A roll of the dice.
    Dice,
    /// The game master's answer to a turn.
    Narration,
    /// The end of a game.
    GameEnd,
}

/// One line of the conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub seq: u64,
    pub kind: Kind,
    pub own: bool,
    pub sender: Option<MemberId>,
    pub who: String,
    pub text: String,
    /// The local day ("2026-12-07") and time ("17:02") it was sent, and seconds since the epoch.
    pub day: String,
    pub time: String,
    pub at_secs: i64,
    /// For a whisper: "to Bo" or "to you".
    pub whisper: Option<String>,
    /// It names me (`@nickname`, as the server resolved it) and is not mine.
    pub mention: bool,
}

/// What the UI knows to turn a frame into a line: who I am, and how to read a time.
pub struct Reader<'a> {
    pub me: &'a MemberId,
    /// (local day, local time, seconds since the epoch) of an RFC 3339 timestamp.
    pub clock: &'a dyn Fn(&str) -> (String, String, i64),
    /// The nickname of a member (for "to Bo").
    pub name_of: &'a dyn Fn(&MemberId) -> String,
}

impl Reader<'_> {
    /// The line a stored frame shows as (`None`: it is not a line, e.g. presence or a chunk).
    pub fn line(&self, frame: &ServerFrame) -> Option<Line> {
        let notice = |seq: u64, text: String, at: &str| self.make(seq, Kind::Notice, None, String::new(), text, at);
        Some(match frame {
            ServerFrame::Talk(t) => {
                let own = t.sender_id == *self.me;
                let mut line = self.make(
                    t.seq,
                    Kind::Talk,
                    Some(&t.sender_id),
                    t.sender_nickname.clone(),
                    t.content.clone(),
                    &t.created_at,
                );
                line.whisper = t.receiver_id.as_ref().map(|to| match own {
                    true => format!("to {}", (self.name_of)(to)),
                    false => "to you".to_owned(),
                });
                line.mention = !own && t.mentions.contains(self.me);
                line
            }
            ServerFrame::Join(m) => notice(m.seq, format!("{} joined", m.nickname), &m.created_at),
            ServerFrame::Leave(m) => notice(m.seq, format!("{} left", m.nickname), &m.created_at),
            ServerFrame::Turn(t) => notice(t.seq, crate::game::hints::turn_text(t), &t.created_at),
            ServerFrame::Action(a) => {
                let text = format!("turn {}: {}", a.turn, a.content);
                self.make(a.seq, Kind::Move, Some(&a.member_id), a.nickname.clone(), text, &a.created_at)
            }
            ServerFrame::Dice(d) => {
                let text = format!("rolled {}: {} ({})", d.die.label(), d.result, d.outcome.label());
                self.make(d.seq, Kind::Dice, Some(&d.member_id), d.nickname.clone(), text, &d.created_at)
            }
            ServerFrame::GmMessage(g) => {
                self.make(g.seq, Kind::Narration, None, "Game master".into(), g.content.clone(), &g.created_at)
            }
            ServerFrame::GameEnd(e) => self.make(
                e.seq,
                Kind::GameEnd,
                None,
                String::new(),
                format!("The game is over. {}", e.result),
                &e.created_at,
            ),
            ServerFrame::System(m) => notice(m.seq, m.content.clone(), &m.created_at),
            _ => return None,
        })
        .filter(|l| !l.text.is_empty())
    }

    fn make(&self, seq: u64, kind: Kind, sender: Option<&MemberId>, who: String, text: String, at: &str) -> Line {
        let (day, time, at_secs) = (self.clock)(at);
        let own = sender == Some(self.me);
        Line { seq, kind, own, sender: sender.cloned(), who, text, day, time, at_secs, whisper: None, mention: false }
    }
}

/// The conversation of one room as the player sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Timeline {
    /// Ascending seq, each seq once.
    lines: Vec<Line>,
    /// No older event exists (the room's first one is shown).
    pub reached_start: bool,
    /// The view is at the newest line: new lines scroll into view.
    pub following: bool,
    /// Lines that arrived while the player read further up.
    pub unseen: usize,
    /// The newest seq the player has had in view (what their read mark may move to).
    seen: u64,
}

impl Default for Timeline {
    fn default() -> Timeline {
        Timeline { lines: Vec::new(), reached_start: false, following: true, unseen: 0, seen: 0 }
    }
}

impl Timeline {
    /// The lines, oldest first.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The highest seq shown (0 before any).
    pub fn newest_seq(&self) -> u64 {
        self.lines.last().map_or(0, |l| l.seq)
    }

    /// The newest seq the player has had in view: the newest line while the view follows, else
    /// the newest when they scrolled up.
    pub fn seen_seq(&self) -> u64 {
        self.seen
    }

    /// The lowest seq shown, where scrollback goes on from.
    pub fn oldest_seq(&self) -> Option<u64> {
        self.lines.first().map(|l| l.seq)
    }

    /// Inserts a line at its seq unless that seq is shown; whether it was new.
    fn insert(&mut self, line: Line) -> bool {
        match self.lines.binary_search_by_key(&line.seq, |l| l.seq) {
            Ok(_) => false,
            Err(i) => {
                self.lines.insert(i, line);
                true
            }
        }
    }

    /// A line that arrived live; whether it was new. While the player reads further up, it is
    /// counted as unseen (unless it is their own).
    pub fn live(&mut self, line: Line) -> bool {
        let own = line.own;
        let newer = line.seq > self.newest_seq();
        if !self.insert(line) {
            return false;
        }
        if !self.following && newer && !own {
            self.unseen += 1;
        }
        if self.following {
            self.seen = self.newest_seq();
        }
        if self.following && self.lines.len() > MAX_LINES {
            let extra = self.lines.len() - MAX_LINES;
            self.lines.drain(..extra);
            self.reached_start = false;
        }
        true
    }

    /// A page of older lines (`?before=` the oldest shown), in any order: merged, each seq once.
    /// `last`: the page was short, so the room has nothing older.
    pub fn older(&mut self, page: Vec<Line>, last: bool) {
        if last {
            self.reached_start = true;
        }
        for line in page {
            self.insert(line);
        }
    }

    /// The view moved: `at_bottom` when it shows the newest line (which counts everything seen).
    pub fn follow(&mut self, at_bottom: bool) {
        self.following = at_bottom;
        if at_bottom {
            self.unseen = 0;
            self.seen = self.newest_seq();
        }
    }

    /// Whether line `i` goes on the group of the line before it: same sender, a message, one
    /// day, within [`GROUP_SECS`].
    pub fn continues(&self, i: usize) -> bool {
        let (Some(prev), Some(line)) = (i.checked_sub(1).and_then(|p| self.lines.get(p)), self.lines.get(i)) else {
            return false;
        };
        line.kind == Kind::Talk
            && prev.kind == Kind::Talk
            && line.sender == prev.sender
            && line.whisper == prev.whisper
            && line.day == prev.day
            && line.at_secs - prev.at_secs <= GROUP_SECS
    }

    /// The day to show above line `i`, when it starts a new day.
    pub fn day_above(&self, i: usize) -> Option<&str> {
        let line = self.lines.get(i)?;
        let prev = i.checked_sub(1).and_then(|p| self.lines.get(p));
        (prev.is_none_or(|p| p.day != line.day)).then_some(line.day.as_str())
    }
}

#[cfg(test)]
mod tests;
