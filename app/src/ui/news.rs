//! What others' new lines do beyond the list: a screen reader hears them, and a hidden tab
//! counts them as unread.

use leptos::prelude::*;

use super::browser::now_ms;
use super::chat::ChatState;
use super::unread::UnreadCtx;
use crate::announce::Announcer;
use crate::timeline::Kind;
use crate::wire::RoomId;

/// A line older than this when it arrives is history, not news for the live region.
const FRESH_SECS: i64 = 10;

/// What others' new lines do (not the history a room opens with: only lines made in the last
/// [`FRESH_SECS`]): the live region reads them out (rate-limited, see [`Announcer`]), and while
/// the page is hidden they count as unread (mentions and whispers count through their
/// notifications).
pub fn news(state: ChatState, unread: UnreadCtx, room: RoomId) -> RwSignal<String> {
    let heard = RwSignal::new(String::new());
    let announcer = StoredValue::new(Announcer::default());
    let flush = move || {
        if let Some(said) = announcer.try_update_value(|a| a.flush(now_ms())).flatten() {
            heard.try_set(said);
        }
    };
    Effect::new(move |newest: Option<u64>| {
        let line = state.timeline.with(|t| t.lines().last().cloned());
        let Some(line) = line else { return 0 };
        let age = (js_sys::Date::now() / 1000.0) as i64 - line.at_secs;
        let fresh = line.seq > newest.unwrap_or(0) && age <= FRESH_SECS;
        let counts = matches!(line.kind, Kind::Talk | Kind::Move | Kind::Narration | Kind::GameEnd);
        if fresh && counts && !line.own && !super::unread::page_visible() && !line.mention && line.whisper.is_none() {
            unread.noticed(&room, crate::unread::New::Line);
        }
        if fresh && !line.own && matches!(line.kind, Kind::Talk | Kind::Narration) {
            match announcer.try_update_value(|a| a.line(now_ms(), &line.who, &line.text)).flatten() {
                Some(said) => {
                    heard.set(said);
                }
                None => {
                    let wait = announcer.with_value(|a| a.due()).map_or(0.0, |due| (due - now_ms()).max(0.0));
                    set_timeout(flush, std::time::Duration::from_millis(wait as u64 + 10));
                }
            }
        }
        line.seq.max(newest.unwrap_or(0))
    });
    heard
}
