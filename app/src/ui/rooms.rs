//! The room list with online counts, and the form to create a room.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;

use super::text_input::TextInput;
use super::{SessionCtx, api};
use crate::wire::{ErrorBody, RoomSummary};

/// Lists rooms; creating one enters it.
#[component]
pub fn RoomList() -> impl IntoView {
    let session = expect_context::<SessionCtx>();
    let rooms = RwSignal::new(Vec::<RoomSummary>::new());
    let error = RwSignal::new(None::<String>);
    let name = RwSignal::new(String::new());
    let token = move || session.0.with_untracked(|s| s.as_ref().map(|s| s.access_token.clone())).unwrap_or_default();
    let fail = move |e: ErrorBody| {
        if api::is_auth_error(&e) {
            session.sign_out();
        } else {
            error.set(Some(e.message));
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
    let navigate = use_navigate();
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let navigate = navigate.clone();
        spawn_local(async move {
            match api::create_room(&token(), name.get_untracked()).await {
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
                        <span class="count">
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
                <button data-testid="create-room-button" type="submit">"Create"</button>
            </form>
            <Show when=move || error.with(Option::is_some)>
                <p class="error" role="alert">{move || error.get()}</p>
            </Show>
        </section>
    }
}
