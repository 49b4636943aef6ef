//! Signing in: as a guest (a nickname), with an account (name + password), or a new account.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::text_input::{PasswordInput, TextInput};
use super::toast::Toasts;
use super::{SessionCtx, api};
use crate::wire::{ErrorBody, Register, Session};

/// Which form the page shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Guest,
    Login,
    Register,
}

impl Mode {
    const ALL: [Mode; 3] = [Mode::Guest, Mode::Login, Mode::Register];

    fn label(self) -> &'static str {
        match self {
            Mode::Guest => "Guest",
            Mode::Login => "Log in",
            Mode::Register => "Register",
        }
    }

    fn id(self) -> &'static str {
        match self {
            Mode::Guest => "guest",
            Mode::Login => "login",
            Mode::Register => "register",
        }
    }
}

/// The sign-in card shown until the player is signed in.
#[component]
pub fn Login() -> impl IntoView {
    let session = expect_context::<SessionCtx>();
    let toasts = expect_context::<Toasts>();
    let mode = RwSignal::new(Mode::Guest);
    let (name, nickname, password) =
        (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        let (name, nickname, password) = (name.get_untracked(), nickname.get_untracked(), password.get_untracked());
        spawn_local(async move {
            let signed_in: Result<Session, ErrorBody> = match mode.get_untracked() {
                Mode::Guest => api::guest_login(nickname).await,
                Mode::Login => api::login(name, password).await,
                Mode::Register => {
                    let req = Register { name: name.clone(), nickname, password: password.clone() };
                    match api::register(req).await {
                        Ok(_) => api::login(name, password).await,
                        Err(e) => Err(e),
                    }
                }
            };
            match signed_in {
                Ok(s) => {
                    session.0.set(Some(s));
                }
                Err(e) => toasts.show(e),
            }
            busy.set(false);
        });
    };
    let shows = move |m: &'static [Mode]| move || m.contains(&mode.get());
    view! {
        <section class="card login">
            <h1>"Enter the dungeon"</h1>
            <div class="row tabs" role="tablist">
                {Mode::ALL
                    .into_iter()
                    .map(|m| {
                        view! {
                            <button
                                type="button"
                                role="tab"
                                class="tab"
                                class:active=move || mode.get() == m
                                aria-selected=move || (mode.get() == m).to_string()
                                data-testid=format!("mode-{}", m.id())
                                on:click=move |_| mode.set(m)
                            >
                                {m.label()}
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
            <p class="hint">
                {move || match mode.get() {
                    Mode::Guest => "Pick a nickname to play as a guest.",
                    Mode::Login => "Log in with your account.",
                    Mode::Register => "Create an account: a login name, the nickname others see, a password.",
                }}
            </p>
            <form class="stack" on:submit=submit>
                <Show when=shows(&[Mode::Login, Mode::Register])>
                    <TextInput value=name testid="name-input" placeholder="Login name" maxlength=32 />
                </Show>
                <Show when=shows(&[Mode::Guest, Mode::Register])>
                    <TextInput value=nickname testid="nickname-input" placeholder="Nickname" maxlength=20 />
                </Show>
                <Show when=shows(&[Mode::Login, Mode::Register])>
                    <PasswordInput value=password testid="password-input" />
                </Show>
                <button data-testid="login-button" type="submit" disabled=move || busy.get()>
                    {move || match mode.get() {
                        Mode::Guest => "Enter",
                        Mode::Login => "Log in",
                        Mode::Register => "Register",
                    }}
                </button>
            </form>
        </section>
    }
}
