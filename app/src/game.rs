//! A game's state as a fold of its room's events, the same code on the server and in the browser:
//! every node (and every client) that reads the same log derives the same state.
//!
//! The game's clock is its `TURN` (and `GAME_END`) events, counted by `step`. Whoever moves the
//! clock (a node closing a turn, a player pausing) claims the next step, and an event whose step
//! is not the next one changes nothing: two claims of one step are one compare-and-swap on the log
//! (the server also gives them one messageId, so the log keeps only the first). Which turn an
//! `ACTION` or `DICE` counts for is decided here, by where it falls in the log, not by the sender.

use crate::wire::{
    ActionEvent, DiceEvent, Die, GameEndEvent, GamePhase, GameStatus, GmMessageEvent, MemberId, Outcome, ServerFrame,
    TurnEvent,
};

pub mod hints;

/// GM answers kept for the narrator's context and the UI.
const NARRATIONS_KEPT: usize = 3;
/// Rolls one player's counted per turn (more are shown, not counted).
const ROLLS_PER_TURN: usize = 3;

/// A player: who joined the room, in the order they joined.
#[derive(Clone, Debug, PartialEq)]
pub struct Player {
    pub member_id: MemberId,
    pub nickname: String,
}

/// A counted move.
#[derive(Clone, Debug, PartialEq)]
pub struct Move {
    pub seq: u64,
    pub member_id: MemberId,
    pub nickname: String,
    /// The turn it counts for.
    pub turn: u32,
    pub content: String,
    /// Sent while the game master answered the turn before: it waited for this one.
    pub queued: bool,
}

/// A counted roll.
#[derive(Clone, Debug, PartialEq)]
pub struct Roll {
    pub seq: u64,
    pub member_id: MemberId,
    pub nickname: String,
    pub turn: u32,
    pub die: Die,
    pub result: u8,
    pub outcome: Outcome,
}

/// The game master's answer to one turn.
#[derive(Clone, Debug, PartialEq)]
pub struct Narration {
    pub step: u32,
    pub turn: u32,
    pub content: String,
}

/// The narrator's text while it streams (ephemeral `GM_CHUNK`s).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Streaming {
    pub turn: u32,
    pub text: String,
    /// The index the next chunk should have.
    pub next: u32,
}

/// What the game needs next, and who can do it (see [`Game::duty`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Duty {
    /// Every expected player is in: start turn 1.
    Start,
    /// Every player acted or the timer ran out: the game master's turn.
    CloseTurn,
    /// The game master must answer the turn.
    Narrate,
    /// The answer is in: the next turn starts.
    NextTurn,
    /// The last turn is answered: the game ends.
    End,
}

/// A game's state: a fold of its room's events in seq order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Game {
    /// TURN/GAME_END events applied so far; the next must claim `step + 1`.
    pub step: u32,
    pub turn: u32,
    pub phase: GamePhase,
    pub status: GameStatus,
    pub ends_at_ms: Option<u64>,
    pub players: Vec<Player>,
    /// Moves of the current turn and those queued for the next.
    pub moves: Vec<Move>,
    /// Counted rolls of the current turn and the next.
    pub rolls: Vec<Roll>,
    /// The latest answers, oldest first.
    pub narrations: Vec<Narration>,
    /// Whether the current AI_RESPONSE step has its answer.
    pub answered: bool,
    /// Rolls counted over the whole game, and how many of them went the party's way.
    pub rolls_total: u32,
    pub rolls_won: u32,
    /// The game's result once it is over, and whether the party won.
    pub result: Option<(String, bool)>,
    pub streaming: Option<Streaming>,
    /// The highest seq folded in.
    pub seq: u64,
}

impl Game {
    /// Folds one frame in (ephemeral chunks update `streaming`; everything else is by seq).
    pub fn apply(&mut self, frame: &ServerFrame) {
        if let Some(seq) = frame.seq() {
            if seq <= self.seq {
                return;
            }
            self.seq = seq;
        }
        match frame {
            ServerFrame::Join(e) => {
                if !self.players.iter().any(|p| p.member_id == e.member_id) {
                    self.players.push(Player { member_id: e.member_id.clone(), nickname: e.nickname.clone() });
                }
            }
            ServerFrame::Leave(e) => self.players.retain(|p| p.member_id != e.member_id),
            ServerFrame::Turn(e) => self.turn_event(e),
            ServerFrame::Action(e) => self.action(e),
            ServerFrame::Dice(e) => self.dice(e),
            ServerFrame::GmMessage(e) => self.gm_message(e),
            ServerFrame::GameEnd(e) => self.game_end(e),
            ServerFrame::GmChunk { turn, index, text, .. } => self.chunk(*turn, *index, text),
            _ => {}
        }
    }

