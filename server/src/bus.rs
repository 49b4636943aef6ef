//! How stored events reach every node's subscribers: a small trait, so Kafka/Redis can replace it.

use std::sync::Arc;

use async_trait::async_trait;

use crate::hub::StoredEvent;
use crate::hub::fanout::Fanout;
use crate::hub::notify::Notifier;

/// A bus failure; the event is stored already and reaches clients through resume.
#[derive(Debug, thiserror::Error)]
#[error("bus: {0}")]
pub struct BusError(pub String);

/// Carries each stored event to every node (this one included), in per-room order.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Sends one stored event to every node's local fan-out.
    async fn publish(&self, event: Arc<StoredEvent>) -> Result<(), BusError>;
    /// Fails when the bus cannot carry events (for `/readyz`).
    async fn ping(&self) -> Result<(), BusError> {
        Ok(())
    }
}

/// The single-node bus: publishing is handing the event to this process's subscribers.
pub struct LocalBus {
    fanout: Arc<Fanout>,
    notifier: Arc<Notifier>,
}

impl LocalBus {
    /// A bus that delivers to this process only.
    pub fn new(fanout: Arc<Fanout>, notifier: Arc<Notifier>) -> LocalBus {
        LocalBus { fanout, notifier }
    }
}

#[async_trait]
impl Bus for LocalBus {
    async fn publish(&self, event: Arc<StoredEvent>) -> Result<(), BusError> {
        self.notifier.on_event(&event);
        self.fanout.deliver(event);
        Ok(())
    }
}
