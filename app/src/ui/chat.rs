//! The chat view's state: the conversation (a `Timeline`, the plain reducer of lines), who is in
//! the room and typing, the link's status and transport, messages waiting for their echo, and the
//! echo latency measured per transport.

use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use super::browser::{clock, new_message_id, now_ms};
use super::link::Transport;
use super::toast::Toasts;
use super::{SessionCtx, api};
use crate::game::Game;
use crate::timeline::{Reader, Timeline};
use crate::wire::{ClientFrame, ErrorBody, ErrorCode, MemberId, PresenceMember, PresenceType, ServerFrame};

pub use super::chat_view::ChatRoom;

/// The link's state as the status badge shows it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Status {
    Connecting,
    Connected,
    Reconnecting,
    /// Refused for good (bad token, no such room): no more retries.
    Offline,
}

/// A message sent but not yet seen echoed by the room.
#[derive(Clone, Debug)]
struct Pending {
    id: Uuid,
    frame: ClientFrame,
    sent_at: f64,
    transport: Transport,
}

/// Someone typing, until `until` (page clock, ms).
#[derive(Clone, Debug, PartialEq)]
pub struct Typist {
    pub member_id: MemberId,
    pub nickname: String,
    until: f64,
}

/// Echo latencies kept per transport (the newest ones).
pub const LATENCY_SAMPLES: usize = 500;
/// How long a TYPING frame shows its member as typing, in ms.
pub const TYPING_SHOWN_MS: u32 = 3_000;

/// The view's signals, shared with the connection task (all `Copy`).
#[derive(Clone, Copy)]
pub struct ChatState {
    /// The conversation: lines in seq order, scrollback, what came while reading history.
    pub timeline: RwSignal<Timeline>,
    pub status: RwSignal<Status>,
    /// Why the link is offline for good (stays until the view closes).
    pub notice: RwSignal<Option<String>>,
    pub transport: RwSignal<Transport>,
    /// Milliseconds from send to echo, per transport (index: `Transport::index`).
    pub latency: RwSignal<[Vec<f64>; Transport::COUNT]>,
    /// The joined members, as the latest presence says.
    pub members: RwSignal<Vec<PresenceMember>>,
    pub typing: RwSignal<Vec<Typist>>,
    /// Whom the composer whispers to (`None`: the whole room).
    pub whisper_to: RwSignal<Option<PresenceMember>>,
    pending: StoredValue<Vec<Pending>>,
    pub session: SessionCtx,
    pub toasts: Toasts,
    pub me: StoredValue<MemberId>,
    room_id: StoredValue<String>,
    /// 0: no member fetch out; 1: one out; 2: one out and another wanted after it.
    members_fetch: StoredValue<u8>,
    /// A game room's state, folded from its whole log and then from every frame that arrives.
    pub game: RwSignal<Option<Game>>,
    /// The game frames that arrive while the log is read (`None`: read, or not a game).
    game_buffer: StoredValue<Option<Vec<ServerFrame>>>,
}

/// The idempotency key of a frame that has one (TALK, ACTION, ROLL).
fn message_id_of(frame: &ClientFrame) -> Option<Uuid> {
    match frame {
        ClientFrame::Talk { message_id, .. }
        | ClientFrame::Action { message_id, .. }
        | ClientFrame::Roll { message_id, .. } => *message_id,
        _ => None,
    }
}

/// Whether a frame changes a game's state (its events, its players, the narrator's chunks).
fn folds(frame: &ServerFrame) -> bool {
    frame.is_game() || matches!(frame, ServerFrame::Join(_) | ServerFrame::Leave(_))
}

impl ChatState {
    /// A fresh state for the signed-in member in a room.
    pub fn new(session: SessionCtx, toasts: Toasts, me: MemberId, room_id: String) -> ChatState {
        ChatState {
            timeline: RwSignal::new(Timeline::default()),
            status: RwSignal::new(Status::Connecting),
            notice: RwSignal::new(None),
            transport: RwSignal::new(Transport::WebSocket),
            latency: RwSignal::new(Default::default()),
            members: RwSignal::new(Vec::new()),
            typing: RwSignal::new(Vec::new()),
            whisper_to: RwSignal::new(None),
            pending: StoredValue::new(Vec::new()),
            session,
            toasts,
            me: StoredValue::new(me),
            room_id: StoredValue::new(room_id),
            members_fetch: StoredValue::new(0),
            game: RwSignal::new(None),
            game_buffer: StoredValue::new(Some(Vec::new())),
        }
    }

    /// The room is a game and `game` is its log folded: from now on frames fold into it (those
    /// that came meanwhile first; the fold skips what it has by seq).
    pub fn game_loaded(&self, mut game: Game) {
        for frame in self.game_buffer.try_update_value(Option::take).flatten().unwrap_or_default() {
            game.apply(&frame);
        }
        self.game.try_set(Some(game));
    }

    /// The room is no game: nothing to keep for one.
    pub fn not_a_game(&self) {
        self.game_buffer.try_set_value(None);
    }

