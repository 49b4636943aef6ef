//! "Find a game": pick a world and wait in the matching queue; when a party forms, go to its room.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;

use super::toast::Toasts;
use super::{SessionCtx, api};
use crate::wire::{ErrorCode, MatchStatus, WorldType};

/// How often a waiting player asks where they stand, in ms.
const POLL_MS: u64 = 2_000;

/// The queue's card on the room list.
#[component]
pub fn FindGame() -> impl IntoView {
    let session = expect_context::<SessionCtx>();
    let toasts = expect_context::<Toasts>();
    let world = RwSignal::new(WorldType::Fantasy);
    let status = RwSignal::new(None::<MatchStatus>);
    let navigate = use_navigate();
    let arrived = move |s: MatchStatus| match s.room_id.clone() {
        Some(room) => {
            status.set(None);
            navigate(&format!("/rooms/{room}"), Default::default());
        }
        None => status.set(Some(s)),
    };
    // Where this player stands: on arrival only a wait in progress shows (an earlier match is
    // not a reason to leave the list); while waiting, a match takes them to the party's room.
    let ask = {
        let arrived = arrived.clone();
        move |waiting: bool| {
            let arrived = arrived.clone();
            spawn_local(async move {
                match api::match_status(&session.token()).await {
                    Ok(s) if s.room_id.is_none() || waiting => arrived(s),
                    Err(e) if e.code == ErrorCode::NotQueued => status.set(None),
                    _ => {}
                }
            })
        }
    };
    ask(false);
    {
        let ask = ask.clone();
        let poll = move || {
            if status.with_untracked(Option::is_some) {
                ask(true)
            }
        };
        if let Ok(timer) = set_interval_with_handle(poll, std::time::Duration::from_millis(POLL_MS)) {
            on_cleanup(move || timer.clear());
        }
    }
    let find = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let arrived = arrived.clone();
        spawn_local(async move {
            match api::find_game(&session.token(), world.get_untracked()).await {
                Ok(s) => arrived(s),
                Err(e) => toasts.show(e),
            }
        });
    };
    let cancel = move |_| {
        spawn_local(async move {
            if let Err(e) = api::stop_finding(&session.token()).await {
                toasts.show(e);
            }
            status.set(None);
        });
    };
    view! {
        <section class="card find-game" aria-labelledby="find-game-title">
            <h2 id="find-game-title">"Find a game"</h2>
            <Show
                when=move || status.with(Option::is_some)
                fallback=move || {
                    let find = find.clone();
                    view! {
                        <form class="row" on:submit=find>
                            <label for="find-world">"World"</label>
                            <select
                                id="find-world"
                                data-testid="find-world"
                                on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    world.set(WorldType::ALL.into_iter().find(|w| w.as_str() == v).unwrap_or_default());
                                }
                            >
                                {WorldType::ALL
                                    .into_iter()
                                    .map(|w| view! { <option value=w.as_str()>{w.label()}</option> })
                                    .collect_view()}
                            </select>
                            <button type="submit" data-testid="find-game-button">"Find a game"</button>
                        </form>
                    }
                }
            >
                <p class="row" role="status" data-testid="find-status">
                    {move || {
                        status.get().map(|s| {
                            format!("Waiting for a {} party: {} of {} here…", s.world_type.label(), s.waiting, s.size)
                        })
                    }}
                    <button type="button" class="link" data-testid="find-cancel" on:click=cancel>"Cancel"</button>
                </p>
            </Show>
        </section>
    }
}
