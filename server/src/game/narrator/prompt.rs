//! What a model is told: the game plan decides what happens, so the prompt holds the plan, the
//! stage of the arc, this turn's moves and what the dice made of them; the model only phrases it.
//! The system message holds all that stays the same for a game (the world, the rules, the foe,
//! the prize, the ally), so a model that keeps a game's context computes it once.

use dungeontalk_app::wire::{Outcome, WorldType};

use crate::game::plan::{Scene, Stage};

/// The system message: who the model is, the rules of its answer, and the game's plan.
pub fn system(scene: &Scene) -> String {
    let plan = &scene.plan;
    let world = match scene.plan.world {
        WorldType::Fantasy => "a fantasy dungeon adventure",
        WorldType::Sf => "a science-fiction adventure aboard derelict ships and stations",
        WorldType::Modern => "a modern-day mystery thriller",
    };
    format!(
        "You are the game master of {world}. Narrate in the present tense, speaking to the players. \
         Answer every player by name and say what came of what they did, exactly as the outcome \
         given for them says. Write four to six sentences, no lists, no headings, no questions to \
         the game master, and never invent players.\nThe foe: {}.\nThe party seeks: {}.\nTheir ally: {}.",
        plan.foe, plan.prize, plan.ally
    )
}

fn outcome_words(o: Outcome) -> &'static str {
    match o {
        Outcome::Fumble => "it goes badly wrong",
        Outcome::Failure => "it fails",
        Outcome::Partial => "it half works, at a cost",
        Outcome::Success => "it works",
        Outcome::Triumph => "it works brilliantly",
    }
}

/// The user message for a model whose answer the narrator frames (each player's move and
/// outcome open their sentence): the turn, the stage, the place and the last turn, without the
/// moves' numbers a small model would copy.
pub fn brief(scene: &Scene) -> String {
    let names: Vec<&str> = scene.beats.iter().map(|b| b.nickname.trim()).collect();
    let mut out = format!(
        "Turn {} of {}, {}.\nPlace: {}.\nPlayers: {}.\n",
        scene.turn,
        scene.turns,
        stage_words(scene.stage),
        scene.place(),
        names.join(", ")
    );
    out.push_str(&last_turn(scene));
    out.push_str("Narrate this turn: one sentence for the place, then one for each player's move.");
    out
}

/// The last answer, cut short, as a line of the prompt (empty on the first turn).
fn last_turn(scene: &Scene) -> String {
    let short = scene.previous.as_ref().map(|p| p.chars().take(300).collect::<String>());
    short.map_or(String::new(), |s| format!("Last turn: {s}\n"))
}

fn stage_words(stage: Stage) -> &'static str {
    match stage {
        Stage::Intro => "the beginning: set the scene and the goal",
        Stage::Rising => "the rising action: the danger grows",
        Stage::Middle => "the middle: a setback or a discovery",
        Stage::Climax => "the climax: the party faces the foe",
        Stage::End => "the end: tell how it ends",
    }
}

/// The user message: the plan, the stage, and each player's move with its outcome.
pub fn user(scene: &Scene) -> String {
    let stage = stage_words(scene.stage);
    let mut out = format!("Turn {} of {}, {stage}.\nPlace: {}.\n", scene.turn, scene.turns, scene.place());
    out.push_str(&last_turn(scene));
    out.push_str("This turn:\n");
    for beat in &scene.beats {
        match &beat.action {
            Some(action) => {
                let roll = beat.roll.map_or(String::new(), |(die, r)| format!(" (rolled {} {r})", die.label()));
                out.push_str(&format!(
                    "- {} tries to {}{roll}: {}.\n",
                    beat.nickname,
                    action.trim(),
                    outcome_words(beat.outcome)
                ));
            }
            None => out.push_str(&format!("- {} does nothing this turn.\n", beat.nickname)),
        }
    }
    out.push_str("Narrate this turn.");
    out
}

#[cfg(test)]
mod tests {
    use dungeontalk_app::wire::{Die, RoomId};

    use super::*;
    use crate::game::plan::{Beat, Plan};

    #[test]
    fn the_prompt_holds_the_plan_and_every_move_with_its_outcome() {
        let plan = Plan::new(&RoomId("r".into()), WorldType::Sf);
        let beat = Beat::of;
        let scene = Scene {
            plan: plan.clone(),
            stage: Stage::Climax,
            turn: 8,
            turns: 10,
            beats: vec![
                beat("Aria", Some("hack the door"), Some((Die::Int, 17)), Outcome::Success),
                beat("Bo", None, None, Outcome::Failure),
            ],
            previous: Some("The lights flicker.".into()),
        };
        let text = format!("{}\n{}", system(&scene), user(&scene));
        for want in [
            "Turn 8 of 10, the climax",
            plan.foe,
            plan.prize,
            "- Aria tries to hack the door (rolled Intelligence 17): it works.",
            "- Bo does nothing",
            "Last turn: The lights flicker.",
        ] {
            assert!(text.contains(want), "{want:?} in {text}");
        }
        assert!(system(&scene).contains("science-fiction"));
        assert!(!system(&scene).contains("Turn 8"), "the system message is the same on every turn");
    }
}
