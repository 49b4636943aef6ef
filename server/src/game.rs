//! AI game rooms: what players do in a game (act, roll, start, pause, resume, end), the matching
//! queue, and on every node a driver per running game that folds the room's log into the game's
//! state and, while it holds the game's lease, moves the game's clock and narrates.
//!
//! The state is `dungeontalk_app::game::Game`, a fold of the room's events shared with the UI.
//! What a node writes into the game (a TURN, the GM_MESSAGE) claims the next `step` under a
//! messageId made from the room and that step, so two nodes that race write one event.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dungeontalk_app::game::Game;
use dungeontalk_app::wire::{CreateGame, Die, ErrorCode, GamePhase, GamePlayer, GameView, RoomId, RoomType};
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::Settings;
use crate::hub::{Hub, HubError};
use crate::model::{Actor, Appended, Draft, EventBody, GameSetup, Refusal, RoomRecord, now_rfc3339};

mod control;
mod driver;
mod matching;
pub mod narrator;
pub mod plan;

use narrator::Narrator;
pub use narrator::narrator_for;

/// Players a game seats at most.
pub const MAX_PLAYERS: u32 = 5;
/// Players a game seats when none is asked for.
pub const DEFAULT_PLAYERS: u32 = 3;
/// How long a member's match is remembered for a client that asks (`GET /api/matching`).
const MATCHED_TTL: Duration = Duration::from_secs(600);

/// The game's share of the settings.
#[derive(Clone, Debug)]
pub struct GameSettings {
    pub turns: u32,
    pub turn_secs: u32,
    pub lease: Duration,
    pub idle: Duration,
    pub match_size: u32,
    pub match_wait: Duration,
    pub max_chars: usize,
    pub gm_timeout: Duration,
    pub backend_timeout: Duration,
}

impl GameSettings {
    /// From the settings.
    pub fn from_settings(s: &Settings) -> GameSettings {
        GameSettings {
            turns: s.game_turns,
            turn_secs: s.game_turn_secs,
            lease: Duration::from_millis(s.game_lease_ms),
            idle: Duration::from_secs(s.game_idle_secs),
            match_size: s.match_size,
            match_wait: Duration::from_secs(s.match_wait_secs),
            max_chars: s.gm_max_chars,
            gm_timeout: Duration::from_secs(s.gm_timeout_secs),
            backend_timeout: Duration::from_millis(s.backend_timeout_ms),
        }
    }
}

/// A game's state on this node, and whether it has read the room's log up to its end yet.
#[derive(Clone, Debug, Default)]
pub struct Folded {
    pub game: Game,
    pub caught_up: bool,
}

/// What a seated player may ask of a game.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Start,
    Pause,
    Resume,
    End,
}

