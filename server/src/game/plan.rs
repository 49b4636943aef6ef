//! The game plan: what happens in a game, decided by its seed (the room id) and its world, the
//! same on every node. The narrator only phrases it: a small model alone wanders, so the places,
//! the foe, the prize, the arc of phases and what each roll means come from here.

use dungeontalk_app::game::Game;
use dungeontalk_app::wire::{Die, MemberId, Outcome, RoomId, WorldType};

/// One world's material.
struct World {
    places: &'static [&'static str],
    foes: &'static [&'static str],
    prizes: &'static [&'static str],
    allies: &'static [&'static str],
}

const FANTASY: World = World {
    places: &[
        "the Mossgate ruins",
        "the Whispering Stair",
        "a flooded chapel of the drowned god",
        "the Ashen Library",
        "the Bone Warden's hall",
        "the root caverns under Eldmere",
        "a bridge of black glass",
        "the Sunken Vault",
    ],
    foes: &[
        "the Bone Warden",
        "a hunger-witch",
        "the Ashen Drake",
        "the Hollow King",
        "a ghoul pack",
        "the Thornmother",
    ],
    prizes: &["the Ember Crown", "the Starwell Key", "the Lantern of Names", "a dragon's last egg", "the Veil Map"],
    allies: &["a one-eyed ferryman", "a talking raven", "an exiled paladin", "a lost apprentice"],
};

const SF: World = World {
    places: &[
        "the derelict freighter Calyx",
        "a maintenance spine full of drones",
        "the cryo deck",
        "a hydroponics dome gone wild",
        "the reactor core",
        "the bridge of a dead warship",
        "an asteroid mining shaft",
        "the quarantine ring",
    ],
    foes: &[
        "a rogue security AI",
        "the hive swarm",
        "a bounty hunter in powered armour",
        "the Pale Signal",
        "mutineers",
    ],
    prizes: &["the navigation core", "a stolen star chart", "the last antidote", "the ship's black box", "a jump key"],
    allies: &["a damaged service android", "a smuggler pilot", "a frozen scientist", "the station's last cat"],
};

const MODERN: World = World {
    places: &[
        "a closed subway station",
        "the rooftop of the Meridian Hotel",
        "a police evidence room",
        "an abandoned amusement park",
        "the server room of Halvorsen Corp",
        "a fog-bound harbour",
        "a private museum after hours",
        "the old hospital's basement",
    ],
    foes: &[
        "a crime syndicate's fixer",
        "a masked arsonist",
        "a corrupt detective",
        "the Collector",
        "a cult's high priest",
    ],
    prizes: &[
        "the stolen ledger",
        "a missing girl's diary",
        "the master key card",
        "the cursed painting",
        "the witness",
    ],
    allies: &[
        "a nervous journalist",
        "a retired safecracker",
        "a night-shift janitor",
        "a street kid who knows everyone",
    ],
};

/// The arc a game runs through, whatever its number of turns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Intro,
    Rising,
    Middle,
    Climax,
    End,
}

impl Stage {
    /// The stage of `turn` in a game of `turns`: the first turn is the intro, the last the end,
    /// and the turns between run through rising, middle and climax.
    pub fn of(turn: u32, turns: u32) -> Stage {
        if turn <= 1 {
            return Stage::Intro;
        }
        if turn >= turns {
            return Stage::End;
        }
        // Turns 2..turns-1 spread over the three middle stages.
        let between = turns.saturating_sub(2).max(1);
        match (turn - 2) * 3 / between {
            0 => Stage::Rising,
            1 => Stage::Middle,
            _ => Stage::Climax,
        }
    }

    /// A word for the prompt and the UI.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Intro => "intro",
            Stage::Rising => "rising",
            Stage::Middle => "middle",
            Stage::Climax => "climax",
            Stage::End => "end",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What a game is about, from its seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub world: WorldType,
    pub seed: u64,
    /// One place per stage, in order.
    pub places: [&'static str; 5],
    pub foe: &'static str,
    pub prize: &'static str,
    pub ally: &'static str,
}

/// SplitMix64: small, good enough, and the same everywhere.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// FNV-1a of a string: a seed from an id, stable across builds and machines.
pub fn seed_of(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

impl Plan {
    /// The plan of a game in `room` set in `world`.
    pub fn new(room: &RoomId, world: WorldType) -> Plan {
        let seed = seed_of(&room.0);
        let w = match world {
            WorldType::Fantasy => &FANTASY,
            WorldType::Sf => &SF,
            WorldType::Modern => &MODERN,
        };
        let pick = |salt: u64, from: &[&'static str]| from[(mix(seed ^ salt) % from.len() as u64) as usize];
        // Five distinct places: a seeded walk through the world's list.
        let start = (mix(seed) % w.places.len() as u64) as usize;
        let step = 1 + (mix(seed ^ 7) % (w.places.len() as u64 - 1)) as usize;
        let mut places = [""; 5];
        let mut at = start;
        for i in 0..places.len() {
            while places[..i].contains(&w.places[at]) {
                at = (at + 1) % w.places.len();
            }
            places[i] = w.places[at];
            at = (at + step) % w.places.len();
        }
        Plan { world, seed, places, foe: pick(1, w.foes), prize: pick(2, w.prizes), ally: pick(3, w.allies) }
    }

    /// Where the party is in `stage`.
    pub fn place(&self, stage: Stage) -> &'static str {
        self.places[stage.index()]
    }

    /// The roll a move without a die gets: seeded by the game, the turn and the player, so every
    /// node (and a narrator that takes over) reads the same.
    pub fn fate(&self, turn: u32, member: &MemberId) -> u8 {
        (mix(self.seed ^ mix(u64::from(turn)) ^ seed_of(&member.0)) % 20) as u8 + 1
    }
}

/// One player's part of a turn, as the narrator must answer it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Beat {
    pub nickname: String,
    /// What they did (None: they did nothing this turn).
    pub action: Option<String>,
    /// Their best roll this turn, if they rolled.
    pub roll: Option<(Die, u8)>,
    /// What comes of it: from the roll, else from the game's seed.
    pub outcome: Outcome,
    /// Sent while the last answer streamed (it waited for this turn).
    pub queued: bool,
}

impl Beat {
    /// A player's part of a turn, not sent early (for tests of the narrators).
    #[cfg(test)]
    pub fn of(nickname: &str, action: Option<&str>, roll: Option<(Die, u8)>, outcome: Outcome) -> Beat {
        Beat { nickname: nickname.into(), action: action.map(str::to_owned), roll, outcome, queued: false }
    }
}

/// Everything the narrator needs for one answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scene {
    pub plan: Plan,
    pub stage: Stage,
    pub turn: u32,
    pub turns: u32,
    pub beats: Vec<Beat>,
    /// The last answer, for continuity.
    pub previous: Option<String>,
}

