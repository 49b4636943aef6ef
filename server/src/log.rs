//! The room log: the one order of every room's events, and the way each node receives them.
//!
//! `append` makes a draft durable and gives it its seq; every node's [`Inbox`] then gets every
//! event, in per-room seq order (the consumer side). Two backends: `local.rs` (one process: a
//! batching writer over the store) and `kafka.rs` (the topic is the order; seq = offset + 1).
//!
//! [`Inbox`]: crate::model::Inbox

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use dungeontalk_app::wire::RoomId;

use crate::model::{Appended, Draft};
use crate::store::StoreError;

pub mod kafka;
pub mod local;

/// Why an append or a read of the log failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LogError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The log's backend did not take the event (broker down, timeout); nothing was acknowledged.
    #[error("log unavailable: {0}")]
    Unavailable(String),
    #[error("the log has stopped")]
    Stopped,
}

/// An append that has its place in the order and is becoming durable.
pub type Pending = Pin<Box<dyn Future<Output = Result<Appended, LogError>> + Send>>;

/// One order of room events shared by every node.
#[async_trait]
pub trait RoomLog: Send + Sync + 'static {
    /// Gives `draft` its place in the order (drafts enqueued one after the other keep that
    /// order) and returns what resolves once it is durable: its seq, or, for a TALK whose
    /// `messageId` the room has already, that earlier event's seq marked duplicate (then it is
    /// not delivered). A connection can read its next frame while the last one is committed.
    async fn enqueue(&self, draft: Draft) -> Result<Pending, LogError>;
    /// Makes `draft` durable and answers its seq once it is (see [`RoomLog::enqueue`]).
    async fn append(&self, draft: Draft) -> Result<Appended, LogError> {
        self.enqueue(draft).await?.await
    }
    /// The seq through which this node has handed the room's events to its inbox: every event
    /// of the room with a higher seq reaches the inbox later. Read after registering a reader,
    /// it is the point from which that reader can rely on live delivery.
    fn position(&self, room: &RoomId) -> u64;
    /// The seq through which the store holds every event of the room (a reader may read the
    /// store up to there and find nothing missing).
    async fn durable_through(&self, room: &RoomId) -> Result<u64, LogError>;
    /// Fails when the log cannot take appends (for `/readyz`).
    async fn ping(&self) -> Result<(), LogError>;
}