/// The messageId of the event that claims `step` of a room's game clock, the same on every node.
fn step_id(room: &RoomId, kind: &str, step: u32) -> Uuid {
    let digest = Sha256::new()
        .chain_update(room.0.as_bytes())
        .chain_update([0])
        .chain_update(kind.as_bytes())
        .chain_update(step.to_be_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

fn refused(code: ErrorCode, message: impl Into<String>) -> HubError {
    HubError::Invalid(code, message.into())
}

/// The games of this node: their drivers (one per game room with a game in progress), the
/// narrator, and what players ask.
pub struct Games {
    hub: Arc<Hub>,
    settings: GameSettings,
    narrator: Arc<dyn Narrator>,
    node: String,
    shutdown: CancellationToken,
    /// Room → its driver's state; an entry goes when its driver ends (the game is over, or the
    /// server stops).
    watched: Mutex<HashMap<RoomId, watch::Receiver<Folded>>>,
}

impl Games {
    /// The games over `hub`; drivers stop with `shutdown`.
    pub fn new(
        hub: Arc<Hub>,
        settings: GameSettings,
        narrator: Arc<dyn Narrator>,
        node: String,
        shutdown: CancellationToken,
    ) -> Arc<Games> {
        Arc::new(Games { hub, settings, narrator, node, shutdown, watched: Mutex::default() })
    }

    /// What the narrator's model has computed (for `/metrics`).
    pub fn narrator_work(&self) -> narrator::Work {
        self.narrator.work()
    }

    /// Games with a driver on this node (a per-key table: `/metrics` shows it).
    pub fn watched(&self) -> usize {
        self.watched.lock().expect("games lock").len()
    }

    /// Starts a driver for every game the store holds that is not over (at start: a game whose
    /// node stopped goes on here).
    pub async fn resume_all(self: &Arc<Self>) -> Result<(), HubError> {
        for room in self.hub.all_rooms().await? {
            if room.game.as_ref().is_some_and(|g| !g.finished) {
                self.watch(&room);
            }
        }
        Ok(())
    }

    /// The state of `room`'s game on this node, following it from now on.
    fn watch(self: &Arc<Self>, room: &RoomRecord) -> watch::Receiver<Folded> {
        let mut watched = self.watched.lock().expect("games lock");
        if let Some(rx) = watched.get(&room.room_id)
            && rx.has_changed().is_ok()
        {
            return rx.clone();
        }
        let (tx, rx) = watch::channel(Folded::default());
        watched.insert(room.room_id.clone(), rx.clone());
        tokio::spawn(driver::run(self.clone(), room.clone(), tx));
        rx
    }

    /// Called by a driver as it ends.
    fn unwatch(&self, room: &RoomId) {
        let mut watched = self.watched.lock().expect("games lock");
        if watched.get(room).is_some_and(|rx| rx.has_changed().is_err()) {
            watched.remove(room);
        }
    }

    /// The game's state once this node has read its log through `seq`, and at least through
    /// every event already delivered here (what a client of this node may have seen: a player
    /// who saw the game pause may resume it at once).
    async fn folded(self: &Arc<Self>, room: &RoomRecord, seq: u64) -> Result<Folded, HubError> {
        let mut rx = self.watch(room);
        let seq = seq.max(self.hub.rooms().newest_seq(&room.room_id));
        let ready = |f: &Folded| f.caught_up && f.game.seq >= seq;
        let waited = match tokio::time::timeout(self.settings.backend_timeout, rx.wait_for(ready)).await {
            Ok(Ok(f)) => Some(f.clone()),
            _ => None,
        };
        match waited {
            Some(f) => Ok(f),
            // The driver ended (a finished game it read to its end): its last state stands.
            None if ready(&rx.borrow()) => Ok(rx.borrow().clone()),
            None => Err(HubError::Log(crate::log::LogError::Unavailable("the game's log is not readable now".into()))),
        }
    }

    fn setup<'a>(&self, room: &'a RoomRecord) -> Result<&'a GameSetup, HubError> {
        room.game.as_ref().ok_or_else(|| refused(ErrorCode::NotAGame, "That room is not a game."))
    }

    /// A new game's rules from the settings.
    pub fn new_setup(&self, world_type: dungeontalk_app::wire::WorldType, autostart: Option<u32>) -> GameSetup {
        GameSetup {
            world_type,
            turns: self.settings.turns,
            turn_secs: self.settings.turn_secs,
            autostart,
            finished: false,
        }
    }

    /// Makes a game room for `actor` (`POST /api/games`).
    pub async fn create(self: &Arc<Self>, actor: &Actor, req: CreateGame) -> Result<GameView, HubError> {
        let max_players = req.max_players.unwrap_or(DEFAULT_PLAYERS);
        if !(1..=MAX_PLAYERS).contains(&max_players) {
            let msg = format!("A game seats 1 to {MAX_PLAYERS} players.");
            return Err(refused(ErrorCode::InvalidRequest, msg));
        }
        let name = req.name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
        let name = name.unwrap_or_else(|| format!("{} game", req.world_type.label()));
        if name.chars().count() > 60 || name.chars().any(char::is_control) {
            return Err(refused(ErrorCode::InvalidRequest, "A game's name needs 1 to 60 characters."));
        }
        let room = RoomRecord {
            room_id: RoomId(Uuid::now_v7().to_string()),
            name,
            max_capacity: max_players,
            created_by: actor.member_id.clone(),
            created_at: now_rfc3339(),
            room_type: RoomType::Game,
            private: req.private,
            allowed: Vec::new(),
            game: Some(self.new_setup(req.world_type, None)),
        };
        self.hub.create_room(room.clone()).await?;
        self.view(&room).await
    }

    /// The game's state as `GET /api/games/{roomId}` shows it.
    pub async fn view(self: &Arc<Self>, room: &RoomRecord) -> Result<GameView, HubError> {
        let setup = self.setup(room)?;
        let folded = self.folded(room, 0).await?;
        Ok(view(room, setup, &folded.game))
    }

    /// A player's move for the open turn (`ACTION`).
    pub async fn act(
        self: &Arc<Self>,
        room: &RoomRecord,
        actor: &Actor,
        content: String,
        message_id: Option<Uuid>,
    ) -> Result<(Appended, Option<Refusal>), HubError> {
        self.setup(room)?;
        self.hub.measure(&content)?;
        self.seated(room, actor).await?;
        let game = self.folded(room, 0).await?.game;
        let turn = self.open_turn(&game)?;
        if game.has_moved(&actor.member_id, turn) && !self.hub.is_stored(&room.room_id, message_id).await? {
            let msg = match game.phase {
                GamePhase::AiResponse => "Your move for the next turn is in already; wait for the game master.",
                _ => "You have made your move this turn; wait for the next one.",
            };
            return Err(refused(ErrorCode::AlreadyActed, msg));
        }
        let (content, warning, charged) = self.hub.vet(room, actor, content, message_id).await?;
        let body = EventBody::Action {
            message_id: message_id.unwrap_or_else(Uuid::now_v7),
            member_id: actor.member_id.clone(),
            nickname: actor.nickname.clone(),
            turn,
            content,
        };
        let appended = self.append_move(room, actor, body, charged).await?;
        let warning = warning.filter(|_| !appended.duplicate());
        Ok((appended, warning))
    }

    /// Appends a player's move; gives back the rate token of a retry; returns once this node's
    /// state holds it, so the player's next request here sees it.
    async fn append_move(
        self: &Arc<Self>,
        room: &RoomRecord,
        actor: &Actor,
        body: EventBody,
        charged: bool,
    ) -> Result<Appended, HubError> {
        let appended = self.hub.append(Draft::new(room.room_id.clone(), body)).await?;
        if appended.duplicate() && charged {
            self.hub.refund(actor).await?;
        }
        self.folded(room, appended.seq).await?;
        Ok(appended)
    }

    /// Rolls a die for a player (`ROLL`): the server rolls once; a retry keeps the first roll.
    pub async fn roll(
        self: &Arc<Self>,
        room: &RoomRecord,
        actor: &Actor,
        die: Die,
        message_id: Option<Uuid>,
    ) -> Result<Appended, HubError> {
        self.setup(room)?;
        self.seated(room, actor).await?;
        let game = self.folded(room, 0).await?.game;
        let turn = self.open_turn(&game)?;
        let charged = self.hub.charge(room, actor, message_id).await?;
        let mut byte = [0u8; 4];
        getrandom::fill(&mut byte).map_err(|e| HubError::Log(crate::log::LogError::Unavailable(e.to_string())))?;
        let result = (u32::from_le_bytes(byte) % 20) as u8 + 1;
        let body = EventBody::Dice {
            message_id: message_id.unwrap_or_else(Uuid::now_v7),
            member_id: actor.member_id.clone(),
            nickname: actor.nickname.clone(),
            die,
            result,
            turn,
        };
        self.append_move(room, actor, body, charged).await
    }

    fn open_turn(&self, game: &Game) -> Result<u32, HubError> {
        game.open_turn().ok_or_else(|| refused(ErrorCode::GameBadState, "The game is over."))
    }

    /// Refuses a member who holds no seat (`room.not_joined`); marks their activity.
    async fn seated(&self, room: &RoomRecord, actor: &Actor) -> Result<(), HubError> {
        if !self.hub.cluster().presence.touch(&room.room_id, &actor.member_id).await? {
            return Err(refused(ErrorCode::NotJoined, "Join the game before you play in it."));
        }
        Ok(())
    }
}

