//! The chat view: live messages in seq order, own messages marked, connection status.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;

use super::text_input::TextInput;
use super::{SessionCtx, api, connection};
use crate::wire::{ClientFrame, ErrorBody, MemberId, ServerFrame};

/// The link's state as the status badge shows it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Status {
    Connecting,
    Connected,
    Reconnecting,
    /// Refused for good (bad token, no such room): no more retries.
    Offline,
}

/// One line of the conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub seq: u64,
    pub own: bool,
    pub who: String,
    pub text: String,
    pub time: String,
    pub system: bool,
}

/// The view's signals, shared with the connection task (all `Copy`).
#[derive(Clone, Copy)]
pub struct ChatState {
    lines: RwSignal<Vec<Line>>,
    last_seq: RwSignal<u64>,
    status: RwSignal<Status>,
    notice: RwSignal<Option<String>>,
    session: SessionCtx,
    me: StoredValue<MemberId>,
}

fn clock(rfc3339: &str) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(rfc3339));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

impl ChatState {
    /// The highest seq shown so far (0 before any).
    pub fn last_seq(&self) -> u64 {
        self.last_seq.try_get_untracked().unwrap_or(0)
    }

    /// Shows the link's status.
    pub fn set_status(&self, status: Status) {
        self.status.try_set(status);
    }

    /// Stops for good with the server's reason; an auth error signs the player out.
    pub fn fail(&self, e: ErrorBody) {
        self.status.try_set(Status::Offline);
        if api::is_auth_error(&e) {
            self.session.sign_out();
        }
        self.notice.try_set(Some(e.message));
    }

    /// Applies a server frame and tells the connection what to do next.
    pub fn apply(&self, text: &str) -> Next {
        let Ok(frame) = serde_json::from_str::<ServerFrame>(text) else { return Next::Continue };
        let me = self.me.try_get_value();
        let line = match frame {
            ServerFrame::Talk(t) => Line {
                seq: t.seq,
                own: me.as_ref() == Some(&t.sender_id),
                who: t.sender_nickname,
                text: t.content,
                time: clock(&t.created_at),
                system: false,
            },
            ServerFrame::Join(m) => system_line(m.seq, format!("{} joined", m.nickname), &m.created_at),
            ServerFrame::Leave(m) => system_line(m.seq, format!("{} left", m.nickname), &m.created_at),
            ServerFrame::Error { message, .. } => {
                self.notice.try_set(Some(message));
                return Next::Continue;
            }
            ServerFrame::Connected { .. } => {
                self.set_status(Status::Connected);
                return Next::Connected;
            }
            ServerFrame::Resync { .. } => return Next::Resume,
            ServerFrame::Ack { .. } => return Next::Continue,
        };
        // Seq order is the truth: anything at or below the last seq shown is a duplicate.
        if line.seq > self.last_seq() {
            self.last_seq.try_set(line.seq);
            self.lines.try_update(|l| l.push(line));
        }
        Next::Continue
    }
}

/// What the connection does after a frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Next {
    Continue,
    /// The server accepted the handshake.
    Connected,
    /// The server sent RESYNC: reconnect and resume from the last seq shown.
    Resume,
}

fn system_line(seq: u64, text: String, created_at: &str) -> Line {
    Line { seq, own: false, who: String::new(), text, time: clock(created_at), system: true }
}

/// The route `/rooms/:id`: a fresh chat view per room.
#[component]
pub fn ChatRoom() -> impl IntoView {
    let params = use_params_map();
    move || {
        let room_id = params.read().get("id").unwrap_or_default();
        view! { <ChatView room_id /> }
    }
}

#[component]
fn ChatView(room_id: String) -> impl IntoView {
    let session = expect_context::<SessionCtx>();
    let Some(me) = session.0.get_untracked() else { return ().into_any() };
    let state = ChatState {
        lines: RwSignal::new(Vec::new()),
        last_seq: RwSignal::new(0),
        status: RwSignal::new(Status::Connecting),
        notice: RwSignal::new(None),
        session,
        me: StoredValue::new(me.member_id.clone()),
    };
    let title = RwSignal::new(String::from("Room"));
    let (tx, rx) = futures::channel::mpsc::unbounded::<ClientFrame>();
    let outbox = StoredValue::new(Some(tx));
    let stop = Arc::new(AtomicBool::new(false));
    spawn_local(connection::run(room_id.clone(), me.access_token.clone(), rx, state, stop.clone()));
    on_cleanup(move || {
        stop.store(true, Ordering::Relaxed);
        outbox.try_update_value(|o| *o = None);
    });
    {
        let (token, room_id) = (me.access_token.clone(), room_id.clone());
        spawn_local(async move {
            if let Ok(rooms) = api::rooms(&token).await
                && let Some(r) = rooms.into_iter().find(|r| r.room_id.0 == room_id)
            {
                title.try_set(r.name);
            }
        });
    }
    let draft = RwSignal::new(String::new());
    let send = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let content = draft.get_untracked();
        if content.trim().is_empty() {
            return;
        }
        let frame = ClientFrame::Talk { content, message_id: None, receiver_id: None };
        outbox.with_value(|o| o.as_ref().map(|tx| tx.unbounded_send(frame)));
        draft.set(String::new());
    };
    let list = NodeRef::<leptos::html::Ol>::new();
    Effect::new(move |_| {
        state.lines.track();
        if let Some(el) = list.get() {
            el.set_scroll_top(el.scroll_height());
        }
    });
    let status_text = move || match state.status.get() {
        Status::Connecting => "Connecting…",
        Status::Connected => "Connected",
        Status::Reconnecting => "Reconnecting…",
        Status::Offline => "Offline",
    };
    view! {
        <section class="card chat">
            <div class="row">
                <a class="link" href="/">"← Rooms"</a>
                <h1 data-testid="room-title">{move || title.get()}</h1>
                <span
                    class="status"
                    class:live=move || state.status.get() == Status::Connected
                    data-testid="status"
                >
                    {status_text}
                </span>
            </div>
            <ol class="messages" node_ref=list data-testid="messages">
                <For each=move || state.lines.get() key=|l| l.seq let:line>
                    <li
                        class="message"
                        class:own=line.own
                        class:system=line.system
                        data-testid=if line.system { "system-line" } else { "message" }
                        data-seq=line.seq
                    >
                        <span class="time">{line.time.clone()}</span>
                        <Show when=move || !line.system>
                            <span class="who">{line.who.clone()}</span>
                        </Show>
                        <span class="text">{line.text.clone()}</span>
                    </li>
                </For>
            </ol>
            <Show when=move || state.notice.with(Option::is_some)>
                <p class="error" role="alert" on:click=move |_| state.notice.set(None)>
                    {move || state.notice.get()}
                </p>
            </Show>
            <form class="row composer" on:submit=send>
                <TextInput value=draft testid="message-input" placeholder="Say something…" maxlength=2000 />
                <button data-testid="send-button" type="submit">"Send"</button>
            </form>
        </section>
    }
    .into_any()
}
