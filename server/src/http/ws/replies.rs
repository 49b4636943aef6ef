//! The reader's replies (ACK, WARNING, ERROR, a close) on their way to the writer of the same
//! connection, at most `cap` waiting.
//!
//! Both ends run on the connection's one task, so this lives inline in that task: an idle socket
//! allocates nothing for it. A channel would allocate its shared state and a first block of 32
//! slots (about 1.8 KiB) per socket at the handshake, and idle sockets are most sockets.

use std::collections::VecDeque;
use std::sync::Mutex;

use axum::extract::ws::Message;
use tokio::sync::Notify;

/// A bounded queue from one reader to one writer.
pub struct Replies {
    queue: Mutex<VecDeque<Message>>,
    cap: usize,
    /// Something was queued (one waiter: the writer; a permit is kept if it is not waiting yet).
    queued: Notify,
    /// Something was taken (one waiter: the reader, when the queue was full).
    taken: Notify,
}

impl Replies {
    /// An empty queue that holds at most `cap` replies (at least one).
    pub fn new(cap: usize) -> Replies {
        Replies { queue: Mutex::new(VecDeque::new()), cap: cap.max(1), queued: Notify::new(), taken: Notify::new() }
    }

    /// Queues a reply, waiting while the queue is full: a client that does not read its replies
    /// stops having its frames read.
    pub async fn send(&self, reply: Message) {
        let mut reply = Some(reply);
        loop {
            {
                let mut queue = self.queue.lock().expect("replies lock");
                if queue.len() < self.cap {
                    queue.push_back(reply.take().expect("not sent yet"));
                    drop(queue);
                    self.queued.notify_one();
                    return;
                }
            }
            // notify_one keeps a permit when nobody waits: a take between the check and this
            // wait is not missed.
            self.taken.notified().await;
        }
    }

    /// The next reply, once there is one.
    pub async fn recv(&self) -> Message {
        loop {
            if let Some(reply) = self.try_recv() {
                return reply;
            }
            self.queued.notified().await;
        }
    }

    /// The next reply if one is waiting.
    pub fn try_recv(&self) -> Option<Message> {
        let mut queue = self.queue.lock().expect("replies lock");
        let reply = queue.pop_front()?;
        if queue.is_empty() && queue.capacity() > 4 {
            // A burst grew it: give the memory back while the socket idles.
            queue.shrink_to(4);
        }
        drop(queue);
        self.taken.notify_one();
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
