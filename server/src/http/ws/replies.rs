//! The reader's replies (ACK, WARNING, ERROR, a close) on their way to the writer of the same
//! connection, at most `cap` waiting.
//!
//! Both ends run on the connection's one task, so this lives inline in that task: an idle socket
//! allocates nothing for it. A channel would allocate its shared state and a first block of 32
//! slots (about 1.8 KiB) per socket at the handshake, and idle sockets are most sockets.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use super::super::websocket::Message;

/// A bounded queue from one reader to one writer.
pub struct Replies {
    inner: Mutex<Inner>,
    cap: usize,
}

/// The queue and who waits on it. Wakers rather than `Notify`s: the writer waits on this at
/// every wake-up (for every event it sends), and a `Notify` wait takes its lock to register and
/// again to deregister each time another branch of the writer's `select!` wins.
#[derive(Default)]
struct Inner {
    queue: VecDeque<Message>,
    /// The writer, waiting for a reply.
    writer: Option<Waker>,
    /// The reader, waiting for room.
    reader: Option<Waker>,
}

/// Keeps `cx`'s waker in `slot`, cloning it only when it is another task's.
fn keep(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

impl Replies {
    /// An empty queue that holds at most `cap` replies (at least one).
    pub fn new(cap: usize) -> Replies {
        Replies { inner: Mutex::new(Inner::default()), cap: cap.max(1) }
    }

    /// Queues a reply, waiting while the queue is full: a client that does not read its replies
    /// stops having its frames read.
    pub async fn send(&self, reply: Message) {
        let mut reply = Some(reply);
        std::future::poll_fn(|cx| {
            let mut inner = self.inner.lock().expect("replies lock");
            if inner.queue.len() >= self.cap {
                keep(&mut inner.reader, cx);
                return Poll::Pending;
            }
            inner.queue.push_back(reply.take().expect("sent once"));
            let writer = inner.writer.take();
            drop(inner);
            if let Some(w) = writer {
                w.wake();
            }
            Poll::Ready(())
        })
        .await
    }

    /// The next reply, once there is one (cancel-safe).
    pub async fn recv(&self) -> Message {
        std::future::poll_fn(|cx| match self.take(Some(cx)) {
            Some(reply) => Poll::Ready(reply),
            None => Poll::Pending,
        })
        .await
    }

    /// The next reply if one is waiting.
    pub fn try_recv(&self) -> Option<Message> {
        self.take(None)
    }

    /// Takes the next reply; with `cx`, keeps its waker when there is none.
    fn take(&self, cx: Option<&Context<'_>>) -> Option<Message> {
        let mut inner = self.inner.lock().expect("replies lock");
        let Some(reply) = inner.queue.pop_front() else {
            if let Some(cx) = cx {
                keep(&mut inner.writer, cx);
            }
            return None;
        };
        if inner.queue.is_empty() && inner.queue.capacity() > 4 {
            // A burst grew it: give the memory back while the socket idles.
            inner.queue.shrink_to(4);
        }
        let reader = inner.reader.take();
        drop(inner);
        if let Some(w) = reader {
            w.wake();
        }
        Some(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    fn msg(s: &'static str) -> Message {
        Message::Text(s.into())
    }

    #[tokio::test]
    async fn replies_come_out_in_order_and_a_full_queue_makes_the_sender_wait() {
        let replies = Replies::new(2);
        replies.send(msg("a")).await;
        replies.send(msg("b")).await;
        let mut third = Box::pin(replies.send(msg("c")));
        assert!((&mut third).now_or_never().is_none(), "a full queue waits");
        assert_eq!(replies.recv().await, msg("a"));
        third.await;
        assert_eq!(replies.try_recv(), Some(msg("b")));
        assert_eq!(replies.recv().now_or_never(), Some(msg("c")));
        assert_eq!(replies.try_recv(), None);
        assert!(replies.recv().now_or_never().is_none(), "an empty queue waits");
    }

    #[tokio::test]
    async fn a_waiting_writer_wakes_when_a_reply_is_queued() {
        let replies = std::sync::Arc::new(Replies::new(4));
        let writer = tokio::spawn({
            let replies = replies.clone();
            async move { replies.recv().await }
        });
        tokio::task::yield_now().await;
        replies.send(msg("ack")).await;
        assert_eq!(writer.await.unwrap(), msg("ack"));
    }
}
