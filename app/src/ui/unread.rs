//! Every room's unread counts for whoever is signed in: fetched at once and every
//! [`REFRESH_MS`] while the tab is in view, moved at once by notifications and by what the
//! player sees; the page title shows the total. The rules are in [`crate::unread`].

use std::collections::HashMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use super::SessionCtx;
use crate::fns::{list_activity, mark_read};
use crate::unread::{New, Unread};
use crate::wire::RoomId;

/// How often the counts are fetched while the tab is in view, in ms.
pub const REFRESH_MS: u64 = 5_000;
/// The least time between two read marks sent by a tab, in ms: in a busy room each line seen
/// would otherwise be a request (the count here goes at once; other tabs hear within this).
pub const MARK_EVERY_MS: u64 = 2_000;

/// Read marks waiting to be sent: one request at a time, at most one per [`MARK_EVERY_MS`], the
/// newest mark per room.
#[derive(Default)]
struct Outbox {
    sending: bool,
    marks: HashMap<RoomId, u64>,
}

/// The counts and the way to move them (`Copy`: signals and stored values only).
#[derive(Clone, Copy)]
pub struct UnreadCtx {
    pub state: RwSignal<Unread>,
    outbox: StoredValue<Outbox>,
    session: SessionCtx,
}

/// Whether the page is in view (not a background tab, not minimized).
pub fn page_visible() -> bool {
    document().visibility_state() == web_sys::VisibilityState::Visible
}

impl UnreadCtx {
    /// Fetches every room's counts now.
    pub fn refresh(self) {
        if self.session.0.with_untracked(Option::is_none) {
            return;
        }
        let token = self.session.token();
        spawn_local(async move {
            match list_activity(token).await {
                Ok(rooms) => {
                    self.state.try_update(|u| u.load(rooms));
                }
                Err(e) if super::api::is_auth_error(&e.0) => self.session.token_refused(&e.0),
                Err(_) => {} // the next refresh tries again; the counts stay as they were
            }
        });
    }

    /// The player saw the room up to `seq`: the count goes at once and the server is told.
    pub fn seen(self, room: &RoomId, seq: u64) {
        if self.state.try_update(|u| u.seen(room, seq)) == Some(true) {
            self.outbox.update_value(|o| {
                o.marks.insert(room.clone(), seq);
            });
            self.send();
        }
    }

    fn send(self) {
        let next = self.outbox.try_update_value(|o| {
            if o.sending {
                return None;
            }
            let room = o.marks.keys().next().cloned()?;
            let seq = o.marks.remove(&room)?;
            o.sending = true;
            Some((room, seq))
        });
        let Some(Some((room, seq))) = next else { return };
        let token = self.session.token();
        spawn_local(async move {
            // A failure leaves the server's mark behind; the next line seen sends a newer one.
            let _ = mark_read(token, room, seq).await;
            set_timeout(
                move || {
                    self.outbox.try_update_value(|o| o.sending = false);
                    self.send();
                },
                std::time::Duration::from_millis(MARK_EVERY_MS),
            );
        });
    }

    /// The room the player has open and in view, if any.
    pub fn here(self, room: Option<RoomId>) {
        self.state.try_update(|u| u.set_here(room));
    }

    /// A notification told of something new in a room.
    pub fn noticed(self, room: &RoomId, new: New) {
        self.state.try_update(|u| u.noticed(room, new));
    }

    /// Another tab (or this one) moved the read mark: the count goes here too.
    pub fn read_elsewhere(self, room: &RoomId, seq: u64) {
        self.state.try_update(|u| {
            u.seen(room, seq);
        });
    }
}

/// Keeps the counts for whoever is signed in, and the page title with them.
pub fn follow(session: SessionCtx) -> UnreadCtx {
    let ctx =
        UnreadCtx { state: RwSignal::new(Unread::default()), outbox: StoredValue::new(Outbox::default()), session };
    let member = Memo::new(move |_| session.0.with(|s| s.as_ref().map(|s| s.member_id.clone())));
    Effect::new(move |_| {
        member.track();
        ctx.state.set(Unread::default());
        ctx.refresh();
    });
    Effect::new(move |_| document().set_title(&ctx.state.with(Unread::title)));
    if let Ok(timer) = set_interval_with_handle(
        move || {
            if page_visible() {
                ctx.refresh();
            }
        },
        std::time::Duration::from_millis(REFRESH_MS),
    ) {
        on_cleanup(move || timer.clear());
    }
    let on_visible = Closure::<dyn FnMut()>::new(move || {
        if page_visible() {
            ctx.refresh();
        }
    });
    let _ = document().add_event_listener_with_callback("visibilitychange", on_visible.as_ref().unchecked_ref());
    on_visible.forget(); // lives as long as the page
    ctx
}

/// While a room's view is open: the room is the one in view whenever the page is, and the lines
/// the player has seen (`seen()`, tracked) move their read mark.
pub fn watch_room(ctx: UnreadCtx, room: RoomId, seen: impl Fn() -> u64 + 'static) {
    let visible = RwSignal::new(page_visible());
    let listener = Closure::<dyn FnMut()>::new(move || {
        visible.try_set(page_visible());
    });
    let _ = document().add_event_listener_with_callback("visibilitychange", listener.as_ref().unchecked_ref());
    let listener = StoredValue::new_local(Some(listener));
    Effect::new(move |_| {
        let in_view = visible.get();
        ctx.here(in_view.then(|| room.clone()));
        let seq = seen();
        if in_view && seq > 0 {
            ctx.seen(&room, seq);
        }
    });
    on_cleanup(move || {
        if let Some(Some(l)) = listener.try_update_value(Option::take) {
            let _ = document().remove_event_listener_with_callback("visibilitychange", l.as_ref().unchecked_ref());
        }
        ctx.here(None);
    });
}
