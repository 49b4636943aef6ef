//! Plain data that the store, the room log, the cluster state and the hub all share: room events,
//! rooms, who is acting, and why a request was refused. Nothing here knows about any backend.

use dungeontalk_app::wire::{ErrorCode, MemberId};

mod draft;
mod event;
mod inbox;
mod revoked;
mod room;
mod seats;
mod text;
mod watchers;

pub use draft::{Appended, Draft, EventBody};
pub use event::StoredEvent;
pub use inbox::Inbox;
pub use revoked::Revoked;
pub use room::{GameSetup, RoomRecord};
pub use seats::Seats;
pub use text::Utf8Bytes;
pub use watchers::Watch;

/// Who is acting: always taken from a verified token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub member_id: MemberId,
    pub nickname: String,
}

/// A request refused for a reason the client should hear: a stable code, a message for people,
/// and for limits when a retry can succeed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
    pub retry_after_ms: Option<u64>,
}

impl Refusal {
    /// A refusal with a message written for the person using the UI.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal { code, message: message.into(), retry_after_ms: None }
    }

    /// The same refusal, saying when a retry can succeed.
    pub fn retry_after(mut self, ms: u64) -> Refusal {
        self.retry_after_ms = Some(ms);
        self
    }
}

/// The current time as RFC 3339 UTC with millisecond precision.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(now.millisecond() as u32 * 1_000_000).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
