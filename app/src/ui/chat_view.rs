//! The chat view: messages, members, the composer, and the transport switcher with live latency figures.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use super::chat::{ChatState, Status, median_p99, now_ms};
use super::connection::{self, Inputs};
use super::game::GamePanel;
use super::link::Transport;
use super::members::{Members, TypingLine, WhisperTarget};
use super::text_input::TextInput;
use super::toast::Toasts;
use super::{SessionCtx, api};
use crate::game::Game;
use crate::wire::{ClientFrame, GameView};

/// A TYPING frame goes out at most this often while the player types, in ms.
const TYPING_EVERY_MS: f64 = 2_000.0;

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
    let title = RwSignal::new(String::from("Room"));
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
    {
        let (token, room_id) = (me.access_token.clone(), room_id.clone());
        spawn_local(async move {
            if let Ok(rooms) = api::rooms(&token).await
                && let Some(r) = rooms.into_iter().find(|r| r.room_id.0 == room_id)
            {
                title.try_set(r.name);
            }
        });
    }
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
    let draft = RwSignal::new(String::new());
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
    Effect::new(move |_| {
        state.lines.track();
        if let Some(el) = list.get() {
            el.set_scroll_top(el.scroll_height());
        }
    });
    let status_text = move || match state.status.get() {
        Status::Connecting => "Connecting…",
        Status::Connected => "Connected",
        Status::Reconnecting => "Reconnecting…",
        Status::Offline => "Offline",
    };
    view! {
        <section class="card chat">
            <div class="row">
                <a class="link" href="/">"← Rooms"</a>
                <h1 data-testid="room-title">{move || title.get()}</h1>
                <span
                    class="status"
                    class:live=move || state.status.get() == Status::Connected
                    data-testid="status"
                >
                    {status_text}
                </span>
            </div>
            <Show when=move || setup.with(Option::is_some)>
                <GamePanel state setup room_id=room_id.clone() send=send_frame />
            </Show>
            <Switcher state switch />
            <div class="room-body">
                <ol class="messages" node_ref=list data-testid="messages">
                    <For each=move || state.lines.get() key=|l| l.seq let:line>
                        <li
                            class="message"
                            class:own=line.own
                            class:system=line.system
                            class:whisper=line.whisper.is_some()
                            data-testid=if line.system { "system-line" } else { "message" }
                            data-seq=line.seq
                        >
                            <span class="time">{line.time.clone()}</span>
                            <Show when=move || !line.system>
                                <span class="who">{line.who.clone()}</span>
                            </Show>
                            {line.whisper.clone().map(|w| view! { <span class="whisper-tag">{format!("whisper {w}")}</span> })}
                            <span class="text">{line.text.clone()}</span>
                        </li>
                    </For>
                </ol>
                <Members state />
            </div>
            <TypingLine state />
            <Show when=move || state.notice.with(Option::is_some)>
                <p class="error" role="alert" on:click=move |_| state.notice.set(None)>
                    {move || state.notice.get()}
                </p>
            </Show>
            <WhisperTarget state />
            <form class="row composer" on:submit=send on:input=move |_| typed()>
                <TextInput value=draft testid="message-input" placeholder="Say something…" maxlength=2000 />
                <button data-testid="send-button" type="submit">"Send"</button>
            </form>
        </section>
    }
    .into_any()
}

/// The transport buttons, and per transport the echo latency of one's own messages.
#[component]
fn Switcher(state: ChatState, switch: impl Fn(Transport) + Copy + Send + Sync + 'static) -> impl IntoView {
    let figure = move |t: Transport| {
        let l = state.latency.read();
        let samples = &l[t.index()];
        match median_p99(samples) {
            Some((median, p99)) => format!("{median:.0} ms · p99 {p99:.0} ms · n={}", samples.len()),
            None => "no samples yet".to_owned(),
        }
    };
    view! {
        <div class="switcher" data-testid="switcher">
            <div class="row transports" role="group" aria-label="Transport">
                {Transport::ALL
                    .into_iter()
                    .map(|t| {
                        let active = move || state.transport.get() == t;
                        view! {
                            <button
                                type="button"
                                class="transport"
                                class:active=active
                                aria-pressed=move || active().to_string()
                                data-testid=format!("transport-{}", t.id())
                                on:click=move |_| switch(t)
                            >
                                {t.label()}
                            </button>
                        }
                    })
                    .collect_view()}
                <span class="active-transport" data-testid="active-transport">
                    {move || state.transport.get().label()}
                </span>
            </div>
            <table class="latency">
                <caption>"Echo latency of your messages (median · p99)"</caption>
                <tbody>
                    {Transport::ALL
                        .into_iter()
                        .map(|t| {
                            view! {
                                <tr class:active=move || state.transport.get() == t>
                                    <th scope="row">{t.label()}</th>
                                    <td data-testid=format!("latency-{}", t.id())>{move || figure(t)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
