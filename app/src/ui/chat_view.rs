//! The chat view: messages, members, the composer, and the transport switcher with live latency figures.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use super::browser::now_ms;
use super::chat::{ChatState, Status};
use super::connection::{self, Inputs};
use super::game::GamePanel;
use super::invite::InviteForm;
use super::link::Transport;
use super::members::{Members, TypingLine, WhisperTarget};
use super::news::news;
use super::phone::{DrawerToggle, Panel, follow_viewport, move_focus_with};
use super::row::{Row, RowData};
use super::switcher::Switcher;
use super::text_input::Composer;
use super::toast::Toasts;
use super::{SessionCtx, api};
use crate::game::Game;
use crate::wire::{ClientFrame, GameView, RoomId};

/// A TYPING frame goes out at most this often while the player types, in ms.
const TYPING_EVERY_MS: f64 = 2_000.0;
/// Events asked for per scrollback page.
const PAGE: usize = 50;
/// Scrolled this close (px) to the top, the next older page is read; this close to the bottom,
/// the view follows new lines.
const NEAR_TOP_PX: i32 = 150;
const NEAR_BOTTOM_PX: i32 = 40;

/// The route `/rooms/:id`: a fresh chat view per room.
#[component]
pub fn ChatRoom() -> impl IntoView {
    let params = use_params_map();
    move || {
        let room_id = params.read().get("id").unwrap_or_default();
        view! { <ChatView room_id /> }
    }
}

