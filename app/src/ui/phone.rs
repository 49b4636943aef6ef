//! What the chat needs on a phone: the panels that become drawers (their buttons, the focus
//! moving in and back), and the chat's height following the visual viewport.

use leptos::prelude::*;

/// The panels a phone shows as drawers over the conversation (beside it on a wide screen).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    Members,
    Transport,
}

impl Panel {
    /// The drawer's test id.
    pub fn drawer(self) -> &'static str {
        match self {
            Panel::Members => "members-drawer",
            Panel::Transport => "transport-drawer",
        }
    }

    /// The test id of the button that opens it.
    pub fn toggle(self) -> &'static str {
        match self {
            Panel::Members => "open-members",
            Panel::Transport => "open-transport",
        }
    }
}

/// The header button that opens one panel as a drawer on a phone (or closes it again).
#[component]
pub fn DrawerToggle(panel: RwSignal<Option<Panel>>, which: Panel, children: Children) -> impl IntoView {
    view! {
        <button
            type="button"
            class="drawer-toggle"
            data-testid=which.toggle()
            aria-expanded=move || (panel.get() == Some(which)).to_string()
            on:click=move |_| panel.update(|open| *open = if *open == Some(which) { None } else { Some(which) })
        >
            {children()}
        </button>
    }
}

/// Focus goes into a drawer as it opens and back to its button as it closes.
pub fn move_focus_with(panel: RwSignal<Option<Panel>>) {
    Effect::new(move |was: Option<Option<Panel>>| {
        let now = panel.get();
        let target = match (was.flatten(), now) {
            (_, Some(p)) => format!("[data-testid={}] .drawer-close", p.drawer()),
            (Some(p), None) => format!("[data-testid={}]", p.toggle()),
            (None, None) => return now,
        };
        // After this change has reached the page (a hidden drawer's button takes no focus).
        request_animation_frame(move || {
            let found = document().query_selector(&target).ok().flatten();
            if let Some(el) = found.and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok()) {
                let _ = el.focus();
            }
        });
        now
    });
}

/// On a phone the on-screen keyboard shrinks the visual viewport: the chat takes its height
/// (the `--vvh` CSS variable) so the composer stays above the keyboard.
pub fn follow_viewport() {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    let fit = || {
        let height = window().visual_viewport().map(|v| v.height());
        let root = document().document_element().and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        if let (Some(h), Some(root)) = (height, root) {
            let _ = root.style().set_property("--vvh", &format!("{h}px"));
        }
    };
    fit();
    let Some(viewport) = window().visual_viewport() else { return };
    let listener = Closure::<dyn FnMut()>::new(fit);
    let _ = viewport.add_event_listener_with_callback("resize", listener.as_ref().unchecked_ref());
    let listener = StoredValue::new_local(Some(listener));
    on_cleanup(move || {
        if let (Some(Some(l)), Some(v)) = (listener.try_update_value(Option::take), window().visual_viewport()) {
            let _ = v.remove_event_listener_with_callback("resize", l.as_ref().unchecked_ref());
        }
    });
}
