//! Where what arrives from the backends goes: the room log hands over room events in per-room
//! order, the cluster channel ephemeral frames and notifications. The hub implements it; the
//! backends only know this trait.

use std::sync::Arc;

use dungeontalk_app::wire::{MemberId, Notification};

use super::StoredEvent;

/// This node's receiving end of the log and of the cluster's ephemeral channel.
pub trait Inbox: Send + Sync + 'static {
    /// A room event from the log (every node gets every one, in per-room seq order).
    fn event(&self, event: Arc<StoredEvent>);
    /// An ephemeral room frame: presence, typing, AI chunks (no seq, never stored).
    fn ephemeral(&self, event: Arc<StoredEvent>);
    /// A notification for one member's open notification streams on this node; false when the
    /// member has none here.
    fn notify(&self, member: &MemberId, notification: &Notification) -> bool;
    /// A revoked access token: connections opened with it end, and it is refused from now on.
    fn revoked(&self, jti: &str, exp: u64);
}
