//! The room list (online counts, what is new for the player, each room's last line) and the
//! form to create a room.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;

use super::find_game::FindGame;
use super::text_input::TextInput;
use super::toast::Toasts;
use super::unread::UnreadCtx;
use super::{SessionCtx, api};
use crate::unread::{badge, label};
use crate::wire::{ErrorBody, RoomActivity, RoomType, WorldType};

/// The capacities the create form offers (0 = unlimited); the first is the default.
const CAPACITIES: [u32; 5] = [3, 2, 5, 10, 0];

/// Lists rooms with live online counts; creating one enters it.
#[component]
pub fn RoomList() -> impl IntoView {
    let session = expect_context::<SessionCtx>();
    let unread = expect_context::<UnreadCtx>();
    let toasts = expect_context::<Toasts>();
    let name = RwSignal::new(String::new());
    let capacity = RwSignal::new(CAPACITIES[0]);
    // A game instead of a chat room: its world, and players from 1 to 5.
    let game = RwSignal::new(false);
    let world = RwSignal::new(WorldType::Fantasy);
    let players = RwSignal::new(3u32);
    let private = RwSignal::new(false);
    let token = move || session.token();
    let fail = move |e: ErrorBody| {
        if api::is_auth_error(&e) {
            session.token_refused(&e);
        } else {
            toasts.show(e);
        }
    };
    // The counts refresh on their own (every few seconds); entering the list asks at once.
    unread.refresh();
    let navigate = use_navigate();
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let navigate = navigate.clone();
        spawn_local(async move {
            let made = match game.get_untracked() {
                true => {
                    let (w, n, p) = (world.get_untracked(), players.get_untracked(), private.get_untracked());
                    api::create_game(&token(), name.get_untracked(), w, n, p).await.map(|g| g.room_id)
                }
                false => {
                    let (c, p) = (capacity.get_untracked(), private.get_untracked());
                    api::create_room(&token(), name.get_untracked(), Some(c), p).await.map(|r| r.room_id)
                }
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
                <button class="link" on:click=move |_| unread.refresh()>"Refresh"</button>
            </div>
            <ul class="room-list">
                <For each=move || unread.state.with(|u| u.rooms().to_vec()) key=|r| (r.room.room_id.clone(), r.head_seq, r.counts, r.room.connected_count) let:r>
                    <RoomEntry r />
                </For>
            </ul>
            <Show when=move || unread.state.with(|u| u.rooms().is_empty())>
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
                <label class="check">
                    <input type="checkbox" data-testid="room-private" prop:checked=private on:change=move |ev| private.set(event_target_checked(&ev)) />
                    "Private"
                </label>
                <button data-testid="create-room-button" type="submit">"Create"</button>
            </form>
        </section>
    }
}

/// One room in the list: its name (with what is new, for screen readers too), its badges, the
/// online count and its last line.
#[component]
fn RoomEntry(r: RoomActivity) -> impl IntoView {
    let name = label(&r.room.name, &r.counts);
    let count = badge(&r.counts);
    let c = r.counts;
    let unread = c.unread > 0 || c.more;
    let last = r.last.clone().map(|p| {
        let at = super::browser::clock(&p.created_at).1;
        view! {
            <span class="preview" data-testid="room-preview">
                <time>{at}</time>
                <b>{p.sender_nickname}": "</b>{p.text}
            </span>
        }
    });
    view! {
        <li class:unread=unread>
            <a data-testid="room-link" href=format!("/rooms/{}", r.room.room_id) aria-label=name>{r.room.name.clone()}</a>
            {count.map(|n| view! { <span class="badge unread-badge" data-testid="unread-badge" aria-hidden="true">{n}</span> })}
            {(c.mentions > 0).then(|| view! { <span class="badge mention-badge" data-testid="mention-badge" aria-hidden="true">"@"</span> })}
            {(c.whispers > 0).then(|| view! { <span class="badge whisper-badge" data-testid="whisper-badge" aria-hidden="true">"✉"</span> })}
            {r.room.private.then(|| view! { <span class="badge" data-testid="private-mark">"Private"</span> })}
            {(r.room.room_type == RoomType::Game).then(|| view! { <span class="badge game-badge" data-testid="game-mark">"Game"</span> })}
            <span class="count" data-testid="room-count">
                {format!("{} online", r.room.connected_count)}
                {(r.room.max_capacity > 0).then(|| format!(" · max {}", r.room.max_capacity))}
            </span>
            {last}
        </li>
    }
}
