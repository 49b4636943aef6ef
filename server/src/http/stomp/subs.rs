//! A STOMP subscription: its destination, and for a room the stream of MESSAGEs read from the
//! room's feed (the same JSON as `/ws`, the same seq, the same RESYNC).

use dungeontalk_app::wire::{ErrorCode, RoomId, ServerFrame};
use futures_util::Stream;
use prometheus::IntCounter;

use super::message::MessageHead;
use crate::error::AppError;
use crate::hub::Attendance;
use crate::hub::feed::{Feed, FeedError, Item};
use crate::model::StoredEvent;
use crate::state::AppState;

/// What a destination names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// `/sub/chat/room/{roomId}`: the room's events.
    Room(RoomId),
    /// `/sub/aichat/room/{roomId}`: the game master's frames of the room.
    AiChat(RoomId),
    /// `/user/queue/errors`: this connection's errors, as `{code, message}` bodies.
    Errors,
}

impl Destination {
    /// Reads a SUBSCRIBE destination.
    pub fn parse(d: &str) -> Result<Destination, AppError> {
        let room = |rest: &str| (!rest.is_empty() && !rest.contains('/')).then(|| RoomId(rest.to_owned()));
        let found = if let Some(rest) = d.strip_prefix("/sub/chat/room/") {
            room(rest).map(Destination::Room)
        } else if let Some(rest) = d.strip_prefix("/sub/aichat/room/") {
            room(rest).map(Destination::AiChat)
        } else if d == "/user/queue/errors" {
            Some(Destination::Errors)
        } else {
            None
        };
        found.ok_or_else(|| {
            let msg = format!(
                "Unknown destination {d:?}: /sub/chat/room/{{roomId}}, /sub/aichat/room/{{roomId}} or /user/queue/errors."
            );
            AppError::new(ErrorCode::InvalidRequest, msg)
        })
    }

    /// The room it reads, if any.
    pub fn room(&self) -> Option<&RoomId> {
        match self {
            Destination::Room(r) | Destination::AiChat(r) => Some(r),
            Destination::Errors => None,
        }
    }
}

/// What a room subscription hands the connection.
pub enum Out {
    /// An encoded MESSAGE.
    Message(Vec<u8>),
    /// The subscription ended on its own (the room filled up, the store failed): tell the client
    /// (its id and why). Boxed: the rare variant would otherwise size every item.
    Ended(Box<(String, AppError)>),
}

/// Where a room subscription starts and what it needs to run.
pub struct RoomStart {
    pub id: String,
    pub destination: String,
    pub acks: bool,
    pub attendance: Attendance,
}

/// A game's frame (what `/sub/aichat/room/…` carries): its type is one of the game's, read from
/// the JSON's start without parsing it (every frame starts `{"type":"…"`).
fn is_game(event: &StoredEvent) -> bool {
    let kind = event.json.as_str().strip_prefix(r#"{"type":""#).and_then(|rest| rest.split('"').next());
    kind.is_some_and(|k| dungeontalk_app::wire::GAME_TYPES.contains(&k))
}

/// A room subscription's MESSAGEs, read by the connection's own task (no task or queue of its
/// own: an idle subscription is its feed and this state).
pub type Reading = std::pin::Pin<Box<dyn Stream<Item = Out> + Send>>;

/// Reads `feed` (positioned already: resumed, or its recent history loaded) as `dest`'s MESSAGEs.
pub fn reading(state: &AppState, dest: &Destination, feed: Feed, start: RoomStart) -> Reading {
    let metrics = state.hub.metrics();
    let RoomStart { id, destination, acks, attendance } = start;
    let reader = Reader {
        delivered: metrics.deliveries.with_label_values(&["stomp"]),
        resyncs: metrics.resyncs.clone(),
        game: matches!(dest, Destination::AiChat(_)),
        n: 0,
        feed,
        head: MessageHead::new(&id, &destination, acks),
        id,
        _attendance: attendance,
    };
    // The state goes into each step's future and back out: boxed, a pointer moves per MESSAGE,
    // not the reader (its feed and counters).
    Box::pin(futures_util::stream::unfold(Some(Box::new(reader)), |reader| async move {
        let mut reader = reader?;
        match reader.next().await {
            Ok(frame) => Some((Out::Message(frame), Some(reader))),
            Err(FeedError::Closed) => None,
            Err(e) => Some((Out::Ended(Box::new((reader.id.clone(), e.into()))), None)),
        }
    }))
}

struct Reader {
    delivered: IntCounter,
    resyncs: IntCounter,
    game: bool,
    /// MESSAGEs sent so far (their ids count up).
    n: u64,
    feed: Feed,
    /// Its MESSAGEs' headers, escaped once.
    head: MessageHead,
    id: String,
    /// The subscription's attendance in the room, for as long as it reads.
    _attendance: Attendance,
}

impl Reader {
    /// The next MESSAGE, encoded (cancel-safe, like the feed).
    async fn next(&mut self) -> Result<Vec<u8>, FeedError> {
        let n = self.n + 1;
        let frame = loop {
            match self.feed.next().await? {
                Item::Event(event) if is_game(&event) != self.game => continue,
                Item::Event(event) => break self.head.encode(n, event.json.as_bytes()),
                Item::Lagged { after } => {
                    self.resyncs.inc();
                    let body = serde_json::to_vec(&ServerFrame::Resync { after }).expect("frames serialize");
                    break self.head.encode(n, &body);
                }
            }
        };
        self.n = n;
        self.delivered.inc();
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_the_originals_and_nothing_else() {
        let r = |s: &str| RoomId(s.into());
        assert_eq!(Destination::parse("/sub/chat/room/r1").unwrap(), Destination::Room(r("r1")));
        assert_eq!(Destination::parse("/sub/aichat/room/r1").unwrap(), Destination::AiChat(r("r1")));
        assert_eq!(Destination::parse("/user/queue/errors").unwrap(), Destination::Errors);
        for bad in ["/sub/chat/room/", "/sub/chat/room/a/b", "/topic/x", "", "/sub/chat/room"] {
            assert_eq!(Destination::parse(bad).unwrap_err().code, ErrorCode::InvalidRequest, "{bad}");
        }
    }
}
