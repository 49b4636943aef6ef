//! Guest login: pick a nickname, get a token.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::text_input::TextInput;
use super::{SessionCtx, api};

/// The nickname form shown until the player is signed in.
#[component]
pub fn Login() -> impl IntoView {
    let session = expect_context::<SessionCtx>();
    let nickname = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        spawn_local(async move {
            match api::guest_login(nickname.get_untracked()).await {
                Ok(s) => session.0.set(Some(s)),
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card login">
            <h1>"Enter the dungeon"</h1>
            <p class="hint">"Pick a nickname to play as a guest."</p>
            <form on:submit=submit>
                <TextInput value=nickname testid="nickname-input" placeholder="Nickname" maxlength=20 />
                <button data-testid="login-button" type="submit" disabled=move || busy.get()>"Enter"</button>
            </form>
            <Show when=move || error.with(Option::is_some)>
                <p class="error" role="alert">{move || error.get()}</p>
            </Show>
        </section>
    }
}
