//! The `script` narrator: the plan phrased from templates. Seeded by the game and the turn, so the
//! same scene always reads the same (tests rely on it), and it streams a few words at a time like
//! a model would.

use std::time::Duration;

use dungeontalk_app::wire::Outcome;

use super::{NarrateError, Narrator, Pieces};
use crate::game::plan::{Beat, Scene, Stage};

/// Words per streamed piece.
const WORDS_PER_PIECE: usize = 3;

/// Templates, paced by `pace` between pieces.
pub struct Script {
    pub pace: Duration,
}

impl Narrator for Script {
    fn name(&self) -> &'static str {
        "script"
    }

    fn narrate(&self, scene: Scene) -> Pieces {
        let text = compose(&scene);
        let words: Vec<String> = text.split_inclusive(' ').map(str::to_owned).collect();
        let pieces: Vec<String> = words.chunks(WORDS_PER_PIECE).map(|c| c.concat()).collect();
        let pace = self.pace;
        Box::pin(futures_util::stream::unfold(pieces.into_iter(), move |mut rest| async move {
            let piece = rest.next()?;
            if !pace.is_zero() {
                tokio::time::sleep(pace).await;
            }
            Some((Ok::<_, NarrateError>(piece), rest))
        }))
    }
}

fn pick<'a>(seed: u64, turn: u32, salt: u64, from: &[&'a str]) -> &'a str {
    let i =
        (seed.rotate_left(salt as u32 % 64) ^ u64::from(turn).wrapping_mul(0x9E37_79B9_7F4A_7C15)) % from.len() as u64;
    from[i as usize]
}

/// The whole answer to a scene.
pub fn compose(scene: &Scene) -> String {
    let plan = &scene.plan;
    let (seed, turn) = (plan.seed, scene.turn);
    let place = scene.place();
    let mut out = String::new();
    out.push_str(&match scene.stage {
        Stage::Intro => format!(
            "Turn {turn}. The story begins in {place}. Rumour says {} guards {}, and {} has offered to help. ",
            plan.foe, plan.prize, plan.ally
        ),
        Stage::Rising => format!(
            "Turn {turn}. The party presses on into {place}. {} ",
            pick(seed, turn, 1, &["Footprints lead deeper.", "Something moved in the dark.", "The air grows cold."])
        ),
        Stage::Middle => format!(
            "Turn {turn}. In {place} the signs of {} are everywhere. {} ",
            plan.foe,
            pick(
                seed,
                turn,
                2,
                &["There is no turning back now.", "An old trap clicks somewhere.", "Voices echo ahead."]
            )
        ),
        Stage::Climax => {
            format!("Turn {turn}. {place}: {} stands before you, with {} within reach. ", plan.foe, plan.prize)
        }
        Stage::End => format!("Turn {turn}, the last. In {place} everything is decided. "),
    });
    for beat in &scene.beats {
        out.push_str(&beat_line(scene, beat));
        out.push(' ');
    }
    out.push_str(match scene.stage {
        Stage::Intro => "What do you do next?",
        Stage::Rising | Stage::Middle => "The way ahead opens. What now?",
        Stage::Climax => "One last push. What do you do?",
        Stage::End => "The tale is told.",
    });
    out
}

fn beat_line(scene: &Scene, beat: &Beat) -> String {
    let Some(action) = &beat.action else {
        return format!(
            "{} {}.",
            beat.nickname,
            pick(
                scene.plan.seed,
                scene.turn,
                beat.nickname.len() as u64,
                &["hesitates and watches the shadows", "stays back, keeping watch", "waits, saying nothing"]
            )
        );
    };
    let action = action.trim().trim_end_matches(['.', '!', '?']);
    let roll = beat.roll.map_or(String::new(), |(die, r)| format!(" ({} {r})", die.label()));
    let queued = if beat.queued { " Having waited for this moment," } else { "" };
    let foe = scene.plan.foe;
    let result = match beat.outcome {
        Outcome::Fumble => format!("it goes badly wrong, and {foe} takes notice"),
        Outcome::Failure => "it does not work out this time".to_owned(),
        Outcome::Partial => "it half works, at a price".to_owned(),
        Outcome::Success => "it works".to_owned(),
        Outcome::Triumph => format!("it works brilliantly, and {} is a step closer", scene.plan.prize),
    };
    format!("{queued} {} tries to \"{action}\"{roll}: {result}.", beat.nickname).trim_start().to_owned()
}

#[cfg(test)]
mod tests {
    use dungeontalk_app::wire::{Die, RoomId, WorldType};
    use futures_util::StreamExt;

    use super::*;
    use crate::game::plan::Plan;

    fn scene() -> Scene {
        let plan = Plan::new(&RoomId("r1".into()), WorldType::Fantasy);
        let beat = Beat::of;
        Scene {
            plan,
            stage: Stage::Intro,
            turn: 1,
            turns: 3,
            beats: vec![
                beat("Aria", Some("search the altar."), Some((Die::Dex, 20)), Outcome::Triumph),
                beat("Bo", Some("light a torch"), None, Outcome::Failure),
                beat("Cy", None, None, Outcome::Partial),
            ],
            previous: None,
        }
    }

    #[tokio::test]
    async fn every_player_is_named_with_what_they_did_and_the_stream_is_the_text() {
        let scene = scene();
        let text = compose(&scene);
        assert!(text.contains("Aria tries to \"search the altar\" (Dexterity 20): it works brilliantly"), "{text}");
        assert!(text.contains("Bo tries to \"light a torch\": it does not work out"), "{text}");
        assert!(text.contains("Cy "), "{text}");
        assert!(text.contains(scene.plan.places[0]), "the intro's place: {text}");
        let pieces: Vec<_> = Script { pace: Duration::ZERO }.narrate(scene.clone()).collect().await;
        let joined: String = pieces.into_iter().map(Result::unwrap).collect();
        assert_eq!(joined, text);
        assert_eq!(compose(&scene), text, "the same scene reads the same");
    }
}