    fn fold(&self, frame: &ServerFrame) {
        if !folds(frame) {
            return;
        }
        let buffered = self.game_buffer.try_update_value(|b| b.as_mut().map(|b| b.push(frame.clone())).is_some());
        if buffered != Some(true) {
            self.game.try_update(|g| {
                if let Some(g) = g {
                    g.apply(frame);
                }
            });
        }
    }

    /// The highest seq shown so far (0 before any).
    pub fn last_seq(&self) -> u64 {
        self.timeline.try_with_untracked(Timeline::newest_seq).unwrap_or(0)
    }

    /// The lines stored frames show as (for scrollback pages).
    pub fn lines_of(&self, frames: &[ServerFrame]) -> Vec<crate::timeline::Line> {
        let me = self.me.get_value();
        let name_of = |id: &MemberId| self.nickname_of(id);
        let reader = Reader { me: &me, clock: &clock, name_of: &name_of };
        frames.iter().filter_map(|f| reader.line(f)).collect()
    }

    /// The transport in use.
    pub fn transport(&self) -> Transport {
        self.transport.try_get_untracked().unwrap_or(Transport::WebSocket)
    }

    /// Records the transport in use.
    pub fn set_transport(&self, t: Transport) {
        self.transport.try_set(t);
    }

    /// Shows the link's status.
    pub fn set_status(&self, status: Status) {
        self.status.try_set(status);
    }

    /// Stops for good with the server's reason; an auth error signs the player out.
    pub fn fail(&self, e: ErrorBody) {
        self.status.try_set(Status::Offline);
        if api::is_auth_error(&e) {
            self.session.sign_out();
        }
        self.notice.try_set(Some(e.message.clone()));
        self.toasts.show(e);
    }

    /// A new message (a whisper when `to` is set): pending until its echo; returns the frame to send.
    pub fn compose(&self, content: String, to: Option<MemberId>) -> ClientFrame {
        let id = new_message_id();
        let frame = ClientFrame::Talk { content, message_id: Some(id), receiver_id: to };
        let p = Pending { id, frame: frame.clone(), sent_at: now_ms(), transport: self.transport() };
        self.pending.try_update_value(|v| v.push(p));
        frame
    }

    /// A game move (ACTION or ROLL with its messageId): pending until its event comes back, like
    /// a message.
    pub fn compose_move(&self, frame: ClientFrame) -> ClientFrame {
        if let Some(id) = message_id_of(&frame) {
            let p = Pending { id, frame: frame.clone(), sent_at: now_ms(), transport: self.transport() };
            self.pending.try_update_value(|v| v.push(p));
        }
        frame
    }

    /// Messages still waiting for their echo, oldest first (sent again on a new link).
    pub fn pending_frames(&self) -> Vec<ClientFrame> {
        self.pending.try_with_value(|v| v.iter().map(|p| p.frame.clone()).collect()).unwrap_or_default()
    }

    /// The server refused a frame for good: stop retrying it and say why.
    pub fn refused(&self, frame: &ClientFrame, e: ErrorBody) {
        if let Some(id) = message_id_of(frame) {
            self.pending.try_update_value(|v| v.retain(|p| p.id != id));
        }
        self.toasts.show(e);
    }

    fn echoed(&self, id: Uuid) {
        let Some(p) =
            self.pending.try_update_value(|v| v.iter().position(|p| p.id == id).map(|i| v.remove(i))).flatten()
        else {
            return;
        };
        let ms = now_ms() - p.sent_at;
        self.latency.try_update(|l| {
            let samples = &mut l[p.transport.index()];
            if samples.len() == LATENCY_SAMPLES {
                samples.remove(0);
            }
            samples.push(ms);
        });
    }

    /// Fetches who is in the room (a long poll between polls misses PRESENCE frames). Calls
    /// while a fetch is out make one more fetch after it, so a replayed history of JOINs and
    /// LEAVEs costs two requests, not one each.
    pub fn reload_members(&self) {
        let busy = self.members_fetch.try_update_value(|f| {
            let busy = *f > 0;
            *f = (*f + 1).min(2);
            busy
        });
        if busy != Some(false) {
            return;
        }
        let this = *self;
        let room_id = self.room_id.get_value();
        spawn_local(async move {
            loop {
                if let Ok(p) = api::presence(&this.session.token(), &room_id).await {
                    this.members.try_set(p.members);
                }
                // 2 or more: asked again meanwhile; fetch once more.
                let again = this.members_fetch.try_update_value(|f| {
                    *f -= 1;
                    *f > 0
                });
                if again != Some(true) {
                    return;
                }
            }
        });
    }

    fn nickname_of(&self, id: &MemberId) -> String {
        let known =
            self.members.try_with_untracked(|m| m.iter().find(|x| x.member_id == *id).map(|x| x.nickname.clone()));
        known.flatten().unwrap_or_else(|| "someone".to_owned())
    }

