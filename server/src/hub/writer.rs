//! The one ordered writer: batches appends into one store transaction, then publishes in seq order.
//!
//! One task means per-room order on the bus equals seq order without a lock per room, and a
//! burst of messages costs one commit (one fsync) instead of one each.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::{Appended, Draft, HubError};
use crate::bus::Bus;
use crate::store::Store;

/// One append waiting for the writer.
pub(super) struct Job {
    pub draft: Draft,
    pub reply: oneshot::Sender<Result<Appended, HubError>>,
}

/// Runs until every sender is gone and the queue is empty.
pub(super) async fn run(mut rx: mpsc::Receiver<Job>, store: Arc<dyn Store>, bus: Arc<dyn Bus>, batch_max: usize) {
    let mut jobs = Vec::with_capacity(batch_max);
    while rx.recv_many(&mut jobs, batch_max).await > 0 {
        let (drafts, replies): (Vec<_>, Vec<_>) = jobs.drain(..).map(|j| (j.draft, j.reply)).unzip();
        match store.append(drafts).await {
            Ok(appended) => {
                for (result, reply) in appended.into_iter().zip(replies) {
                    if !result.duplicate
                        && let Err(e) = bus.publish(result.event.clone()).await
                    {
                        // Stored already: subscribers fill the gap from the store.
                        tracing::warn!(error = %e, seq = result.event.seq, "publish failed");
                    }
                    let _ = reply.send(Ok(result));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "append failed");
                for reply in replies {
                    let _ = reply.send(Err(HubError::Store(crate::store::StoreError(e.0.clone()))));
                }
            }
        }
    }
}
