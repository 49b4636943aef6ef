//! A game's driver on one node: reads the room's log (a `Feed` from seq 0, so it is gap-free and
//! in order on any node) into the game's state, and, while this node holds the game's lease, does
//! what the state asks for: start, close a turn, narrate, open the next turn, end.
//!
//! Every node runs a driver for every game in progress, and all of them want the same duty at the
//! same time; the lease (`game:{roomId}`, owner = node id, `game_lease_ms`) lets one act. If its
//! node dies the lease lapses and another node's driver, which has been folding the same log all
//! along, takes the duty over. Whatever two drivers still both write (a lease lost while one was
//! stalled) claims the same step under the same messageId, so the log keeps one.

use std::sync::Arc;
use std::time::Duration;

use dungeontalk_app::game::Duty;
use dungeontalk_app::wire::{GamePhase, GameStatus, MemberId, RoomId, ServerFrame};
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::narrator::{Chunker, NarrateError};
use super::plan::{Plan, Scene};
use super::{Folded, Games, step_id};
use crate::hub::feed::{Feed, FeedError, Item, OnLag};
use crate::model::{Draft, EventBody, GameSetup, RoomRecord, StoredEvent, now_ms};

/// How long a driver stays after its game ended, so late readers of the state find it here.
const LINGER: Duration = Duration::from_secs(60);
/// Events a driver reads from the store per page while it catches up.
const PAGE: usize = 500;
/// The pause before a failed append or read is tried again.
const RETRY: Duration = Duration::from_secs(1);

/// Runs `room`'s game on this node until it is over (and `LINGER` has passed) or the server stops.
pub(super) async fn run(games: Arc<Games>, room: RoomRecord, tx: watch::Sender<Folded>) {
    let Some(setup) = room.game.clone() else { return };
    let room_id = room.room_id.clone();
    let mut driver = Driver {
        plan: Plan::new(&room.room_id, setup.world_type),
        lease_key: format!("game:{}", room.room_id),
        games: games.clone(),
        room,
        setup,
        tx,
        holding: false,
        renewed_at: Instant::now(),
        claimed: 0,
        retry_at: None,
        narration: None,
        last_event: Instant::now(),
        over_since: None,
    };
    driver.drive().await;
    if let Some((_, task)) = driver.narration.take() {
        task.abort();
    }
    if driver.holding {
        let _ = games.hub.cluster().leases.release(&driver.lease_key, &games.node).await;
    }
    drop(driver);
    games.unwatch(&room_id);
}

struct Driver {
    games: Arc<Games>,
    room: RoomRecord,
    setup: GameSetup,
    plan: Plan,
    tx: watch::Sender<Folded>,
    lease_key: String,
    holding: bool,
    renewed_at: Instant,
    /// The seq of this node's last claim: no duty is done until the state has read it.
    claimed: u64,
    /// After a failed append, no duty before this.
    retry_at: Option<Instant>,
    /// The narration running here, and the AI_RESPONSE step it answers.
    narration: Option<(u32, JoinHandle<()>)>,
    last_event: Instant,
    over_since: Option<Instant>,
}

/// Whose feed the driver reads: nobody's whispers.
fn reader() -> MemberId {
    MemberId("game-driver".into())
}

impl Driver {
    fn open(&self, after: u64) -> Feed {
        let mut feed = Feed::open(&self.games.hub, &self.room.room_id, &reader(), PAGE, OnLag::CatchUp);
        feed.resume(after);
        feed
    }