    fn typed(&self, member_id: MemberId, nickname: String) {
        let until = now_ms() + f64::from(TYPING_SHOWN_MS);
        self.typing.try_update(|v| {
            v.retain(|t| t.member_id != member_id);
            v.push(Typist { member_id, nickname, until });
        });
        let typing = self.typing;
        spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(TYPING_SHOWN_MS + 50).await;
            let now = now_ms();
            typing.try_update(|v| v.retain(|t| t.until > now));
        });
    }

    /// Updates the member list from a presence frame: a snapshot replaces it, a delta changes
    /// the one member it is about.
    fn apply_presence(&self, p: &crate::wire::PresenceEvent) {
        if let Some(all) = &p.members {
            self.members.try_set(all.clone());
            return;
        }
        let Some(id) = &p.member_id else { return };
        match p.event_type {
            PresenceType::Join => {
                if let Some(m) = &p.member {
                    self.members.try_update(|list| {
                        list.retain(|x| x.member_id != *id);
                        list.push(m.clone());
                        list.sort_by(|a, b| a.nickname.cmp(&b.nickname).then(a.member_id.cmp(&b.member_id)));
                    });
                }
            }
            PresenceType::Leave | PresenceType::SessionExpired => {
                self.members.try_update(|list| list.retain(|x| x.member_id != *id));
            }
            PresenceType::JoinIgnored | PresenceType::LeaveIgnored | PresenceType::CapacityUpdated => {}
        }
    }

    /// Applies a server frame and tells the connection what to do next.
    pub fn apply(&self, frame: ServerFrame) -> Next {
        let me = self.me.try_get_value();
        let mine = |id: &MemberId| me.as_ref() == Some(id);
        self.fold(&frame);
        match &frame {
            ServerFrame::Talk(t) => {
                // A message ends its sender's "typing…".
                self.typing.try_update(|v| v.retain(|x| x.member_id != t.sender_id));
                if mine(&t.sender_id) {
                    self.echoed(t.message_id);
                }
            }
            ServerFrame::Action(a) if mine(&a.member_id) => self.echoed(a.message_id),
            ServerFrame::Dice(d) if mine(&d.member_id) => self.echoed(d.message_id),
            ServerFrame::Presence(p) => {
                self.apply_presence(p);
                let about_me = p.member_id.is_some() && p.member_id == me;
                return match p.event_type {
                    PresenceType::SessionExpired if about_me => Next::Rejoin(false),
                    _ => Next::Continue,
                };
            }
            ServerFrame::Typing { member_id, nickname, .. } => {
                if !mine(member_id) {
                    self.typed(member_id.clone(), nickname.clone());
                }
                return Next::Continue;
            }
            ServerFrame::Error {
                code: code @ (ErrorCode::TokenExpired | ErrorCode::LoggedOut | ErrorCode::RoomFull),
                message,
                ..
            } => return Next::Ended(ErrorBody::new(*code, message.clone())),
            // Our seat went (an idle session ended, a long outage): take it again and resend.
            ServerFrame::Error { code: ErrorCode::NotJoined, .. } => return Next::Rejoin(true),
            // A backend is down: nothing was stored; send it again a little later.
            ServerFrame::Error { code: ErrorCode::Unavailable, message, .. } => {
                self.toasts.show(ErrorBody::new(ErrorCode::Unavailable, message.clone()));
                return Next::RetryPending(UNAVAILABLE_RETRY_MS);
            }
            ServerFrame::Error { code: ErrorCode::RateLimited, message, retry_after_ms } => {
                self.toasts.show(ErrorBody::new(ErrorCode::RateLimited, message.clone()));
                return Next::RetryPending(retry_after_ms.unwrap_or(1_000));
            }
            ServerFrame::Error { code, message, .. } | ServerFrame::Warning { code, message } => {
                self.toasts.show(ErrorBody::new(*code, message.clone()));
                return Next::Continue;
            }
            ServerFrame::Connected { .. } => {
                self.set_status(Status::Connected);
                return Next::Connected;
            }
            ServerFrame::Resync { .. } => return Next::Resume,
            _ => {}
        }
        // Stored events become lines (the reducer keeps seq order and drops a seq it has).
        if let Some(line) = self.lines_of(std::slice::from_ref(&frame)).pop() {
            self.timeline.try_update(|t| t.live(line));
        }
        Next::Continue
    }
}

/// How long the UI waits before it sends again what was refused as `unavailable`.
pub const UNAVAILABLE_RETRY_MS: u64 = 2_000;

/// What the connection does after a frame.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    Continue,
    /// The server accepted the handshake.
    Connected,
    /// The server sent RESYNC: reconnect and resume from the last seq shown.
    Resume,
    /// Too fast: send the pending messages again after this many ms.
    RetryPending(u64),
    /// Our chat session expired while the page was away, or a message was refused for want of
    /// a seat (`true`: send the pending messages again after it): JOIN again.
    Rejoin(bool),
    /// The server ended the link: its token expired (renew and reconnect), was logged out, or the
    /// room filled up without a seat for us (stop).
    Ended(ErrorBody),
}