/// The view of a game's state for its room.
fn view(room: &RoomRecord, setup: &GameSetup, game: &Game) -> GameView {
    let players = game
        .players
        .iter()
        .map(|p| GamePlayer {
            member_id: p.member_id.clone(),
            nickname: p.nickname.clone(),
            acted: game.has_moved(&p.member_id, game.turn.max(1)),
        })
        .collect();
    GameView {
        room_id: room.room_id.clone(),
        name: room.name.clone(),
        room_type: RoomType::Game,
        world_type: setup.world_type,
        max_players: room.max_capacity,
        status: game.status,
        phase: game.phase,
        turn: game.turn,
        turns: setup.turns,
        players,
        ends_at_ms: game.ends_at_ms,
        result: game.result.as_ref().map(|(r, _)| r.clone()),
        seq: game.seq,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_s_id_is_the_same_everywhere_and_differs_per_room_kind_and_step() {
        let r = RoomId("r1".into());
        assert_eq!(step_id(&r, "step", 3), step_id(&r, "step", 3));
        assert_ne!(step_id(&r, "step", 3), step_id(&r, "step", 4));
        assert_ne!(step_id(&r, "step", 3), step_id(&r, "gm", 3));
        assert_ne!(step_id(&r, "step", 3), step_id(&RoomId("r2".into()), "step", 3));
    }
}
