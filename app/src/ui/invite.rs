//! Inviting someone into a private room by name (a login name, or the nickname of someone in a
//! room now).

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::SessionCtx;
use super::text_input::TextInput;
use super::toast::Toasts;
use crate::fns::invite_by_name;
use crate::wire::RoomId;

/// The invite form of a private room.
#[component]
pub fn InviteForm(room_id: RoomId) -> impl IntoView {
    let session = expect_context::<SessionCtx>();
    let toasts = expect_context::<Toasts>();
    let name = RwSignal::new(String::new());
    let room_id = StoredValue::new(room_id);
    let invite = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let who = name.get_untracked().trim().to_owned();
        if who.is_empty() {
            return;
        }
        let token = session.token();
        spawn_local(async move {
            match invite_by_name(token, room_id.get_value(), who.clone()).await {
                Ok(done) => {
                    name.set(String::new());
                    let told = if done.delivered { " and was told" } else { "; they will see it in their room list" };
                    toasts.news(format!("{who} may enter now{told}."));
                }
                Err(e) if super::api::is_auth_error(&e.0) => session.token_refused(&e.0),
                Err(e) => toasts.show(e.0),
            }
        });
    };
    view! {
        <form class="invite" on:submit=invite data-testid="invite-form">
            <h2>"Invite"</h2>
            <div class="row">
                <TextInput value=name testid="invite-input" placeholder="Name to invite" maxlength=32 />
                <button type="submit" data-testid="invite-button">"Invite"</button>
            </div>
        </form>
    }
}
