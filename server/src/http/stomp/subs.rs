//! A STOMP subscription: its destination, and for a room the task that reads the room's feed and
//! sends each event as a MESSAGE (the same JSON as `/ws`, the same seq, the same RESYNC).

use dungeontalk_app::wire::stomp::{Command, Frame};
use dungeontalk_app::wire::{ErrorCode, RoomId, ServerFrame};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::AppError;
use crate::hub::Attendance;
use crate::hub::feed::{Feed, FeedError, Item, OnLag};
use crate::model::{Actor, StoredEvent};
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

/// What a subscription's task hands the connection.
pub enum Out {
    /// An encoded MESSAGE.
    Message(Vec<u8>),
    /// The subscription ended on its own (the room filled up, the store failed): tell the client
    /// (its id and why). Boxed: the channel's first block holds 32 of these per connection, so
    /// the rare variant would otherwise size every slot (80 -> 32 bytes each).
    Ended(Box<(String, AppError)>),
}

/// One live subscription; dropping it stops its task (and its attendance in the room).
pub struct Subscription {
    /// The room's reader; none for the errors queue.
    task: Option<JoinHandle<()>>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Where a room subscription starts and what it needs to run.
pub struct RoomStart {
    pub id: String,
    pub destination: String,
    pub after: Option<u64>,
    pub seated: bool,
    pub acks: bool,
    pub attendance: Attendance,
}

impl Subscription {
    /// The errors queue: nothing to read, errors are routed to it.
    pub fn errors() -> Subscription {
        Subscription { task: None }
    }

    /// Starts reading a room for this connection.
    pub fn room(state: &AppState, actor: &Actor, dest: Destination, start: RoomStart, out: mpsc::Sender<Out>) -> Self {
        let task = tokio::spawn(pump(state.clone(), actor.clone(), dest, start, out));
        Subscription { task: Some(task) }
    }
}

/// A game master's frame (what `/sub/aichat/room/…` carries).
fn is_game(event: &StoredEvent) -> bool {
    event.json.as_str().starts_with(r#"{"type":"GM_"#)
}

async fn pump(state: AppState, actor: Actor, dest: Destination, start: RoomStart, out: mpsc::Sender<Out>) {
    let _attendance = start.attendance;
    let Some(room_id) = dest.room().cloned() else { return };
    let game = matches!(dest, Destination::AiChat(_));
    let settings = &state.settings;
    let mut feed = Feed::open(&state.hub, &room_id, &actor.member_id, settings.replay_page, OnLag::Report);
    feed.keep_seat(start.seated);
    let ended = |error: AppError| Out::Ended(Box::new((start.id.clone(), error)));
    match start.after {
        Some(after) => feed.resume(after),
        None => {
            if let Err(e) = feed.recent(settings.history_on_join).await {
                let _ = out.send(ended(e.into())).await;
                return;
            }
        }
    }
    let delivered = state.hub.metrics().deliveries.with_label_values(&["stomp"]);
    let mut n = 0u64;
    loop {
        let body: Vec<u8> = match feed.next().await {
            Ok(Item::Event(event)) if is_game(&event) != game => continue,
            Ok(Item::Event(event)) => event.json.as_bytes().to_vec(),
            Ok(Item::Lagged { after }) => {
                state.hub.metrics().resyncs.inc();
                serde_json::to_vec(&ServerFrame::Resync { after }).expect("frames serialize")
            }
            Err(FeedError::Closed) => return,
            Err(e) => {
                let _ = out.send(ended(e.into())).await;
                return;
            }
        };
        n += 1;
        let message_id = format!("{}-{n}", start.id);
        let mut frame = Frame::new(Command::Message)
            .header("subscription", start.id.as_str())
            .header("message-id", message_id.as_str())
            .header("destination", start.destination.as_str())
            .header("content-type", "application/json");
        if start.acks {
            frame = frame.header("ack", message_id);
        }
        if out.send(Out::Message(frame.body(body).encode())).await.is_err() {
            return;
        }
        delivered.inc();
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
