//! The game screen's panel above a game room's messages: the turn and phase, who has moved, the
//! turn's timer, the narrator's text as it streams, the dice, the move box and the game's end.
//! It renders `ChatState::game`, the shared fold (`crate::game`) of the room's events.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::SessionCtx;
use super::api;
use super::browser::new_message_id;
use super::chat::ChatState;
use super::text_input::TextInput;
use crate::game::hints::{move_box, phase_text, seconds_left};
use crate::wire::{ClientFrame, Die, GameStatus, GameView};

/// The game panel of a game room.
#[component]
pub fn GamePanel(
    state: ChatState,
    setup: RwSignal<Option<GameView>>,
    room_id: String,
    send: impl Fn(ClientFrame) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let session = expect_context::<SessionCtx>();
    let room_id = StoredValue::new(room_id);
    let clock = RwSignal::new(js_sys::Date::now());
    if let Ok(timer) =
        set_interval_with_handle(move || clock.set(js_sys::Date::now()), std::time::Duration::from_millis(500))
    {
        on_cleanup(move || timer.clear());
    }
    let draft = RwSignal::new(String::new());
    let game = move || state.game.get().unwrap_or_default();
    let turns = move || setup.with(|s| s.as_ref().map_or(0, |v| v.turns));
    let boxed = move || move_box(&game(), &state.me.get_value());
    let act = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let content = draft.get_untracked();
        if content.trim().is_empty() || !boxed().enabled {
            return;
        }
        send(state.compose_move(ClientFrame::Action { content, message_id: Some(new_message_id()) }));
        draft.set(String::new());
    };
    let roll = move |die: Die| send(state.compose_move(ClientFrame::Roll { die, message_id: Some(new_message_id()) }));
    let control = move |what: &'static str| {
        let (token, room_id, toasts) = (session.token(), room_id.get_value(), state.toasts);
        spawn_local(async move {
            if let Err(e) = api::game_control(&token, &room_id, what).await {
                toasts.show(e);
            }
        });
    };
    let over = move || game().status == GameStatus::Completed;
    view! {
        <section class="game" data-testid="game-panel" aria-label="Game">
            <div class="row game-head">
                <span class="badge game-badge">{move || setup.with(|s| s.as_ref().map(|v| v.world_type.label()).unwrap_or("Game"))}</span>
                <strong data-testid="game-phase">{move || phase_text(&game(), turns())}</strong>
                <span class="timer" data-testid="game-timer" aria-live="off">
                    {move || seconds_left(&game(), clock.get()).map(|s| format!("{s} s left"))}
                </span>
            </div>
            <ul class="players" data-testid="game-players" aria-label="Players">
                {move || {
                    let g = game();
                    let turn = g.turn.max(1);
                    g.players
                        .iter()
                        .map(|p| {
                            let moved = g.has_moved(&p.member_id, turn);
                            let you = state.me.with_value(|me| p.member_id == *me);
                            view! {
                                <li class:moved=moved data-testid="game-player">
                                    {if moved { "✓ " } else { "… " }}
                                    {p.nickname.clone()}
                                    {you.then_some(" (you)")}
                                    <span class="sr-only">{if moved { " has moved" } else { " has not moved yet" }}</span>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
            <div class="narration" data-testid="narration" aria-live="polite">
                {move || {
                    let g = game();
                    match (&g.streaming, g.narrations.last(), &g.result) {
                        (Some(s), _, _) => view! { <p class="streaming" data-testid="narration-stream">{s.text.clone()}</p> }.into_any(),
                        (None, Some(n), _) => view! { <p data-testid="narration-text">{n.content.clone()}</p> }.into_any(),
                        (None, None, _) => view! { <p class="empty">"The game master waits for the party."</p> }.into_any(),
                    }
                }}
            </div>
            <Show when=over>
                <div class="game-end" data-testid="game-end" role="status">
                    <h2>{move || if game().result.as_ref().is_some_and(|r| r.1) { "The party won" } else { "The tale is over" }}</h2>
                    <p>{move || game().result.map(|r| r.0)}</p>
                </div>
            </Show>
            <Show when=move || !over()>
                <div class="game-moves">
                <form class="row move" on:submit=act>
                    <TextInput value=draft testid="action-input" placeholder="What do you do?" maxlength=500 />
                    <button type="submit" data-testid="action-button" disabled=move || !boxed().enabled>
                        {move || boxed().button}
                    </button>
                </form>
                <p class="hint" data-testid="action-hint">{move || boxed().label}</p>
                <div class="row dice" role="group" aria-label="Roll a die">
                    {Die::ALL
                        .into_iter()
                        .map(|die| view! {
                            <button type="button" class="die" data-testid=format!("roll-{}", die.as_str()) on:click=move |_| roll(die)>
                                {die.label()}
                            </button>
                        })
                        .collect_view()}
                </div>
                <div class="row controls">
                    {move || {
                        let g = game();
                        let buttons: &[(&str, &str)] = match g.status {
                            GameStatus::Created => &[("start", "Start the game")],
                            GameStatus::Active => &[("pause", "Pause"), ("end", "End the game")],
                            GameStatus::Paused => &[("resume", "Resume"), ("end", "End the game")],
                            GameStatus::Completed => &[],
                        };
                        buttons
                            .iter()
                            .map(|(what, label)| {
                                let what = *what;
                                view! {
                                    <button type="button" class="link" data-testid=format!("game-{what}") on:click=move |_| control(what)>
                                        {*label}
                                    </button>
                                }
                            })
                            .collect_view()
                    }}
                </div>
                </div>
            </Show>
        </section>
    }
}
