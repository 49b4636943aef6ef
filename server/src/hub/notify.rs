//! Per-member notifications on this node: mentions (`@nickname`), whispers and room invitations.
//!
//! Each notification is encoded for SSE once and the same bytes go to every open stream of its
//! recipient (a member may have several tabs). Notifications are live only, never stored.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use bytes::Bytes;
use dungeontalk_app::wire::{MemberId, Notification, ServerFrame};
use tokio::sync::broadcast;

use crate::model::{Actor, StoredEvent};

/// Open notification streams on this node, by member: one channel per member, however many
/// streams (tabs) read it; dropped when the last stream has closed.
pub struct Notifier {
    members: Mutex<HashMap<MemberId, broadcast::Sender<Bytes>>>,
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
        Notifier { members: Mutex::new(HashMap::new()), queue_len }
    }

    /// Notifications for `actor` from now on.
    pub fn subscribe(&self, actor: &Actor) -> broadcast::Receiver<Bytes> {
        let mut members = self.members.lock().expect("notifier lock");
        members.retain(|_, tx| tx.receiver_count() > 0);
        let tx = members.entry(actor.member_id.clone()).or_insert_with(|| broadcast::channel(self.queue_len).0);
        tx.subscribe()
    }

    /// The members with notification streams open on this node; forgets those without (the hub
    /// asks regularly, so the table shrinks even when nobody subscribes).
    pub fn members(&self) -> Vec<MemberId> {
        let mut members = self.members.lock().expect("notifier lock");
        members.retain(|_, tx| tx.receiver_count() > 0);
        members.keys().cloned().collect()
    }

    /// Whether the member has a notification stream open on this node.
    pub fn listens(&self, member: &MemberId) -> bool {
        self.members.lock().expect("notifier lock").get(member).is_some_and(|tx| tx.receiver_count() > 0)
    }

    /// Members with a channel (for the eviction test).
    pub fn len(&self) -> usize {
        self.members.lock().expect("notifier lock").len()
    }

    /// True when no member has a channel.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sends to every open stream of `to`; false when the member has none on this node.
    pub fn send(&self, to: &MemberId, notification: &Notification) -> bool {
        self.send_bytes(to, encode(notification))
    }

    fn send_bytes(&self, to: &MemberId, bytes: Bytes) -> bool {
        let mut members = self.members.lock().expect("notifier lock");
        let delivered = members.get(to).is_some_and(|tx| tx.send(bytes).is_ok());
        if !delivered {
            members.remove(to); // every stream of that member has closed
        }
        delivered
    }

    /// Notifies a whisper's receiver, or the members a TALK mentions (by id, as resolved when it
    /// was sent).
    pub fn on_event(&self, event: &StoredEvent) {
        let whisper = event.audience.is_some() && !event.is_ephemeral();
        if !whisper && !event.json.as_str().contains("\"mentions\"") {
            return; // the common case costs one scan and no parse
        }
        let Ok(ServerFrame::Talk(talk)) = serde_json::from_str::<ServerFrame>(event.json.as_str()) else { return };
        if let Some(to) = talk.receiver_id.clone() {
            self.send(&to, &Notification::Whisper(talk));
            return;
        }
        let recipients = talk.mentions.clone();
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

    #[test]
    fn a_member_whose_streams_all_closed_is_forgotten() {
        let n = Notifier::new(4);
        let actor = Actor { member_id: MemberId("m1".into()), nickname: "Aria".into() };
        let (a, b) = (n.subscribe(&actor), n.subscribe(&actor));
        assert_eq!(n.len(), 1, "one channel per member, however many tabs");
        drop((a, b));
        assert!(!n.send(
            &actor.member_id,
            &Notification::Connected { member_id: actor.member_id.clone(), nickname: "Aria".into() }
        ));
        assert!(n.is_empty(), "the table gives the entry back");
    }
}
