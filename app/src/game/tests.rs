use uuid::Uuid;

use super::*;
use crate::wire::{GameEndEvent, MemberEvent, RoomId};

fn room() -> RoomId {
    RoomId("g1".into())
}

fn join(seq: u64, who: &str) -> ServerFrame {
    ServerFrame::Join(MemberEvent {
        seq,
        room_id: room(),
        member_id: MemberId(who.into()),
        nickname: who.to_uppercase(),
        created_at: String::new(),
    })
}

fn turn(seq: u64, step: u32, turn: u32, phase: GamePhase, status: GameStatus) -> ServerFrame {
    ServerFrame::Turn(TurnEvent {
        seq,
        room_id: room(),
        message_id: Uuid::nil(),
        step,
        turn,
        phase,
        status,
        ends_at_ms: (phase == GamePhase::TurnInput).then_some(1000),
        by: None,
        created_at: String::new(),
    })
}

fn action(seq: u64, who: &str, content: &str) -> ServerFrame {
    ServerFrame::Action(ActionEvent {
        seq,
        room_id: room(),
        message_id: Uuid::from_u128(seq as u128),
        member_id: MemberId(who.into()),
        nickname: who.to_uppercase(),
        turn: 0,
        content: content.into(),
        created_at: String::new(),
    })
}

fn dice(seq: u64, who: &str, result: u8) -> ServerFrame {
    ServerFrame::Dice(DiceEvent {
        seq,
        room_id: room(),
        message_id: Uuid::from_u128(seq as u128),
        member_id: MemberId(who.into()),
        nickname: who.to_uppercase(),
        die: Die::D20,
        result,
        outcome: Outcome::of(result),
        turn: 0,
        created_at: String::new(),
    })
}

fn gm(seq: u64, step: u32, turn: u32, content: &str) -> ServerFrame {
    ServerFrame::GmMessage(GmMessageEvent {
        seq,
        room_id: room(),
        message_id: Uuid::nil(),
        step,
        turn,
        content: content.into(),
        created_at: String::new(),
    })
}

fn chunk(turn: u32, index: u32, text: &str) -> ServerFrame {
    ServerFrame::GmChunk { room_id: room(), turn, index, text: text.into(), sent_at_us: None }
}

fn fold(frames: &[ServerFrame]) -> Game {
    let mut g = Game::default();
    for f in frames {
        g.apply(f);
    }
    g
}

use GamePhase::{AiResponse, TurnInput};
use GameStatus::{Active, Paused};

#[test]
fn a_turn_closes_when_everyone_moved_or_the_timer_ran_out() {
    let mut g = fold(&[join(1, "a"), join(2, "b"), turn(3, 1, 1, TurnInput, Active), action(4, "a", "look")]);
    assert_eq!((g.turn, g.phase, g.status), (1, TurnInput, Active));
    assert_eq!(g.duty(999, 3, None), None, "b has not moved and the timer runs");
    assert_eq!(g.duty(1000, 3, None), Some(Duty::CloseTurn), "the timer ran out");
    g.apply(&action(5, "b", "wait"));
    assert!(g.all_moved());
    assert_eq!(g.duty(0, 3, None), Some(Duty::CloseTurn));
    assert_eq!(g.moves_now().map(|m| m.content.as_str()).collect::<Vec<_>>(), ["look", "wait"]);
}

#[test]
fn a_second_move_in_one_turn_is_not_counted() {
    let g = fold(&[join(1, "a"), turn(2, 1, 1, TurnInput, Active), action(3, "a", "one"), action(4, "a", "two")]);
    assert_eq!(g.moves_now().count(), 1);
    assert_eq!(g.moves[0].content, "one");
}

#[test]
fn a_claim_of_a_step_already_taken_changes_nothing() {
    // A pause and the clock's close both claimed step 2: the log kept both, the first wins.
    let g = fold(&[
        join(1, "a"),
        turn(2, 1, 1, TurnInput, Active),
        turn(3, 2, 1, TurnInput, Paused),
        turn(4, 2, 1, AiResponse, Active),
    ]);
    assert_eq!((g.step, g.phase, g.status), (2, TurnInput, Paused));
    assert_eq!(g.duty(u64::MAX, 3, None), None, "a paused game waits");
}

#[test]
fn a_move_sent_while_the_narrator_answers_counts_for_the_next_turn() {
    let mut g = fold(&[
        join(1, "a"),
        turn(2, 1, 1, TurnInput, Active),
        action(3, "a", "open the door"),
        turn(4, 2, 1, AiResponse, Active),
        action(5, "a", "step through"),
    ]);
    assert_eq!(g.moves_now().count(), 1, "turn 1 keeps its own move only");
    let queued = g.moves.iter().find(|m| m.content == "step through").unwrap();
    assert_eq!((queued.turn, queued.queued), (2, true));
    assert_eq!(g.duty(0, 3, None), Some(Duty::Narrate));
    g.apply(&gm(6, 2, 1, "The door creaks."));
    assert_eq!(g.duty(0, 3, None), Some(Duty::NextTurn));
    g.apply(&turn(7, 3, 2, TurnInput, Active));
    assert_eq!(g.moves_now().map(|m| m.content.as_str()).collect::<Vec<_>>(), ["step through"]);
    assert!(g.all_moved(), "the queued move is the turn's own now");
}

