//! Text fields bound both ways to a signal.

use leptos::prelude::*;

/// An `<input>` showing `value` and writing every keystroke back to it.
#[component]
pub fn TextInput(
    value: RwSignal<String>,
    testid: &'static str,
    placeholder: &'static str,
    maxlength: u32,
) -> impl IntoView {
    view! {
        <input
            data-testid=testid
            placeholder=placeholder
            aria-label=placeholder.trim_end_matches('…')
            maxlength=maxlength.to_string()
            prop:value=move || value.get()
            on:input=move |ev| value.set(event_target_value(&ev))
        />
    }
}

/// A password field bound to `value`.
#[component]
pub fn PasswordInput(value: RwSignal<String>, testid: &'static str) -> impl IntoView {
    view! {
        <input
            type="password"
            data-testid=testid
            placeholder="Password"
            aria-label="Password"
            autocomplete="current-password"
            prop:value=move || value.get()
            on:input=move |ev| value.set(event_target_value(&ev))
        />
    }
}

/// The message composer: several lines; Enter sends (the form's submit), Shift+Enter starts a new
/// line, and so does Enter while an input method is composing a character.
#[component]
pub fn Composer(
    value: RwSignal<String>,
    testid: &'static str,
    placeholder: &'static str,
    maxlength: u32,
) -> impl IntoView {
    let area = NodeRef::<leptos::html::Textarea>::new();
    let keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            if let Some(form) = area.get_untracked().and_then(|a| a.form()) {
                let _ = form.request_submit();
            }
        }
    };
    view! {
        <textarea
            node_ref=area
            class="composer-text"
            rows="1"
            data-testid=testid
            placeholder=placeholder
            aria-label=placeholder.trim_end_matches('…')
            maxlength=maxlength.to_string()
            prop:value=move || value.get()
            on:input=move |ev| value.set(event_target_value(&ev))
            on:keydown=keydown
        ></textarea>
    }
}