    async fn drive(&mut self) {
        let shutdown = self.games.shutdown.clone();
        let mut feed = self.open(0);
        loop {
            // Everything the room holds already, then the duties, then wait for news or a clock.
            loop {
                let got = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    got = feed.next_or_head() => got,
                };
                match got {
                    Ok(Some(item)) => self.fold(item),
                    Ok(None) => {
                        self.tx.send_if_modified(|f| !std::mem::replace(&mut f.caught_up, true));
                        break;
                    }
                    Err(FeedError::Closed) => return,
                    Err(e) => {
                        tracing::warn!(room = %self.room.room_id, error = %e, "game: reading the room failed");
                        tokio::time::sleep(RETRY).await;
                        feed = self.open(self.tx.borrow().game.seq);
                    }
                }
            }
            if self.over_since.is_some_and(|t| t.elapsed() >= LINGER) {
                return;
            }
            self.work().await;
            let wake = self.next_wake();
            tokio::select! {
                _ = shutdown.cancelled() => return,
                got = feed.next() => match got {
                    Ok(item) => self.fold(item),
                    Err(FeedError::Closed) => return,
                    Err(_) => {}
                },
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    fn fold(&mut self, item: Item) {
        let Item::Event(event) = item else { return };
        if event.is_ephemeral() {
            return;
        }
        match serde_json::from_str::<ServerFrame>(event.json.as_str()) {
            Ok(frame) => {
                self.last_event = Instant::now();
                self.tx.send_modify(|f| f.game.apply(&frame));
                if self.over_since.is_none() && self.tx.borrow().game.status == GameStatus::Completed {
                    self.over_since = Some(Instant::now());
                }
            }
            Err(e) => tracing::warn!(room = %self.room.room_id, seq = event.seq, error = %e, "game: unreadable event"),
        }
    }

    /// The duty of the moment, with a game nobody plays ended after `game_idle_secs`.
    fn duty(&self) -> Option<Duty> {
        let game = &self.tx.borrow().game;
        let duty = game.duty(now_ms(), self.setup.turns, self.setup.autostart);
        let idle = matches!(game.status, GameStatus::Created | GameStatus::Paused)
            && self.last_event.elapsed() >= self.games.settings.idle;
        duty.or(idle.then_some(Duty::End))
    }

    async fn work(&mut self) {
        let game = self.tx.borrow().game.clone();
        if game.seq < self.claimed || self.retry_at.is_some_and(|t| Instant::now() < t) {
            return;
        }
        if self.narration.as_ref().is_some_and(|(step, task)| task.is_finished() || *step != game.step) {
            self.narration = None;
        }
        let Some(duty) = self.duty() else {
            if self.holding && self.narration.is_none() {
                let _ = self.games.hub.cluster().leases.release(&self.lease_key, &self.games.node).await;
                self.holding = false;
            }
            return;
        };
        if !self.hold().await {
            return;
        }
        let room_id = self.room.room_id.clone();
        let step = game.step + 1;
        let games = self.games.clone();
        let body = match duty {
            Duty::Start => games.turn_body(&self.room, step, 1, GamePhase::TurnInput, &self.setup, None),
            Duty::CloseTurn if game.players.is_empty() => {
                let msg = "Everyone has left: the game is paused until a player comes back and resumes it.";
                let system = EventBody::System { message_id: step_id(&room_id, "sys", step), content: msg.into() };
                if !self.claim(system).await {
                    return;
                }
                pause(&room_id, step, game.turn, game.phase)
            }
            Duty::CloseTurn => EventBody::Turn {
                message_id: step_id(&room_id, "step", step),
                step,
                turn: game.turn,
                phase: GamePhase::AiResponse,
                status: GameStatus::Active,
                ends_at_ms: None,
                by: None,
            },
            Duty::Narrate => {
                if self.narration.is_none() {
                    let scene = Scene::of(&game, &self.plan, self.setup.turns);
                    let task = tokio::spawn(speak(games, room_id, game.step, game.turn, scene));
                    self.narration = Some((game.step, task));
                }
                return;
            }
            Duty::NextTurn => games.turn_body(&self.room, step, game.turn + 1, GamePhase::TurnInput, &self.setup, None),
            Duty::End => {
                let (result, victory) = match game.status {
                    GameStatus::Active | GameStatus::Completed => super::plan::result(&game, &self.plan),
                    _ => {
                        let mins = self.games.settings.idle.as_secs() / 60;
                        (format!("Abandoned: nobody played for {mins} minutes."), false)
                    }
                };
                let end = EventBody::GameEnd {
                    message_id: step_id(&room_id, "step", step),
                    step,
                    turn: game.turn,
                    result,
                    victory,
                };
                if self.claim(end).await {
                    games.finished(&self.room).await;
                }
                return;
            }
        };
        self.claim(body).await;
    }

    /// Appends a claim; false (and a pause before the next try) when the log did not take it.
    async fn claim(&mut self, body: EventBody) -> bool {
        match self.games.hub.append(Draft::new(self.room.room_id.clone(), body)).await {
            Ok(appended) => {
                self.claimed = appended.seq;
                true
            }
            Err(e) => {
                tracing::warn!(room = %self.room.room_id, error = %e, "game: could not move the game on");
                self.retry_at = Some(Instant::now() + RETRY);
                false
            }
        }
    }

    /// Takes or renews the game's lease; false while another node holds it.
    async fn hold(&mut self) -> bool {
        let lease = self.games.settings.lease;
        if self.holding && self.renewed_at.elapsed() < lease / 3 {
            return true;
        }
        let leases = &self.games.hub.cluster().leases;
        let held = match leases.hold(&self.lease_key, &self.games.node, lease).await {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(room = %self.room.room_id, error = %e, "game: lease not renewed");
                // Ours for as long as it surely still is.
                self.holding && self.renewed_at.elapsed() < lease * 2 / 3
            }
        };
        if held {
            self.renewed_at = Instant::now();
        }
        if !held && let Some((_, task)) = self.narration.take() {
            // Another node has the game now: it narrates.
            task.abort();
        }
        self.holding = held;
        held
    }

    /// When to look at the game again if nothing is read meanwhile.
    fn next_wake(&self) -> Instant {
        let now = Instant::now();
        let mut wake = now + Duration::from_secs(60);
        let lease = self.games.settings.lease;
        if self.holding {
            wake = wake.min(self.renewed_at + lease / 3);
        }
        if self.duty().is_some() {
            // Someone should be doing it: if not this node, try to take over soon.
            wake = wake.min(now + lease / 3);
        }
        if let Some(t) = self.retry_at {
            wake = wake.min(t.max(now));
        }
        let game = &self.tx.borrow().game;
        match game.status {
            GameStatus::Active => {
                if let Some(ends) = game.ends_at_ms {
                    wake = wake.min(now + Duration::from_millis(ends.saturating_sub(now_ms())));
                }
            }
            GameStatus::Created | GameStatus::Paused => wake = wake.min(self.last_event + self.games.settings.idle),
            GameStatus::Completed => wake = wake.min(self.over_since.unwrap_or(now) + LINGER),
        }
        wake
    }
}

/// A TURN that pauses the game where it is, claiming `step`.
fn pause(room: &RoomId, step: u32, turn: u32, phase: GamePhase) -> EventBody {
    EventBody::Turn {
        message_id: step_id(room, "step", step),
        step,
        turn,
        phase,
        status: GameStatus::Paused,
        ends_at_ms: None,
        by: None,
    }
}

/// The game master's answer to the AI_RESPONSE `step`: streamed as GM_CHUNKs, then stored as the
/// GM_MESSAGE (their text joined). A narrator that fails or stalls pauses the game with a SYSTEM
/// line; resuming asks again.
async fn speak(games: Arc<Games>, room: RoomId, step: u32, turn: u32, scene: Scene) {
    let timeout = games.settings.gm_timeout;
    // Fused: the end of the answer is read again after its last piece went out.
    let mut pieces = games.narrator.narrate(scene).fuse();
    let mut chunker = Chunker::new(games.settings.max_chars);
    let (mut content, mut index) = (String::new(), 0u32);
    let mask = |t: &str| games.hub.mask(t);
    let mut failure = loop {
        let text = match tokio::time::timeout(timeout, pieces.next()).await {
            Err(_) => break Some(NarrateError::Timeout(timeout.as_secs())),
            Ok(Some(Err(e))) => break Some(e),
            Ok(None) => match chunker.finish(mask) {
                Some(t) => t,
                None => break None,
            },
            Ok(Some(Ok(piece))) => match chunker.push(&piece, mask) {
                Some(t) => t,
                None => continue,
            },
        };
        let sent_at_us =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok().map(|d| d.as_micros() as u64);
        let frame = ServerFrame::GmChunk { room_id: room.clone(), turn, index, text: text.clone(), sent_at_us };
        games.hub.narrate(StoredEvent::ephemeral(room.clone(), &frame, None)).await;
        content.push_str(&text);
        index += 1;
        if chunker.done() {
            break None;
        }
    };
    if failure.is_none() && content.trim().is_empty() {
        failure = Some(NarrateError::Failed("it said nothing".into()));
    }
    let drafts = match failure {
        None => vec![EventBody::GmMessage { message_id: step_id(&room, "gm", step), step, turn, content }],
        Some(e) => {
            tracing::warn!(room = %room, error = %e, "game master failed; the game pauses");
            let msg =
                format!("The game master did not answer ({e}). The game is paused: resume it to try this turn again.");
            vec![
                EventBody::System { message_id: step_id(&room, "sys", step), content: msg },
                pause(&room, step + 1, turn, GamePhase::AiResponse),
            ]
        }
    };
    for body in drafts {
        if let Err(e) = games.hub.append(Draft::new(room.clone(), body)).await {
            // The driver sees the turn still unanswered and narrates it again.
            tracing::warn!(room = %room, error = %e, "game: the answer was not stored");
            return;
        }
    }
}