#[component]
fn ChatView(room_id: String) -> impl IntoView {
    let session = expect_context::<SessionCtx>();
    let Some(me) = session.0.get_untracked() else { return ().into_any() };
    let state = ChatState::new(session, expect_context::<Toasts>(), me.member_id.clone(), room_id.clone());
    let panel = RwSignal::new(None::<Panel>);
    let unread = expect_context::<super::unread::UnreadCtx>();
    // The room's name and privacy come with the room list's answer (asked for now if this room
    // is not in it yet: just made, or opened by its address).
    let here = RoomId(room_id.clone());
    if unread.state.with_untracked(|u| u.room(&here).is_none()) {
        unread.refresh();
    }
    let listed =
        Memo::new(move |_| unread.state.with(|u| u.room(&here).map(|r| (r.room.name.clone(), r.room.private))));
    let title = move || listed.with(|l| l.as_ref().map_or_else(|| "Room".to_owned(), |(name, _)| name.clone()));
    let private = move || listed.with(|l| l.as_ref().is_some_and(|(_, p)| *p));
    super::unread::watch_room(unread, RoomId(room_id.clone()), move || state.timeline.with(|t| t.seen_seq()));
    let room_id_value = StoredValue::new(room_id.clone());
    let (tx, outbox) = futures::channel::mpsc::unbounded::<ClientFrame>();
    let (switch_tx, switches) = futures::channel::mpsc::unbounded::<Transport>();
    let outbox_tx = StoredValue::new(Some(tx));
    let switch_tx = StoredValue::new(Some(switch_tx));
    let stop = Arc::new(AtomicBool::new(false));
    let inputs = Inputs { outbox, switches };
    spawn_local(connection::run(room_id.clone(), inputs, state, stop.clone()));
    on_cleanup(move || {
        stop.store(true, Ordering::Relaxed);
        outbox_tx.try_update_value(|o| *o = None);
        switch_tx.try_update_value(|o| *o = None);
    });
    // A game room: its rules, then its whole log folded into the game's state.
    let setup = RwSignal::new(None::<GameView>);
    {
        let (token, room_id) = (me.access_token.clone(), room_id.clone());
        spawn_local(async move {
            let Ok(view) = api::game(&token, &room_id).await else { return state.not_a_game() };
            setup.try_set(Some(view));
            if let Ok(events) = api::whole_history(&token, &room_id).await {
                let mut game = Game::default();
                events.iter().for_each(|e| game.apply(e));
                state.game_loaded(game);
            }
        });
    }
    let send_frame = move |frame: ClientFrame| {
        outbox_tx.with_value(|o| o.as_ref().map(|tx| tx.unbounded_send(frame)));
    };
    let draft = RwSignal::new(api::draft(&room_id));
    {
        let room_id = room_id.clone();
        Effect::new(move |_| draft.with(|d| api::save_draft(&room_id, d)));
    }
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let content = draft.get_untracked();
        if content.trim().is_empty() {
            return;
        }
        let to = state.whisper_to.get_untracked().map(|m| m.member_id);
        let frame = state.compose(content, to);
        outbox_tx.with_value(|o| o.as_ref().map(|tx| tx.unbounded_send(frame)));
        draft.set(String::new());
    };
    let last_typing = StoredValue::new(f64::MIN);
    let typed = move || {
        let now = now_ms();
        if now - last_typing.get_value() >= TYPING_EVERY_MS && !draft.with_untracked(String::is_empty) {
            last_typing.set_value(now);
            outbox_tx.with_value(|o| o.as_ref().map(|tx| tx.unbounded_send(ClientFrame::Typing)));
        }
    };
    let switch = move |t: Transport| {
        switch_tx.with_value(|s| s.as_ref().map(|tx| tx.unbounded_send(t)));
    };
    let list = NodeRef::<leptos::html::Ol>::new();
    let loading_older = StoredValue::new(false);
    // The next older page, with the view kept where it was (the page goes in above it).
    let load_older = move || {
        let Some(before) = state.timeline.with_untracked(|t| (!t.reached_start).then(|| t.oldest_seq()).flatten())
        else {
            return;
        };
        if loading_older.get_value() {
            return;
        }
        loading_older.set_value(true);
        let (token, room_id) = (session.token(), room_id_value.get_value());
        spawn_local(async move {
            let page = api::history_before(&token, &room_id, before, PAGE).await;
            let anchor = list.get_untracked().and_then(|el| first_visible(&el));
            match page {
                Ok(frames) => {
                    // A short page is the room's first (counted in events: not all are lines).
                    let last = frames.len() < PAGE;
                    let lines = state.lines_of(&frames);
                    state.timeline.try_update(|t| t.older(lines, last));
                }
                Err(e) => state.toasts.show(e),
            }
            // Once the page is drawn above, put the line that was at the top back where it was.
            if let (Some(el), Some((seq, offset))) = (list.get_untracked(), anchor) {
                for _ in 0..20 {
                    gloo_timers::future::TimeoutFuture::new(0).await;
                    if state.timeline.with_untracked(|t| t.following) {
                        break;
                    }
                    if let Ok(Some(line)) = el.query_selector(&format!("[data-seq=\"{seq}\"]"))
                        && let Ok(line) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(line)
                    {
                        el.set_scroll_top(line.offset_top() - offset);
                        break;
                    }
                }
            }
            loading_older.set_value(false);
        });
    };
    let on_scroll = move |_| {
        let Some(el) = list.get_untracked() else { return };
        let at_bottom = el.scroll_height() - el.scroll_top() - el.client_height() <= NEAR_BOTTOM_PX;
        if state.timeline.with_untracked(|t| t.following != at_bottom || (at_bottom && t.unseen > 0)) {
            state.timeline.update(|t| t.follow(at_bottom));
        }
        if el.scroll_top() <= NEAR_TOP_PX {
            load_older();
        }
    };
    let jump_to_latest = move |_| {
        state.timeline.update(|t| t.follow(true));
        if let Some(el) = list.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
    };
    Effect::new(move |_| {
        let (following, has_lines) = state.timeline.with(|t| (t.following, !t.lines().is_empty()));
        let Some(el) = list.get() else { return };
        if following {
            el.set_scroll_top(el.scroll_height());
        }
        // Not enough lines to scroll: read older ones until there are, or the room's start.
        if has_lines && el.scroll_height() <= el.client_height() {
            load_older();
        }
    });
    let rows = move || {
        state.timeline.with(|t| {
            (0..t.lines().len())
                .map(|i| RowData {
                    line: t.lines()[i].clone(),
                    grouped: t.continues(i),
                    day: t.day_above(i).map(str::to_owned),
                })
                .collect::<Vec<_>>()
        })
    };
    let status_text = move || match state.status.get() {
        Status::Connecting => "Connecting…",
        Status::Connected => "Connected",
        Status::Reconnecting => "Reconnecting…",
        Status::Offline => "Offline",
    };
    let heard = news(state, unread, RoomId(room_id.clone()));
    follow_viewport();
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" && panel.get_untracked().is_some() {
            panel.set(None);
        }
    };
    let close = move |_| panel.set(None);
    move_focus_with(panel);
    let room = RoomId(room_id.clone());
    view! {
        <section class="card chat" on:keydown=on_key>
            <div class="row chat-head">
                <a class="link" href="/" data-testid="back-to-rooms">
                    {move || match unread.state.with(|u| u.total()) {
                        0 => "← Rooms".to_owned(),
                        n => format!("← Rooms · {n} new"),
                    }}
                </a>
                <h1 data-testid="room-title">{title}</h1>
                <span
                    class="status"
                    class:live=move || state.status.get() == Status::Connected
                    data-testid="status"
                    role="status"
                >
                    {status_text}
                </span>
                <DrawerToggle panel which=Panel::Transport>
                    {move || state.transport.get().label()}
                </DrawerToggle>
                <DrawerToggle panel which=Panel::Members>
                    {move || format!("Members · {}", state.members.with(Vec::len))}
                </DrawerToggle>
            </div>
            <Show when=move || setup.with(Option::is_some)>
                <GamePanel state setup room_id=room_id.clone() send=send_frame />
            </Show>
            <div class="drawer" class:open=move || panel.get() == Some(Panel::Transport) data-testid=Panel::Transport.drawer()>
                <button type="button" class="link drawer-close" on:click=close>"Close"</button>
                <Switcher state switch />
            </div>
            <div class="room-body">
                <div class="conversation">
                    <ol class="messages" node_ref=list data-testid="messages" on:scroll=on_scroll aria-label="Messages">
                        <Show when=move || state.timeline.with(|t| t.reached_start)>
                            <li class="room-start" data-testid="room-start">"This is the start of the room."</li>
                        </Show>
                        <For each=rows key=|r| (r.line.seq, r.grouped, r.day.clone()) let:row>
                            <Row row />
                        </For>
                    </ol>
                    <Show when=move || state.timeline.with(|t| !t.following && t.unseen > 0)>
                        <button type="button" class="jump" data-testid="jump-to-latest" on:click=jump_to_latest>
                            {move || format!("{} new · jump to latest ↓", state.timeline.with(|t| t.unseen))}
                        </button>
                    </Show>
                </div>
                <div class="drawer side" class:open=move || panel.get() == Some(Panel::Members) data-testid=Panel::Members.drawer()>
                    <button type="button" class="link drawer-close" on:click=close>"Close"</button>
                    <Members state />
                    <Show when=private>
                        <InviteForm room_id=room.clone() />
                    </Show>
                </div>
            </div>
            <p class="sr-only" aria-live="polite" data-testid="live-region">{move || heard.get()}</p>
            <TypingLine state />
            <Show when=move || state.notice.with(Option::is_some)>
                <p class="error" role="alert" on:click=move |_| state.notice.set(None)>
                    {move || state.notice.get()}
                </p>
            </Show>
            <WhisperTarget state />
            <form class="row composer" on:submit=send on:input=move |_| typed()>
                <Composer value=draft testid="message-input" placeholder="Say something…" maxlength=2000 />
                <button data-testid="send-button" type="submit">"Send"</button>
            </form>
        </section>
    }
    .into_any()
}

/// The first line in view of the list: its seq and its offset from the list's visible top.
fn first_visible(list: &web_sys::HtmlOListElement) -> Option<(u64, i32)> {
    let top = list.scroll_top();
    let children = list.children();
    (0..children.length())
        .filter_map(|i| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(children.item(i)?).ok())
        .find(|el| el.offset_top() + el.offset_height() > top && el.dataset().get("seq").is_some())
        .and_then(|el| Some((el.dataset().get("seq")?.parse().ok()?, el.offset_top() - top)))
}
