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
            autocomplete="current-password"
            prop:value=move || value.get()
            on:input=move |ev| value.set(event_target_value(&ev))
        />
    }
}
