//! A send deadline for connection loops that wake once per delivery: its timer is armed only when
//! the write cannot finish at once. Arming and cancelling one per wake-up is a cost every
//! delivery would pay, and a socket that can take the data takes it without waiting.

use std::future::Future;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::time::error::Elapsed;

/// Runs `write` to completion, failing with `Elapsed` when it takes longer than `limit`.
pub async fn within<T>(limit: Duration, write: impl Future<Output = T>) -> Result<T, Elapsed> {
    let mut write = std::pin::pin!(write);
    match (&mut write).now_or_never() {
        Some(done) => Ok(done),
        None => tokio::time::timeout(limit, write).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_write_that_finishes_at_once_never_times_out_and_a_stuck_one_does() {
        let limit = Duration::from_millis(50);
        assert_eq!(within(limit, async { 7 }).await.unwrap(), 7);
        let start = tokio::time::Instant::now();
        assert!(within(limit, std::future::pending::<()>()).await.is_err(), "a stuck write ends");
        assert!(start.elapsed() >= limit, "after the limit, not before");
        let slow = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            3
        };
        assert_eq!(within(limit, slow).await.unwrap(), 3, "a write that waits a little still finishes");
    }
}
