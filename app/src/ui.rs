//! The browser UI: guest login, the room list, and the live chat view.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

mod api;
mod chat;
mod chat_view;
mod connection;
mod link;
mod login;
mod rooms;
mod text_input;

use crate::wire::Session;

/// The signed-in session (`None` before login), shared through context.
#[derive(Clone, Copy)]
pub struct SessionCtx(pub RwSignal<Option<Session>>);

impl SessionCtx {
    /// Forgets the session here and in local storage (sign out, or the token was refused).
    pub fn sign_out(&self) {
        api::forget_session();
        self.0.set(None);
    }
}

/// The whole app: the login page until signed in, then the rooms and chat routes.
#[component]
pub fn App() -> impl IntoView {
    let session = SessionCtx(RwSignal::new(api::saved_session()));
    provide_context(session);
    view! {
        <Router>
            <header class="topbar">
                <a class="brand" href="/">"DungeonTalk"</a>
                <Show when=move || session.0.with(Option::is_some)>
                    <span class="me" data-testid="me">
                        {move || session.0.with(|s| s.as_ref().map(|s| s.nickname.clone()))}
                    </span>
                    <button class="link" on:click=move |_| session.sign_out()>"Sign out"</button>
                </Show>
            </header>
            <main>
                <Show when=move || session.0.with(Option::is_some) fallback=login::Login>
                    <Routes fallback=|| view! { <p class="empty">"Nothing here."</p> }>
                        <Route path=path!("/") view=rooms::RoomList />
                        <Route path=path!("/rooms/:id") view=chat::ChatRoom />
                    </Routes>
                </Show>
            </main>
        </Router>
    }
}
