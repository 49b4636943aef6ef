//! Per-member notifications on this node: mentions (`@nickname`), whispers and room invitations.
//!
//! Each notification is encoded for SSE once and the same bytes go to every open stream of its
//! recipient (a member may have several tabs). Notifications are live only, never stored.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use axum::body::Bytes;
use dungeontalk_app::wire::{MemberId, Notification, ServerFrame};
use tokio::sync::broadcast;

use crate::model::{Actor, StoredEvent};

struct Member {
    nick_key: String,
    tx: broadcast::Sender<Bytes>,
}

#[derive(Default)]
struct Members {
    by_id: HashMap<MemberId, Member>,
    by_nick: HashMap<String, HashSet<MemberId>>,
}

impl Members {
    fn remove(&mut self, member_id: &MemberId) {
        if let Some(m) = self.by_id.remove(member_id)
            && let Some(ids) = self.by_nick.get_mut(&m.nick_key)
        {
            ids.remove(member_id);
            if ids.is_empty() {
                self.by_nick.remove(&m.nick_key);
            }
        }
    }
}

/// Open notification streams on this node, by member and by nickname.
pub struct Notifier {
    members: Mutex<Members>,
    /// Notifications one stream may fall behind before it misses some.
    queue_len: usize,
}

/// How a nickname is matched in a mention: case-insensitively.
fn nick_key(nickname: &str) -> String {
    nickname.to_lowercase()
}

/// The distinct `@names` in a text: `@` followed by letters, digits, `_` or `-`.
pub fn mentions(text: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    for (i, _) in text.match_indices('@') {
        let name: String =
            text[i + 1..].chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-').collect();
        if !name.is_empty() {
            out.insert(nick_key(&name));
        }
    }
    out
}

/// One notification as an SSE event.
pub fn encode(n: &Notification) -> Bytes {
    let json = serde_json::to_string(n).expect("notifications serialize");
    Bytes::from(format!("event: {}\ndata: {json}\n\n", n.event_name()))
}

impl Notifier {
    /// A notifier whose streams may each fall `queue_len` notifications behind.
    pub fn new(queue_len: usize) -> Notifier {
        Notifier { members: Mutex::new(Members::default()), queue_len }
    }

    /// Notifications for `actor` from now on.
    pub fn subscribe(&self, actor: &Actor) -> broadcast::Receiver<Bytes> {
        let mut members = self.members.lock().expect("notifier lock");
        let key = nick_key(&actor.nickname);
        if let Some(m) = members.by_id.get(&actor.member_id)
            && m.nick_key == key
        {
            return m.tx.subscribe();
        }
        members.remove(&actor.member_id);
        let (tx, rx) = broadcast::channel(self.queue_len);
        members.by_nick.entry(key.clone()).or_default().insert(actor.member_id.clone());
        members.by_id.insert(actor.member_id.clone(), Member { nick_key: key, tx });
        rx
    }

    /// The members with notification streams open on this node.
    pub fn members(&self) -> Vec<MemberId> {
        self.members.lock().expect("notifier lock").by_id.keys().cloned().collect()
    }

    /// Sends to every open stream of `to`; false when the member has none on this node.
    pub fn send(&self, to: &MemberId, notification: &Notification) -> bool {
        self.send_bytes(to, encode(notification))
    }

    fn send_bytes(&self, to: &MemberId, bytes: Bytes) -> bool {
        let mut members = self.members.lock().expect("notifier lock");
        let delivered = members.by_id.get(to).is_some_and(|m| m.tx.send(bytes).is_ok());
        if !delivered {
            members.remove(to); // every stream of that member has closed
        }
        delivered
    }

    /// Notifies a whisper's receiver, or the members a TALK mentions (never the sender).
    pub fn on_event(&self, event: &StoredEvent) {
        let whisper = event.audience.is_some() && !event.is_ephemeral();
        if !whisper && !event.json.as_str().contains('@') {
            return; // the common case costs one scan and no parse
        }
        let Ok(ServerFrame::Talk(talk)) = serde_json::from_str::<ServerFrame>(event.json.as_str()) else { return };
        if let Some(to) = talk.receiver_id.clone() {
            // A whisper notifies its receiver only: a mention in it must not leak it to others.
            self.send(&to, &Notification::Whisper(talk));
            return;
        }
        let named = mentions(&talk.content);
        let recipients: Vec<MemberId> = {
            let members = self.members.lock().expect("notifier lock");
            named.iter().filter_map(|n| members.by_nick.get(n)).flatten().cloned().collect()
        };
        let recipients: Vec<_> = recipients.into_iter().filter(|id| *id != talk.sender_id).collect();
        if recipients.is_empty() {
            return;
        }
        let bytes = encode(&Notification::Mention(talk));
        for id in recipients {
            self.send_bytes(&id, bytes.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_names_after_at_signs_without_case_or_punctuation() {
        let found = mentions("hi @Aria, @bo-2! mail@ x @Aria @용사.");
        let want: HashSet<String> = ["aria", "bo-2", "용사"].into_iter().map(String::from).collect();
        assert_eq!(found, want);
    }
}