#[test]
fn one_answer_per_ai_response_step_and_the_last_turn_ends_the_game() {
    let mut g = fold(&[join(1, "a"), turn(2, 1, 1, TurnInput, Active), turn(3, 2, 1, AiResponse, Active)]);
    g.apply(&gm(4, 1, 1, "stale step"));
    assert!(g.narrations.is_empty(), "an answer to another step is ignored");
    g.apply(&gm(5, 2, 1, "first"));
    g.apply(&gm(6, 2, 1, "second"));
    assert_eq!(g.narrations.len(), 1);
    assert_eq!(g.duty(0, 1, None), Some(Duty::End), "turn 1 of 1 is answered");
    g.apply(&ServerFrame::GameEnd(GameEndEvent {
        seq: 7,
        room_id: room(),
        message_id: Uuid::nil(),
        step: 3,
        turn: 1,
        result: "won".into(),
        victory: true,
        created_at: String::new(),
    }));
    assert_eq!((g.status, g.phase), (GameStatus::Completed, GamePhase::GameEnd));
    assert_eq!(g.result, Some(("won".into(), true)));
    g.apply(&turn(8, 4, 2, TurnInput, Active));
    assert_eq!(g.status, GameStatus::Completed, "nothing restarts a finished game");
    assert_eq!(g.duty(0, 1, None), None);
}

#[test]
fn a_failed_answer_pauses_and_a_resume_asks_again() {
    let mut g = fold(&[join(1, "a"), turn(2, 1, 1, TurnInput, Active), turn(3, 2, 1, AiResponse, Active)]);
    g.apply(&turn(4, 3, 1, AiResponse, Paused));
    assert_eq!(g.duty(0, 3, None), None);
    g.apply(&turn(5, 4, 1, AiResponse, Active));
    assert_eq!(g.duty(0, 3, None), Some(Duty::Narrate));
    g.apply(&gm(6, 2, 1, "late answer of the failed try"));
    assert!(!g.answered, "an answer to the step before the pause is ignored");
}

#[test]
fn rolls_count_for_the_open_turn_up_to_three_each() {
    let g = fold(&[
        join(1, "a"),
        turn(2, 1, 1, TurnInput, Active),
        dice(3, "a", 20),
        dice(4, "a", 1),
        dice(5, "a", 10),
        dice(6, "a", 15),
    ]);
    assert_eq!(g.rolls_of(1).map(|r| r.result).collect::<Vec<_>>(), [20, 1, 10]);
    assert_eq!((g.rolls_total, g.rolls_won), (3, 2));
    assert_eq!(g.rolls[0].outcome, Outcome::Triumph);
}

#[test]
fn events_seen_before_are_not_folded_twice() {
    let g = fold(&[join(1, "a"), turn(2, 1, 1, TurnInput, Active), dice(3, "a", 12), dice(3, "a", 12)]);
    assert_eq!(g.rolls_total, 1);
    assert_eq!(g.seq, 3);
}

#[test]
fn chunks_stream_in_order_and_a_new_narrator_starts_over() {
    let mut g = fold(&[join(1, "a"), turn(2, 1, 1, TurnInput, Active), turn(3, 2, 1, AiResponse, Active)]);
    for (i, t) in ["The ", "door ", "creaks"].iter().enumerate() {
        g.apply(&chunk(1, i as u32, t));
    }
    g.apply(&chunk(1, 1, "door "));
    assert_eq!(g.streaming.as_ref().unwrap().text, "The door creaks", "a chunk seen already is skipped");
    g.apply(&chunk(1, 0, "A "));
    assert_eq!(g.streaming.as_ref().unwrap().text, "A ", "index 0 again: another narrator took over");
    g.apply(&gm(4, 2, 1, "A door."));
    assert_eq!(g.streaming, None, "the stored answer replaces the stream");
}

#[test]
fn a_game_waits_for_its_party_before_it_starts_by_itself() {
    let mut g = fold(&[join(1, "a"), join(2, "b")]);
    assert_eq!(g.duty(0, 3, Some(3)), None);
    assert_eq!(g.duty(0, 3, None), None, "without autostart a player starts it");
    g.apply(&join(3, "c"));
    assert_eq!(g.duty(0, 3, Some(3)), Some(Duty::Start));
    assert_eq!(g.open_turn(), Some(1), "a move made before the start counts for turn 1");
}

#[test]
fn a_player_who_left_is_not_waited_for() {
    let mut g = fold(&[join(1, "a"), join(2, "b"), turn(3, 1, 1, TurnInput, Active), action(4, "a", "go")]);
    assert!(!g.all_moved());
    g.apply(&ServerFrame::Leave(MemberEvent {
        seq: 5,
        room_id: room(),
        member_id: MemberId("b".into()),
        nickname: "B".into(),
        created_at: String::new(),
    }));
    assert!(g.all_moved());
}