    fn turn_event(&mut self, e: &TurnEvent) {
        if e.step != self.step + 1 || self.status == GameStatus::Completed {
            return;
        }
        self.step = e.step;
        if e.turn != self.turn {
            // A new turn: what was queued for it is now the turn's own.
            self.moves.retain(|m| m.turn >= e.turn);
            self.rolls.retain(|r| r.turn >= e.turn);
        }
        self.turn = e.turn;
        self.phase = e.phase;
        self.status = e.status;
        self.ends_at_ms = e.ends_at_ms;
        if e.phase == GamePhase::AiResponse {
            // A new AI_RESPONSE step (or one resumed after a failure) waits for its answer.
            self.answered = false;
            self.streaming = None;
        }
    }

    /// The turn a move or roll made now counts for; `None` once the game is over.
    pub fn open_turn(&self) -> Option<u32> {
        match self.phase {
            GamePhase::Waiting => Some(1),
            GamePhase::TurnInput => Some(self.turn.max(1)),
            GamePhase::AiResponse => Some(self.turn + 1),
            GamePhase::GameEnd => None,
        }
    }

    /// Whether the member has a move counted for `turn`.
    pub fn has_moved(&self, member: &MemberId, turn: u32) -> bool {
        self.moves.iter().any(|m| m.turn == turn && m.member_id == *member)
    }

    fn action(&mut self, e: &ActionEvent) {
        let Some(turn) = self.open_turn() else { return };
        if self.has_moved(&e.member_id, turn) {
            return;
        }
        self.moves.push(Move {
            seq: e.seq,
            member_id: e.member_id.clone(),
            nickname: e.nickname.clone(),
            turn,
            content: e.content.clone(),
            queued: self.phase == GamePhase::AiResponse,
        });
    }

    fn dice(&mut self, e: &DiceEvent) {
        let Some(turn) = self.open_turn() else { return };
        let mine = self.rolls.iter().filter(|r| r.turn == turn && r.member_id == e.member_id).count();
        if mine >= ROLLS_PER_TURN {
            return;
        }
        self.rolls_total += 1;
        self.rolls_won += u32::from(e.outcome.succeeded());
        self.rolls.push(Roll {
            seq: e.seq,
            member_id: e.member_id.clone(),
            nickname: e.nickname.clone(),
            turn,
            die: e.die,
            result: e.result,
            outcome: e.outcome,
        });
    }

    fn gm_message(&mut self, e: &GmMessageEvent) {
        if self.phase != GamePhase::AiResponse || e.step != self.step || self.answered {
            return;
        }
        self.answered = true;
        self.streaming = None;
        self.narrations.push(Narration { step: e.step, turn: e.turn, content: e.content.clone() });
        if self.narrations.len() > NARRATIONS_KEPT {
            self.narrations.remove(0);
        }
    }

    fn game_end(&mut self, e: &GameEndEvent) {
        if e.step != self.step + 1 || self.status == GameStatus::Completed {
            return;
        }
        self.step = e.step;
        self.status = GameStatus::Completed;
        self.phase = GamePhase::GameEnd;
        self.ends_at_ms = None;
        self.streaming = None;
        self.result = Some((e.result.clone(), e.victory));
    }

    /// A chunk: index 0 starts the text over (a narrator that took over from one that died
    /// starts again), the next index extends it, anything else is a chunk already shown.
    fn chunk(&mut self, turn: u32, index: u32, text: &str) {
        if self.phase == GamePhase::GameEnd {
            return;
        }
        match &mut self.streaming {
            Some(s) if s.turn == turn && s.next == index && index > 0 => {
                s.text.push_str(text);
                s.next += 1;
            }
            _ if index == 0 => self.streaming = Some(Streaming { turn, text: text.to_owned(), next: 1 }),
            _ => {}
        }
    }

    /// The moves counted for the current turn.
    pub fn moves_now(&self) -> impl Iterator<Item = &Move> {
        self.moves.iter().filter(move |m| m.turn == self.turn)
    }

    /// The rolls counted for `turn`.
    pub fn rolls_of(&self, turn: u32) -> impl Iterator<Item = &Roll> {
        self.rolls.iter().filter(move |r| r.turn == turn)
    }

    /// Whether every player has a move for the current turn (false with nobody seated).
    pub fn all_moved(&self) -> bool {
        !self.players.is_empty() && self.players.iter().all(|p| self.has_moved(&p.member_id, self.turn))
    }

    /// What the game needs now at `now_ms`, given how many turns it lasts and how many players
    /// it waits for before it starts by itself (`None`: a player starts it).
    pub fn duty(&self, now_ms: u64, turns: u32, autostart: Option<u32>) -> Option<Duty> {
        match (self.status, self.phase) {
            (GameStatus::Created, _) => {
                autostart.filter(|n| *n > 0 && self.players.len() as u32 >= *n).map(|_| Duty::Start)
            }
            (GameStatus::Active, GamePhase::TurnInput) => {
                let late = self.ends_at_ms.is_some_and(|t| now_ms >= t);
                (late || self.all_moved()).then_some(Duty::CloseTurn)
            }
            (GameStatus::Active, GamePhase::AiResponse) if !self.answered => Some(Duty::Narrate),
            (GameStatus::Active, GamePhase::AiResponse) if self.turn >= turns => Some(Duty::End),
            (GameStatus::Active, GamePhase::AiResponse) => Some(Duty::NextTurn),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
