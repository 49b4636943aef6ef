//! What a connection's loop waits for besides its traffic (its ping or heartbeat tick, the
//! server's shutdown, the end of its token), polled only after one of them woke the task.
//!
//! A connection's loop wakes for every event it sends, and a `select!` polls every branch each
//! time. Polling the shutdown signal takes its lock, which every connection on the node shares,
//! and the token's watch and the tick their atomics: per delivery and connection, for waits that
//! end once in the connection's life or fire every few seconds. Here they sit behind a flag their
//! own wakers set; a wake-up for anything else costs a flag check.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;
use tokio::time::Interval;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::auth::{Ended, Revocation};

/// What woke a connection besides its traffic.
#[derive(Debug, PartialEq, Eq)]
pub enum Alarm {
    /// The connection's tick (pings, heart-beats, silence checks).
    Tick,
    /// The server is shutting down.
    Stopping,
    /// The handshake's token was logged out or has expired.
    Ended(Ended),
}

/// A connection's tick, the server's shutdown and the end of its token, in one quiet wait.
pub struct Alarms {
    waits: Quiet<Waits>,
}

struct Waits {
    tick: Interval,
    stopping: Pin<Box<WaitForCancellationFutureOwned>>,
    revocation: Revocation,
}

impl Alarms {
    /// Alarms from `tick`, `shutdown` and the token's `revocation`.
    pub fn new(tick: Interval, shutdown: &CancellationToken, revocation: Revocation) -> Alarms {
        let stopping = Box::pin(shutdown.clone().cancelled_owned());
        let mut waits = Waits { tick, stopping, revocation };
        waits.tick_by_expiry();
        Alarms { waits: Quiet::new(waits) }
    }

    /// The next alarm (cancel-safe: it can sit in a `select!`). Shutdown comes first, then the
    /// token's end, then the tick.
    pub fn next(&mut self) -> impl Future<Output = Alarm> + '_ {
        std::future::poll_fn(move |cx| {
            self.waits.poll(cx, |w, cx| {
                if w.stopping.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Alarm::Stopping);
                }
                // The tick first: it may be the token's expiry, which the revocation then sees.
                let ticked = w.tick.poll_tick(cx).is_ready();
                if let Poll::Ready(why) = w.revocation.poll_ended(cx) {
                    return Poll::Ready(Alarm::Ended(why));
                }
                if !ticked {
                    return Poll::Pending;
                }
                w.tick_by_expiry();
                Poll::Ready(Alarm::Tick)
            })
        })
    }
}

impl Waits {
    /// Makes the next tick come no later than the token's expiry: the tick's timer is the
    /// expiry's too (a timer each cost every connection a boxed `Sleep`). Only when the expiry
    /// is less than a period away, so the ticks before it keep their rhythm.
    fn tick_by_expiry(&mut self) {
        if let Some(expires) = self.revocation.expires()
            && expires < tokio::time::Instant::now() + self.tick.period()
        {
            self.tick.reset_at(expires);
        }
    }
}

/// Something polled only when its own waker fired since it was last polled (or when its last
/// poll was ready: it may have more).
pub struct Quiet<T> {
    inner: T,
    flag: Arc<Flag>,
    /// The waker `inner` is polled with: it sets the flag, then wakes the task.
    waker: Waker,
}

struct Flag {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl<T> Quiet<T> {
    /// Wraps `inner`; its first poll goes through.
    pub fn new(inner: T) -> Quiet<T> {
        let flag = Arc::new(Flag { woken: AtomicBool::new(true), task: AtomicWaker::new() });
        Quiet { inner, waker: Waker::from(flag.clone()), flag }
    }

