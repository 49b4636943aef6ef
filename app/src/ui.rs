//! The browser UI: sign-in (guest, log in, register), the room list, and the live chat view.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

mod api;
mod browser;
mod chat;
mod chat_view;
mod connection;
mod find_game;
mod game;
mod invite;
mod link;
mod login;
mod measure;
mod members;
mod news;
mod notify;
mod ops;
mod phone;
mod rooms;
mod row;
mod switcher;
mod text_input;
mod toast;
mod unread;

use crate::wire::Session;
use toast::{ToastStack, Toasts};

/// The signed-in session (`None` before login), shared through context.
#[derive(Clone, Copy)]
pub struct SessionCtx(pub RwSignal<Option<Session>>);

impl SessionCtx {
    /// Forgets the session here and in local storage (the token was refused).
    pub fn sign_out(&self) {
        api::forget_session();
        self.0.try_set(None);
    }

    /// Logs out on the server first (the token dies there), then forgets it here.
    pub fn log_out(&self) {
        let this = *self;
        let token = self.token();
        spawn_local(async move {
            // Even if the server cannot be reached, the page forgets the session.
            let _ = api::logout(&token).await;
            this.sign_out();
        });
    }

    /// A request was refused for its token: renew an expired one, otherwise sign out.
    pub fn token_refused(&self, e: &crate::wire::ErrorBody) {
        let this = *self;
        if e.code != crate::wire::ErrorCode::TokenExpired {
            return this.sign_out();
        }
        spawn_local(async move {
            if this.renew().await.is_none() {
                this.sign_out();
            }
        });
    }

    /// The current access token ("" when signed out).
    pub fn token(&self) -> String {
        self.0.try_with_untracked(|s| s.as_ref().map(|s| s.access_token.clone())).flatten().unwrap_or_default()
    }

    /// The signed-in member's id ("" when signed out).
    pub fn member_id(&self) -> String {
        self.0.try_with_untracked(|s| s.as_ref().map(|s| s.member_id.0.clone())).flatten().unwrap_or_default()
    }

    /// Trades the refresh cookie for a fresh access token; `None` when that is not possible.
    pub async fn renew(&self) -> Option<String> {
        let session = api::refresh().await.ok()?;
        let token = session.access_token.clone();
        self.0.try_set(Some(session));
        Some(token)
    }
}

/// The whole app: the sign-in page until signed in, then the rooms and chat routes.
#[component]
pub fn App() -> impl IntoView {
    let session = SessionCtx(RwSignal::new(api::saved_session()));
    provide_context(session);
    let toasts = Toasts::new();
    provide_context(toasts);
    let unread = unread::follow(session);
    provide_context(unread);
    notify::follow(session, toasts, unread);
    // A new sign-in starts with no toasts of the last session.
    Effect::new(move |was_in: Option<bool>| {
        let signed_in = session.0.with(Option::is_some);
        if signed_in && was_in == Some(false) {
            toasts.clear();
        }
        signed_in
    });
    view! {
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <header class="topbar">
                <a class="brand" href="/">"DungeonTalk"</a>
                <Show when=move || session.0.with(Option::is_some)>
                    <span class="me" data-testid="me">
                        {move || session.0.with(|s| s.as_ref().map(|s| s.nickname.clone()))}
                    </span>
                    <a class="link" href="/measure" data-testid="measure-link">"Measure"</a>
                    <a class="link" href="/ops" data-testid="ops-link">"Cluster"</a>
                    <button class="link" data-testid="logout-button" on:click=move |_| session.log_out()>
                        "Log out"
                    </button>
                </Show>
            </header>
            <ToastStack />
            <main id="main" tabindex="-1">
                <Show when=move || session.0.with(Option::is_some) fallback=login::Login>
                    <Routes fallback=|| view! { <p class="empty">"Nothing here."</p> }>
                        <Route path=path!("/") view=rooms::RoomList />
                        <Route path=path!("/rooms/:id") view=chat::ChatRoom />
                        <Route path=path!("/measure") view=measure::MeasurePanel />
                        <Route path=path!("/ops") view=ops::OpsPanel />
                    </Routes>
                </Show>
            </main>
        </Router>
    }
}
