//! The room list with online counts, and the form to create a room.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;

use super::find_game::FindGame;
use super::text_input::TextInput;
use super::toast::Toasts;
use super::{SessionCtx, api};
use crate::wire::{ErrorBody, RoomSummary, RoomType, WorldType};

/// How often the list refreshes its online counts, in ms.
const REFRESH_MS: u64 = 5_000;
/// The capacities the create form offers (0 = unlimited); the first is the default.
const CAPACITIES: [u32; 5] = [3, 2, 5, 10, 0];

/// Lists rooms with live online counts; creating one enters it.
#[component]
pub fn RoomList() -> impl IntoView {
    let session = expect_context::<SessionCtx>();
    let rooms = RwSignal::new(Vec::<RoomSummary>::new());
    let toasts = expect_context::<Toasts>();
    let name = RwSignal::new(String::new());
    let capacity = RwSignal::new(CAPACITIES[0]);
    // A game instead of a chat room: its world, and players from 1 to 5.
    let game = RwSignal::new(false);
    let world = RwSignal::new(WorldType::Fantasy);
    let players = RwSignal::new(3u32);
    let token = move || session.token();
    let fail = move |e: ErrorBody| {
        if api::is_auth_error(&e) {
            session.token_refused(&e);
        } else {
            toasts.show(e);
        }
    };
    let load = move || {
        spawn_local(async move {
            match api::rooms(&token()).await {
                Ok(list) => rooms.set(list),
                Err(e) => fail(e),
            }
        })
    };
    load();
    if let Ok(timer) = set_interval_with_handle(load, std::time::Duration::from_millis(REFRESH_MS)) {
        on_cleanup(move || timer.clear());
    }
    let navigate = use_navigate();
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let navigate = navigate.clone();
        spawn_local(async move {
            let made = match game.get_untracked() {
                true => {
                    api::create_game(&token(), name.get_untracked(), world.get_untracked(), players.get_untracked())
                        .await
                        .map(|g| g.room_id)
                }
                false => api::create_room(&token(), name.get_untracked(), Some(capacity.get_untracked()))
                    .await
                    .map(|r| r.room_id),
            };
            match made {
                Ok(room_id) => navigate(&format!("/rooms/{room_id}"), Default::default()),
                Err(e) => fail(e),
            }
        });
    };
    view! {
        <FindGame />
        <section class="card rooms">
            <div class="row">
                <h1>"Rooms"</h1>
                <button class="link" on:click=move |_| load()>"Refresh"</button>
            </div>
            <ul class="room-list">
                <For each=move || rooms.get() key=|r| r.room_id.clone() let:room>
                    <li>
                        <a data-testid="room-link" href=format!("/rooms/{}", room.room_id)>{room.name.clone()}</a>
                        {(room.room_type == RoomType::Game).then(|| view! { <span class="badge game-badge" data-testid="game-mark">"Game"</span> })}
                        <span class="count" data-testid="room-count">
                            {format!("{} online", room.connected_count)}
                            {(room.max_capacity > 0).then(|| format!(" · max {}", room.max_capacity))}
                        </span>
                    </li>
                </For>
            </ul>
            <Show when=move || rooms.with(Vec::is_empty)>
                <p class="empty">"No rooms yet: create the first one."</p>
            </Show>
            <form class="row" on:submit=create>
                <TextInput value=name testid="room-name-input" placeholder="New room name" maxlength=60 />
                <select
                    data-testid="room-type"
                    aria-label="Kind of room"
                    on:change=move |ev| game.set(event_target_value(&ev) == "game")
                >
                    <option value="chat">"Chat room"</option>
                    <option value="game">"Game"</option>
                </select>
                <Show
                    when=move || game.get()
                    fallback=move || view! {
                    <select
                        data-testid="room-capacity"
                        aria-label="Capacity"
                        on:change=move |ev| capacity.set(event_target_value(&ev).parse().unwrap_or(CAPACITIES[0]))
                    >
                        {CAPACITIES
                            .into_iter()
                            .map(|c| {
                                let label = if c == 0 { "no limit".to_owned() } else { format!("{c} players") };
                                view! { <option value=c.to_string()>{label}</option> }
                            })
                            .collect_view()}
                    </select>
                    }
                >
                    <select
                        data-testid="game-world"
                        aria-label="World"
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            world.set(WorldType::ALL.into_iter().find(|w| w.as_str() == v).unwrap_or_default());
                        }
                    >
                        {WorldType::ALL.into_iter().map(|w| view! { <option value=w.as_str()>{w.label()}</option> }).collect_view()}
                    </select>
                    <select
                        data-testid="game-players"
                        aria-label="Players"
                        on:change=move |ev| players.set(event_target_value(&ev).parse().unwrap_or(3))
                    >
                        {[3u32, 1, 2, 4, 5].into_iter().map(|n| view! { <option value=n.to_string()>{format!("{n} players")}</option> }).collect_view()}
                    </select>
                </Show>
                <button data-testid="create-room-button" type="submit">"Create"</button>
            </form>
        </section>
    }
}
