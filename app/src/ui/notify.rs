//! The member's notification stream (`/api/notifications/stream`): mentions, whispers and
//! invitations become toasts on whatever page the player is (not for the room in view, which
//! shows them), mentions and whispers count as unread at once, and a read mark moved in
//! another tab clears the count here.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use super::SessionCtx;
use super::toast::Toasts;
use super::unread::UnreadCtx;
use crate::unread::New;
use crate::wire::Notification;

/// One open stream; closing it (on drop) ends the browser's reconnects too.
struct Stream {
    source: web_sys::EventSource,
    _listeners: Vec<Closure<dyn FnMut(web_sys::Event)>>,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.source.close();
    }
}

/// Opens the member's stream: the token goes in the stream cookie, the URL names the member.
async fn open(token: String, member: String, toasts: Toasts, unread: UnreadCtx) -> Option<Stream> {
    super::api::stream_cookie(&token).await.ok()?;
    let url = format!("/api/notifications/stream?as={}", js_sys::encode_uri_component(&member));
    let source = web_sys::EventSource::new(&url).ok()?;
    let mut listeners = Vec::new();
    for name in ["mention", "whisper", "invitation", "matched", "read"] {
        let listener = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
            let data = ev.dyn_ref::<web_sys::MessageEvent>().and_then(|m| m.data().as_string());
            // The room in view shows its own lines: no toast for them.
            let in_view = |room: &crate::wire::RoomId| unread.state.with_untracked(|u| u.is_here(room));
            let room_name = |room: &crate::wire::RoomId| {
                unread
                    .state
                    .with_untracked(|u| u.room(room).map(|r| r.room.name.clone()))
                    .unwrap_or_else(|| "another room".to_owned())
            };
            match data.and_then(|d| serde_json::from_str::<Notification>(&d).ok()) {
                Some(Notification::Mention(t)) if !in_view(&t.room_id) => {
                    unread.noticed(&t.room_id, New::Mention);
                    let at = room_name(&t.room_id);
                    toasts.news(format!("{} mentioned you in {at}: {}", t.sender_nickname, t.content))
                }
                Some(Notification::Whisper(t)) if !in_view(&t.room_id) => {
                    unread.noticed(&t.room_id, New::Whisper);
                    let at = room_name(&t.room_id);
                    toasts.news(format!("{} whispered to you in {at}: {}", t.sender_nickname, t.content))
                }
                Some(Notification::Read { room_id, read_seq }) => unread.read_elsewhere(&room_id, read_seq),
                Some(Notification::Invitation { room_name, from_nickname, .. }) => {
                    unread.refresh(); // the room is in the list now
                    toasts.news(format!("{from_nickname} invited you to {room_name}."))
                }
                Some(Notification::Matched { world_type, .. }) => {
                    unread.refresh();
                    toasts.news(format!("A {} game found its party: it is in your room list.", world_type.label()))
                }
                _ => {}
            }
        });
        let _ = source.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
        listeners.push(listener);
    }
    Some(Stream { source, _listeners: listeners })
}

/// Keeps a notification stream open for whoever is signed in (a new one per sign-in).
pub fn follow(session: SessionCtx, toasts: Toasts, unread: UnreadCtx) {
    let stream = StoredValue::new_local(None::<Stream>);
    let member = Memo::new(move |_| session.0.with(|s| s.as_ref().map(|s| s.member_id.clone())));
    Effect::new(move |_| {
        // Only a change of member reopens it: a renewed token keeps the open stream.
        stream.set_value(None);
        let Some(who) = member.get() else { return };
        let token = session.token();
        leptos::task::spawn_local(async move {
            let opened = open(token, who.0.clone(), toasts, unread).await;
            // Still the same member once the cookie is set: keep it.
            if member.get_untracked().as_ref() == Some(&who) {
                stream.set_value(opened);
            }
        });
    });
}