    /// Polls `inner` with `poll` if it was woken, else is pending (the task's waker is kept).
    pub fn poll<R>(&mut self, cx: &mut Context<'_>, poll: impl FnOnce(&mut T, &mut Context<'_>) -> Poll<R>) -> Poll<R> {
        // Registered before the flag is read: a wake in between is seen in the flag.
        self.flag.task.register(cx.waker());
        if !self.flag.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let got = poll(&mut self.inner, &mut Context::from_waker(&self.waker));
        if got.is_ready() {
            self.flag.woken.store(true, Ordering::Release);
        }
        got
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::FutureExt;

    use super::*;

    #[tokio::test]
    async fn a_quiet_wait_is_polled_only_after_its_own_waker_fired() {
        let notify = Arc::new(tokio::sync::Notify::new());
        let mut polls = 0;
        let mut quiet = Quiet::new(Box::pin(notify.clone().notified_owned()));
        let mut cx = Context::from_waker(Waker::noop());
        let mut poll_it = || {
            quiet.poll(&mut cx, |n, cx| {
                polls += 1;
                n.as_mut().poll(cx)
            })
        };
        assert!(poll_it().is_pending());
        for _ in 0..10 {
            assert!(poll_it().is_pending(), "not woken: pending");
        }
        notify.notify_one();
        assert!(poll_it().is_ready(), "woken: polled, and ready");
        assert_eq!(polls, 2, "the first poll and the one after the wake, none of the ten between");
    }

    #[tokio::test]
    async fn a_wake_reaches_the_task_that_waits() {
        let notify = Arc::new(tokio::sync::Notify::new());
        let mut quiet = Quiet::new(Box::pin(notify.clone().notified_owned()));
        let waiting =
            tokio::spawn(async move { std::future::poll_fn(|cx| quiet.poll(cx, |n, cx| n.as_mut().poll(cx))).await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        notify.notify_one();
        tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("woken").expect("no panic");
    }

    #[tokio::test(start_paused = true)]
    async fn a_token_ends_at_its_expiry_between_ticks_however_often_other_logouts_come() {
        let (auth, revoked) = crate::tests::auth();
        let now = jsonwebtoken::get_current_timestamp();
        let claims = |jti: &str| crate::auth::Claims {
            sub: "m".into(),
            nick: "n".into(),
            iat: now,
            exp: now + 60,
            jti: jti.into(),
            sid: String::new(),
        };
        let every = Duration::from_secs(25);
        let tick = || tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let shutdown = CancellationToken::new();
        let mut mine = Alarms::new(tick(), &shutdown, auth.watch(&claims("mine")));
        let mut logged_out = Alarms::new(tick(), &shutdown, auth.watch(&claims("logged-out")));
        let start = tokio::time::Instant::now();
        revoked.insert("other", now + 600);
        assert!(mine.next().now_or_never().is_none(), "another token's logout is not this one's end");
        revoked.insert("logged-out", now + 600);
        assert_eq!(logged_out.next().await, Alarm::Ended(Ended::LoggedOut));
        assert_eq!(mine.next().await, Alarm::Tick);
        assert_eq!(mine.next().await, Alarm::Tick);
        assert_eq!(start.elapsed().as_secs(), 50, "the ticks keep their rhythm before the expiry");
        // 60 s of life and the 5 s of leeway verification allows, from when it was watched: not
        // at the next tick (75 s).
        assert_eq!(mine.next().await, Alarm::Ended(Ended::Expired));
        let lived = start.elapsed().as_secs();
        assert!((64..=66).contains(&lived), "ended after {lived} s");
        assert!(!matches!(mine.next().now_or_never(), Some(Alarm::Ended(_))), "said once");
    }

    #[tokio::test]
    async fn alarms_say_tick_then_the_tokens_end_then_stopping_first_of_all() {
        let (auth, revoked) = crate::tests::auth();
        let claims = auth.claims(&auth.issue("m1", "Aria", 3600, "s1").unwrap()).unwrap();
        let shutdown = CancellationToken::new();
        let every = Duration::from_millis(500);
        let tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let mut alarms = Alarms::new(tick, &shutdown, auth.watch(&claims));
        assert!(alarms.next().now_or_never().is_none(), "nothing yet");
        assert_eq!(alarms.next().await, Alarm::Tick);
        assert!(alarms.next().now_or_never().is_none(), "the next tick is a period away");
        revoked.insert(&claims.jti, claims.exp);
        assert_eq!(alarms.next().await, Alarm::Ended(Ended::LoggedOut), "woken by the revocation");
        shutdown.cancel();
        tokio::time::sleep(every).await;
        assert_eq!(alarms.next().await, Alarm::Stopping, "shutdown before a tick that is also due");
    }
}
