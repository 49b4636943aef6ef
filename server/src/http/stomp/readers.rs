//! A connection's room subscriptions, polled by the connection's own task, in turns.

use std::future::poll_fn;
use std::task::{Context, Poll};

use futures_util::StreamExt;
use futures_util::task::noop_waker_ref;

use super::subs::{Out, Reading};

/// The room subscriptions of one connection, by subscription id.
#[derive(Default)]
pub struct Readers {
    list: Vec<(String, Reading)>,
    /// Where the next poll starts: a busy room cannot keep the others waiting.
    turn: usize,
}

impl Readers {
    /// Starts reading subscription `id`.
    pub fn add(&mut self, id: String, reading: Reading) {
        self.list.push((id, reading));
    }

    /// Stops reading subscription `id` (its feed and attendance go with it).
    pub fn remove(&mut self, id: &str) {
        self.list.retain(|(i, _)| i != id);
    }

    /// What a subscription has next, waiting for one; pending for ever while there are none, so
    /// it can sit in the connection's `select!` (cancel-safe: each stream keeps its own place).
    pub async fn next(&mut self) -> Out {
        poll_fn(|cx| self.poll(cx)).await
    }

    /// What a subscription has ready now, without waiting.
    pub fn ready(&mut self) -> Option<Out> {
        match self.poll(&mut Context::from_waker(noop_waker_ref())) {
            Poll::Ready(out) => Some(out),
            Poll::Pending => None,
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Out> {
        let mut tried = 0;
        while tried < self.list.len() {
            let at = (self.turn + tried) % self.list.len();
            match self.list[at].1.poll_next_unpin(cx) {
                Poll::Ready(Some(out)) => {
                    self.turn = at + 1;
                    return Poll::Ready(out);
                }
                // The feed closed (the hub stopped): nothing more will come from it.
                Poll::Ready(None) => {
                    drop(self.list.remove(at));
                }
                Poll::Pending => tried += 1,
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    fn messages(items: &[&str]) -> Reading {
        let owned: Vec<Out> = items.iter().map(|s| Out::Message(s.as_bytes().to_vec())).collect();
        Box::pin(futures_util::stream::iter(owned))
    }

    fn text(out: Out) -> String {
        match out {
            Out::Message(b) => String::from_utf8(b).unwrap(),
            Out::Ended(_) => "ended".into(),
        }
    }

    #[test]
    fn subscriptions_take_turns_and_finished_ones_are_dropped() {
        let mut r = Readers::default();
        r.add("a".into(), messages(&["a1", "a2", "a3"]));
        r.add("b".into(), messages(&["b1"]));
        let got: Vec<String> = std::iter::from_fn(|| r.ready()).map(text).collect();
        assert_eq!(got, ["a1", "b1", "a2", "a3"], "one each in turn, then the rest");
        assert!(r.list.is_empty(), "both ended and are gone");
        assert!(r.next().now_or_never().is_none(), "without subscriptions it waits for ever");
    }

    #[test]
    fn an_unsubscribed_reader_gives_nothing_more() {
        let mut r = Readers::default();
        r.add("a".into(), messages(&["a1"]));
        r.add("b".into(), messages(&["b1"]));
        r.remove("a");
        let got: Vec<String> = std::iter::from_fn(|| r.ready()).map(text).collect();
        assert_eq!(got, ["b1"]);
    }
}
