//! Error toasts: any view reports a `{code, message}`; it shows for a while, or until dismissed
//! (its × button, Escape, or a click on it). A new session starts with none.

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::wire::{ErrorBody, ErrorCode};

/// How long a toast stays up, in milliseconds.
const TOAST_MS: u32 = 6_000;
/// Most toasts shown at once (the oldest goes first).
const MAX_TOASTS: usize = 4;

#[derive(Clone, Debug, PartialEq)]
struct Toast {
    id: u64,
    /// `None` for news (a mention, an invitation) rather than an error.
    code: Option<ErrorCode>,
    message: String,
}

/// The toast list, shared through context.
#[derive(Clone, Copy)]
pub struct Toasts {
    list: RwSignal<Vec<Toast>>,
    next: StoredValue<u64>,
}

impl Toasts {
    /// An empty list.
    pub fn new() -> Toasts {
        Toasts { list: RwSignal::new(Vec::new()), next: StoredValue::new(0) }
    }

    /// Shows an error (or a warning) with its code; a repeat of the newest one is not stacked.
    pub fn show(&self, e: ErrorBody) {
        self.push(Some(e.code), e.message);
    }

    /// Shows a piece of news (no error code).
    pub fn news(&self, message: String) {
        self.push(None, message);
    }

    fn push(&self, code: Option<ErrorCode>, message: String) {
        let id = self.next.try_update_value(|n| std::mem::replace(n, *n + 1)).unwrap_or_default();
        let list = self.list;
        let repeat = list.try_with_untracked(|l| l.last().is_some_and(|t| t.message == message)).unwrap_or(false);
        if repeat {
            return;
        }
        list.try_update(|l| {
            l.push(Toast { id, code, message });
            if l.len() > MAX_TOASTS {
                l.remove(0);
            }
        });
        spawn_local(async move {
            TimeoutFuture::new(TOAST_MS).await;
            list.try_update(|l| l.retain(|t| t.id != id));
        });
    }

    fn dismiss(&self, id: u64) {
        self.list.update(|l| l.retain(|t| t.id != id));
    }

    /// Drops every toast (a new sign-in: the last session's news is stale).
    pub fn clear(&self) {
        self.list.try_set(Vec::new());
    }

    /// Dismisses the newest toast; whether there was one.
    fn dismiss_newest(&self) -> bool {
        let newest = self.list.with_untracked(|l| l.last().map(|t| t.id));
        newest.inspect(|id| self.dismiss(*id)).is_some()
    }
}

/// The toast stack in the corner of the page.
#[component]
pub fn ToastStack() -> impl IntoView {
    let toasts = expect_context::<Toasts>();
    // Escape closes the newest toast, wherever the focus is.
    let keys = window_event_listener(leptos::ev::keydown, move |e| {
        if e.key() == "Escape" && toasts.dismiss_newest() {
            e.prevent_default();
        }
    });
    on_cleanup(move || keys.remove());
    view! {
        <div class="toasts" aria-live="polite">
            <For each=move || toasts.list.get() key=|t| t.id let:toast>
                <div
                    class="toast"
                    class:warning=toast.code.is_some_and(|c| c.http_status() < 400)
                    class:news=toast.code.is_none()
                    role="alert"
                    data-testid="toast"
                    data-code=toast.code.map(ErrorCode::as_str)
                    on:click=move |_| toasts.dismiss(toast.id)
                >
                    <span class="toast-text">{toast.message.clone()}</span>
                    <button
                        type="button"
                        class="toast-close"
                        aria-label="Dismiss"
                        data-testid="toast-close"
                        on:click=move |e| {
                            e.stop_propagation();
                            toasts.dismiss(toast.id);
                        }
                    >
                        "×"
                    </button>
                </div>
            </For>
        </div>
    }
}
