use std::time::Duration;

use dungeontalk_app::wire::{Die, Outcome, RoomId, WorldType};
use futures_util::StreamExt;

use super::*;
use crate::game::plan::{Beat, Plan};

fn scene(room: &str, turn: u32, stage: Stage) -> Scene {
    Scene {
        plan: Plan::new(&RoomId(room.into()), WorldType::Fantasy),
        stage,
        turn,
        turns: 10,
        beats: vec![
            Beat::of("Aria", Some("search the altar for a hidden lever"), Some((Die::Dex, 17)), Outcome::Success),
            Beat::of("Borin", Some("light a torch and read the runes"), None, Outcome::Failure),
            Beat::of("Cyd", Some("guard the stairs with a raised shield"), Some((Die::Str, 9)), Outcome::Partial),
        ],
        previous: Some("The party entered the ruins and found a raven that speaks of a crown below.".into()),
    }
}

#[test]
fn a_move_reads_after_tries_to() {
    for (said, bare) in [("I try to open the door.", "open the door"), ("to run", "run"), ("Try to hide!", "hide")] {
        assert_eq!(bare_move(said), bare);
    }
    assert_eq!(bare_move("Iris is my name"), "Iris is my name", "only a whole leading word");
}

#[test]
fn the_frame_names_every_player_and_closes_the_last_turn() {
    let two = scene("r", 2, Stage::Rising);
    let leads: Vec<String> = frame(&two).into_iter().map(|s| s.lead).collect();
    let mut place = two.place().to_owned();
    place.replace_range(..1, &place[..1].to_uppercase());
    assert_eq!(
        leads,
        [
            place.as_str(),
            " Aria tries to \"search the altar for a hidden lever\" and succeeds,",
            " Borin tries to \"light a torch and read the runes\" but fails,",
            " Cyd tries to \"guard the stairs with a raised shield\" and half succeeds, but",
        ]
    );
    let last = frame(&scene("r", 10, Stage::End));
    assert_eq!(last.last().map(|s| s.lead.as_str()), Some(" In the end, the party"));
}

/// The local narrator on the real model file (the set-up installs it), loaded; `None`, saying
/// so, when the file is absent.
fn real_model() -> Option<Local> {
    let path = crate::config::Settings::default().gm_model_path;
    if !path.exists() {
        eprintln!("SKIPPED: no model file at {} (bash .ci/setup tools installs it)", path.display());
        return None;
    }
    let local = Local::new(Tuning::new(&path, 0, 2), Script { pace: Duration::ZERO });
    local.warm().expect("the model loads");
    Some(local)
}

/// The real model: two turns of one game stream, and each answer names every player in a
/// sentence of its own, with their move and which way it went.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_model_streams_a_turn_that_names_every_player() {
    let Some(local) = real_model() else { return };
    for turn in [2, 3] {
        let mut pieces = local.narrate(scene("local-test", turn, Stage::Rising));
        let mut text = String::new();
        let mut count = 0;
        while let Some(piece) = tokio::time::timeout(Duration::from_secs(60), pieces.next()).await.expect("streams") {
            text.push_str(&piece.expect("a piece"));
            count += 1;
        }
        eprintln!("turn {turn}, {count} pieces: {text}");
        assert!(count > 10, "it streams piece by piece, not in one go: {count}");
        // Each player's sentence is there, in order, named and saying which way the move went.
        let mut at = 0;
        for sentence in frame(&scene("local-test", turn, Stage::Rising)) {
            let found = text[at..].find(&sentence.lead);
            assert!(found.is_some(), "{:?} after byte {at}: {text}", sentence.lead);
            at += found.unwrap_or(0) + sentence.lead.len();
        }
        for name in ["Aria", "Borin", "Cyd"] {
            assert!(text.contains(&format!(" {name} tries to")), "{name}: {text}");
        }
        assert!(text.ends_with(['.', '!', '?', '"']), "ends on a whole sentence: {text}");
        assert!(text.chars().count() < 3000, "bounded: {text}");
    }
}

/// Two games' turns at once are written a step each in turn: the second game's first words
/// come before the first game's answer is over, not after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_games_are_answered_side_by_side() {
    let Some(local) = real_model() else { return };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for game in ["side-a", "side-b"] {
        let (tx, mut pieces) = (tx.clone(), local.narrate(scene(game, 2, Stage::Rising)));
        tokio::spawn(async move {
            while let Some(piece) = pieces.next().await {
                let _ = tx.send((game, piece.is_ok()));
            }
            let _ = tx.send((game, false));
        });
    }
    drop(tx);
    let mut order = Vec::new();
    while let Some(event) = tokio::time::timeout(Duration::from_secs(60), rx.recv()).await.expect("streams") {
        order.push(event);
    }
    let first_b = order.iter().position(|e| *e == ("side-b", true)).expect("side-b answered");
    let end_a = order.iter().position(|e| *e == ("side-a", false)).expect("side-a ended");
    assert!(first_b < end_a, "side-b's first words came after side-a's whole answer: {order:?}");
}