impl Scene {
    /// The scene of the game's current turn.
    pub fn of(game: &Game, plan: &Plan, turns: u32) -> Scene {
        let turn = game.turn.max(1);
        let mut beats: Vec<Beat> = game
            .players
            .iter()
            .map(|p| {
                let moved = game.moves_now().find(|m| m.member_id == p.member_id);
                let roll = game
                    .rolls_of(turn)
                    .filter(|r| r.member_id == p.member_id)
                    .max_by_key(|r| r.result)
                    .map(|r| (r.die, r.result));
                let outcome = Outcome::of(roll.map_or_else(|| plan.fate(turn, &p.member_id), |(_, r)| r));
                Beat {
                    nickname: p.nickname.clone(),
                    action: moved.map(|m| m.content.clone()),
                    roll,
                    outcome,
                    queued: moved.is_some_and(|m| m.queued),
                }
            })
            .collect();
        // A player who left after acting still gets their answer.
        for m in game.moves_now().filter(|m| !game.players.iter().any(|p| p.member_id == m.member_id)) {
            let outcome = Outcome::of(plan.fate(turn, &m.member_id));
            let beat = Beat {
                nickname: m.nickname.clone(),
                action: Some(m.content.clone()),
                roll: None,
                outcome,
                queued: m.queued,
            };
            beats.push(beat);
        }
        Scene {
            plan: plan.clone(),
            stage: Stage::of(turn, turns),
            turn,
            turns,
            beats,
            previous: game.narrations.last().map(|n| n.content.clone()),
        }
    }

    /// Where the turn happens.
    pub fn place(&self) -> &'static str {
        self.plan.place(self.stage)
    }
}

/// What the party achieved: victory when at least half of what they tried went their way.
pub fn result(game: &Game, plan: &Plan) -> (String, bool) {
    let tried = game.rolls_total;
    let won = game.rolls_won;
    let victory = if tried == 0 { plan.seed.is_multiple_of(2) } else { won * 2 >= tried };
    let text = if victory {
        format!(
            "Victory: the party faced {} in {} and came away with {}. {won} of {tried} rolls went their way over {} turns.",
            plan.foe,
            plan.place(Stage::End),
            plan.prize,
            game.turn
        )
    } else {
        format!(
            "Defeat: {} kept {} in {}; the party escaped with their lives and a story. {won} of {tried} rolls went their way over {} turns.",
            plan.foe,
            plan.prize,
            plan.place(Stage::End),
            game.turn
        )
    };
    (text, victory)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_is_the_same_for_the_same_room_and_differs_between_rooms() {
        let a = Plan::new(&RoomId("room-a".into()), WorldType::Fantasy);
        assert_eq!(a, Plan::new(&RoomId("room-a".into()), WorldType::Fantasy));
        let places: std::collections::HashSet<_> = a.places.iter().collect();
        assert_eq!(places.len(), 5, "five distinct places: {:?}", a.places);
        let others: std::collections::HashSet<_> =
            (0..20).map(|i| Plan::new(&RoomId(format!("room-{i}")), WorldType::Sf).places[0]).collect();
        assert!(others.len() > 3, "seeds spread over the world's places");
        let m = MemberId("m".into());
        assert_eq!(a.fate(2, &m), a.fate(2, &m));
        assert!((1..=20).contains(&a.fate(2, &m)));
    }

    #[test]
    fn every_game_length_runs_from_intro_to_end_through_the_arc() {
        for turns in 1..=12 {
            let stages: Vec<_> = (1..=turns).map(|t| Stage::of(t, turns)).collect();
            assert_eq!(stages[0], Stage::Intro);
            if turns > 1 {
                assert_eq!(*stages.last().unwrap(), Stage::End);
            }
            assert!(stages.windows(2).all(|w| w[0].index() <= w[1].index()), "{turns}: {stages:?}");
        }
        let ten: Vec<_> = (1..=10).map(|t| Stage::of(t, 10).name()).collect();
        assert_eq!(
            ten,
            ["intro", "rising", "rising", "rising", "middle", "middle", "middle", "climax", "climax", "end"]
        );
        let three: Vec<_> = (1..=3).map(|t| Stage::of(t, 3).name()).collect();
        assert_eq!(three, ["intro", "rising", "end"]);
    }
}
