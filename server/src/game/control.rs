//! What seated players ask of a game (start, pause, resume, end), each a claim of the clock's
//! next step, and the TURN that (re)opens a turn.

use std::sync::Arc;

use dungeontalk_app::wire::{ErrorCode, GamePhase, GameStatus, GameView};

use super::{Control, Games, plan, refused, step_id, view};
use crate::hub::HubError;
use crate::model::{Actor, Draft, EventBody, GameSetup, RoomRecord, now_ms};

impl Games {
    /// Start, pause, resume or end the game (a seated player): the state once it took effect, or
    /// `game.conflict` when the clock or another player moved the game first.
    pub async fn control(
        self: &Arc<Self>,
        room: &RoomRecord,
        actor: &Actor,
        what: Control,
    ) -> Result<GameView, HubError> {
        let setup = self.setup(room)?.clone();
        if !self.hub.is_joined(&room.room_id, &actor.member_id).await? {
            let msg = "Only players seated in the game may start, pause, resume or end it: join it first.";
            return Err(refused(ErrorCode::NotJoined, msg));
        }
        let game = self.folded(room, 0).await?.game;
        let step = game.step + 1;
        let by = Some(actor.nickname.clone());
        let bad = |what: &str| refused(ErrorCode::GameBadState, format!("{what}: the game is {:?}.", game.status));
        let body = match (what, game.status) {
            (Control::Start, GameStatus::Created) => self.turn_body(room, step, 1, GamePhase::TurnInput, &setup, by),
            (Control::Start, _) => return Err(bad("It has started already")),
            (Control::Pause, GameStatus::Active) => EventBody::Turn {
                message_id: step_id(&room.room_id, "step", step),
                step,
                turn: game.turn,
                phase: game.phase,
                status: GameStatus::Paused,
                ends_at_ms: None,
                by,
            },
            (Control::Pause, _) => return Err(bad("Only a running game can be paused")),
            (Control::Resume, GameStatus::Paused) => self.turn_body(room, step, game.turn, game.phase, &setup, by),
            (Control::Resume, _) => return Err(bad("Only a paused game can be resumed")),
            (Control::End, GameStatus::Completed) => return Err(bad("It is over already")),
            (Control::End, _) => {
                let plan = plan::Plan::new(&room.room_id, setup.world_type);
                let (result, victory) = plan::result(&game, &plan);
                let result = format!("Ended by {} at turn {}. {result}", actor.nickname, game.turn.max(1));
                EventBody::GameEnd {
                    message_id: step_id(&room.room_id, "step", step),
                    step,
                    turn: game.turn,
                    result,
                    victory,
                }
            }
        };
        let appended = self.hub.append(Draft::new(room.room_id.clone(), body)).await?;
        let after = self.folded(room, appended.seq).await?.game;
        let took = match what {
            Control::Start => after.status != GameStatus::Created,
            Control::Pause => after.status == GameStatus::Paused,
            Control::Resume => after.status == GameStatus::Active,
            Control::End => after.status == GameStatus::Completed,
        };
        if !took || (appended.duplicate() && after.step > step) {
            let msg = "The game moved on meanwhile (the clock or another player was first); look again.";
            return Err(refused(ErrorCode::GameConflict, msg));
        }
        if what == Control::End {
            self.finished(room).await;
        }
        Ok(view(room, &setup, &after))
    }

    /// A TURN that (re)opens `turn` in `phase` as ACTIVE, claiming `step`.
    pub(super) fn turn_body(
        &self,
        room: &RoomRecord,
        step: u32,
        turn: u32,
        phase: GamePhase,
        setup: &GameSetup,
        by: Option<String>,
    ) -> EventBody {
        let ends_at_ms = (phase == GamePhase::TurnInput).then(|| now_ms() + u64::from(setup.turn_secs) * 1000);
        EventBody::Turn {
            message_id: step_id(&room.room_id, "step", step),
            step,
            turn,
            phase,
            status: GameStatus::Active,
            ends_at_ms,
            by,
        }
    }

    /// Marks the room's game as over in its record (best effort: a node starting up reads the
    /// log anyway and finds it over).
    pub(super) async fn finished(&self, room: &RoomRecord) {
        let Ok(mut fresh) = self.hub.room(&room.room_id).await else { return };
        if let Some(g) = fresh.game.as_mut().filter(|g| !g.finished) {
            g.finished = true;
            if let Err(e) = self.hub.update_room(fresh).await {
                tracing::warn!(error = %e, room = %room.room_id, "game: could not mark the game over");
            }
        }
    }
}
