//! The room list with online counts, and the form to create a room.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;

use super::text_input::TextInput;
use super::toast::Toasts;
use super::{SessionCtx, api};
use crate::wire::{ErrorBody, RoomSummary};

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
            match api::create_room(&token(), name.get_untracked(), Some(capacity.get_untracked())).await {
                Ok(room) => navigate(&format!("/rooms/{}", room.room_id), Default::default()),
                Err(e) => fail(e),
            }
        });
    };
    view! {
        <section class="card rooms">
            <div class="row">
                <h1>"Rooms"</h1>
                <button class="link" on:click=move |_| load()>"Refresh"</button>
            </div>
            <ul class="room-list">
                <For each=move || rooms.get() key=|r| r.room_id.clone() let:room>
                    <li>
                        <a data-testid="room-link" href=format!("/rooms/{}", room.room_id)>{room.name.clone()}</a>
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
                <button data-testid="create-room-button" type="submit">"Create"</button>
            </form>
        </section>
    }
}
