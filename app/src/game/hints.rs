//! What the game screen says, as plain functions of the game's state (unit-tested here; the
//! UI's components only render them).

use super::Game;
use crate::wire::{GamePhase, GameStatus, MemberId};

/// What the move box says and allows, from the game's state and whether the player has moved.
#[derive(Clone, Debug, PartialEq)]
pub struct MoveBox {
    pub enabled: bool,
    pub label: String,
    pub button: &'static str,
}

/// The move box for `me` in `game` (a plain function of the state: unit-tested).
pub fn move_box(game: &Game, me: &MemberId) -> MoveBox {
    let Some(turn) = game.open_turn() else {
        return MoveBox { enabled: false, label: "The game is over.".into(), button: "Act" };
    };
    let queued = game.phase == GamePhase::AiResponse;
    if game.has_moved(me, turn) {
        let label = match queued {
            true => format!("Your move for turn {turn} is queued; the game master is still answering."),
            false => format!("You have made your move for turn {turn}; waiting for the others."),
        };
        return MoveBox { enabled: false, label, button: "Act" };
    }
    match (game.status, queued) {
        (_, true) => MoveBox {
            enabled: true,
            label: format!("The game master is answering: what you send now counts for turn {turn}."),
            button: "Queue for next turn",
        },
        (GameStatus::Created, _) => {
            MoveBox { enabled: true, label: "Your first move (the game has not started yet).".into(), button: "Act" }
        }
        (GameStatus::Paused, _) => {
            MoveBox { enabled: true, label: format!("Paused. Your move for turn {turn}."), button: "Act" }
        }
        _ => MoveBox { enabled: true, label: format!("Your move for turn {turn}."), button: "Act" },
    }
}

pub fn phase_text(game: &Game, turns: u32) -> String {
    match (game.status, game.phase) {
        (GameStatus::Completed, _) => "The game is over".into(),
        (GameStatus::Created, _) => "Waiting for the party to start".into(),
        (GameStatus::Paused, _) => format!("Turn {} of {turns} · paused", game.turn.max(1)),
        (_, GamePhase::AiResponse) => format!("Turn {} of {turns} · the game master answers", game.turn),
        _ => format!("Turn {} of {turns} · your moves", game.turn.max(1)),
    }
}

/// Seconds left on the turn's timer at `now_ms` (unix ms), if it runs.
pub fn seconds_left(game: &Game, now_ms: f64) -> Option<u64> {
    let ends = game.ends_at_ms.filter(|_| game.status == GameStatus::Active && game.phase == GamePhase::TurnInput)?;
    Some(((ends as f64 - now_ms).max(0.0) / 1000.0).ceil() as u64)
}

/// What a TURN event says as a line of the conversation (empty: nothing worth a line).
pub fn turn_text(t: &crate::wire::TurnEvent) -> String {
    use crate::wire::{GamePhase, GameStatus};
    match (t.status, t.phase) {
        (GameStatus::Paused, _) => {
            format!("The game is paused{}.", t.by.as_ref().map_or(String::new(), |b| format!(" by {b}")))
        }
        (_, GamePhase::TurnInput) => format!("Turn {}: what do you do?", t.turn),
        (_, GamePhase::AiResponse) => format!("Turn {}: the game master answers…", t.turn),
        (_, GamePhase::Waiting | GamePhase::GameEnd) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{ActionEvent, MemberEvent, RoomId, ServerFrame, TurnEvent};

    fn game(frames: &[ServerFrame]) -> Game {
        let mut g = Game::default();
        frames.iter().for_each(|f| g.apply(f));
        g
    }

    fn turn(seq: u64, step: u32, t: u32, phase: GamePhase) -> ServerFrame {
        ServerFrame::Turn(TurnEvent {
            seq,
            room_id: RoomId("r".into()),
            message_id: uuid::Uuid::nil(),
            step,
            turn: t,
            phase,
            status: GameStatus::Active,
            ends_at_ms: Some(10_000),
            by: None,
            created_at: String::new(),
        })
    }

    #[test]
    fn the_move_box_says_what_a_move_does_now() {
        let me = MemberId("a".into());
        let join = ServerFrame::Join(MemberEvent {
            seq: 1,
            room_id: RoomId("r".into()),
            member_id: me.clone(),
            nickname: "A".into(),
            created_at: String::new(),
        });
        let moved = ServerFrame::Action(ActionEvent {
            seq: 3,
            room_id: RoomId("r".into()),
            message_id: uuid::Uuid::nil(),
            member_id: me.clone(),
            nickname: "A".into(),
            turn: 1,
            content: "go".into(),
            created_at: String::new(),
        });
        let open = game(&[join.clone(), turn(2, 1, 1, GamePhase::TurnInput)]);
        assert_eq!(move_box(&open, &me).button, "Act");
        assert!(move_box(&open, &me).enabled);
        let done = game(&[join.clone(), turn(2, 1, 1, GamePhase::TurnInput), moved.clone()]);
        assert!(!move_box(&done, &me).enabled);
        let answering = game(&[join, turn(2, 1, 1, GamePhase::TurnInput), moved, turn(4, 2, 1, GamePhase::AiResponse)]);
        let b = move_box(&answering, &me);
        assert!(b.enabled && b.button == "Queue for next turn" && b.label.contains("turn 2"), "{b:?}");
        assert_eq!(seconds_left(&open, 7_500.0), Some(3));
        assert_eq!(seconds_left(&answering, 0.0), None, "no timer while the game master answers");
    }
}
