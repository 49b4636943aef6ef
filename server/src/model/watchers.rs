//! Open connections' watches on their login, filed under the key whose revocation ends them, so a
//! logout wakes only its own connections.
//!
//! Why: every connection used to listen to one signal that changed at every revocation and then
//! check whether the revoked token was its own: one logout anywhere in the cluster woke every
//! open connection on every node, each taking the revocation list's lock to find it was not theirs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use tokio::time::Instant;

/// Every open watch by its key (a table entry lives while one of its watches does, or until the
/// key is revoked).
#[derive(Default)]
pub struct Watchers {
    by_key: Mutex<HashMap<Arc<str>, Filed>>,
}

/// The watches filed under one key: nearly always one (a token's `jti`; a login open in one
/// tab), kept without a list of its own.
enum Filed {
    One(Weak<Signal>),
    Many(Vec<Weak<Signal>>),
}

/// One connection's watch; it leaves the table when dropped. One pointer: it sits in every
/// connection's task, whose size is its memory for as long as the connection is open.
pub struct Watch(Arc<Signal>);

/// What the table points at: set once, when one of the watched keys is revoked.
struct Signal {
    fired: AtomicBool,
    waker: AtomicWaker,
    /// Where to find it when the watch is dropped.
    keys: Box<[Arc<str>]>,
    watchers: Arc<Watchers>,
    /// When the watched token expires (kept here, not in the connection's task: see [`Watch`]).
    expires: Instant,
}

impl Watchers {
    /// Files a watch under each of `keys`: the revocation of any one fires it (several
    /// connections of one login share the key's entry). `expires`: when its token does.
    pub fn watch(self: &Arc<Self>, keys: &[&str], expires: Instant) -> Watch {
        let mut by_key = self.by_key.lock().expect("watchers lock");
        let keys = keys
            .iter()
            .map(|&key| match by_key.get_key_value(key) {
                Some((key, _)) => key.clone(),
                None => Arc::from(key),
            })
            .collect();
        let (fired, waker, watchers) = (AtomicBool::new(false), AtomicWaker::new(), self.clone());
        let signal = Arc::new(Signal { fired, waker, keys, watchers, expires });
        for key in &signal.keys {
            let watch = Arc::downgrade(&signal);
            match by_key.get_mut(&**key) {
                Some(filed) => filed.push(watch),
                None => {
                    by_key.insert(key.clone(), Filed::One(watch));
                }
            }
        }
        Watch(signal)
    }

    /// Fires every watch filed under `key`, and only those.
    pub fn revoke(&self, key: &str) {
        let fired = self.by_key.lock().expect("watchers lock").remove(key);
        // Woken outside the lock: a waker may run its task's code inline.
        let fired = match fired {
            None => Vec::new(),
            Some(Filed::One(watch)) => vec![watch],
            Some(Filed::Many(watches)) => watches,
        };
        for signal in fired.iter().filter_map(Weak::upgrade) {
            signal.fire();
        }
    }

    /// How many keys are watched (for tests of the eviction rule).
    #[cfg(test)]
    fn keys(&self) -> usize {
        self.by_key.lock().expect("watchers lock").len()
    }
}

impl Watch {
    /// Ready once the key was revoked (and from then on).
    pub fn poll_revoked(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.fired() {
            return Poll::Ready(());
        }
        // Registered before the flag is read again: a revocation in between is seen.
        self.0.waker.register(cx.waker());
        if self.fired() { Poll::Ready(()) } else { Poll::Pending }
    }

    fn fired(&self) -> bool {
        self.0.fired.load(Ordering::Acquire)
    }

    /// When the watched token expires.
    pub fn expires(&self) -> Instant {
        self.0.expires
    }

    /// Fires this watch alone (one of its keys was revoked before it was filed).
    pub(super) fn fire(&self) {
        self.0.fire();
    }
}

impl Signal {
    fn fire(&self) {
        self.fired.store(true, Ordering::Release);
        self.waker.wake();
    }
}

impl Filed {
    fn push(&mut self, watch: Weak<Signal>) {
        match self {
            Filed::One(first) => *self = Filed::Many(vec![first.clone(), watch]),
            Filed::Many(watches) => watches.push(watch),
        }
    }

    /// Takes `mine` out, and any watch already dropped; true when none is left.
    fn take_out(&mut self, mine: &Weak<Signal>) -> bool {
        match self {
            Filed::One(watch) => watch.ptr_eq(mine) || watch.strong_count() == 0,
            Filed::Many(watches) => {
                watches.retain(|w| !w.ptr_eq(mine) && w.strong_count() > 0);
                match watches.len() {
                    0 => true,
                    1 => {
                        *self = Filed::One(watches[0].clone());
                        false
                    }
                    n => {
                        if watches.capacity() > 4 * n {
                            watches.shrink_to_fit();
                        }
                        false
                    }
                }
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut by_key = self.0.watchers.by_key.lock().expect("watchers lock");
        let mine = Arc::downgrade(&self.0);
        for key in &self.0.keys {
            if by_key.get_mut(&**key).is_some_and(|filed| filed.take_out(&mine)) {
                by_key.remove(&**key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::task::{Wake, Waker};

    use super::*;

    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn a_revocation_wakes_only_the_watches_filed_under_its_key() {
        let watchers = Arc::new(Watchers::default());
        let watches: Vec<(Watch, Arc<Count>)> = (0..100)
            .map(|i| {
                let watch = watchers.watch(&[&format!("jti-{i}"), &format!("sid:{}", i % 50)], Instant::now());
                let count = Arc::new(Count::default());
                let waker = Waker::from(count.clone());
                assert!(watch.poll_revoked(&mut Context::from_waker(&waker)).is_pending());
                (watch, count)
            })
            .collect();
        watchers.revoke("sid:7");
        watchers.revoke("jti-9");
        for (i, (watch, count)) in watches.iter().enumerate() {
            let mine = i % 50 == 7 || i == 9;
            assert_eq!(count.0.load(Ordering::Relaxed), usize::from(mine), "watch {i}: woken only if its key");
            let waker = Waker::from(Arc::new(Count::default()));
            assert_eq!(watch.poll_revoked(&mut Context::from_waker(&waker)).is_ready(), mine, "watch {i}");
        }
    }

    #[test]
    fn a_key_leaves_the_table_with_its_last_watch_or_its_revocation() {
        let watchers = Arc::new(Watchers::default());
        let a = watchers.watch(&["jti-1", "sid:a"], Instant::now());
        let a2 = watchers.watch(&["jti-2", "sid:a"], Instant::now());
        let b = watchers.watch(&["jti-3", "sid:b"], Instant::now());
        assert_eq!(watchers.keys(), 5, "one entry per key, shared by its watches");
        drop(a);
        assert_eq!(watchers.keys(), 4, "sid:a still has a watch");
        drop(a2);
        assert_eq!(watchers.keys(), 2);
        watchers.revoke("sid:b");
        assert_eq!(watchers.keys(), 1, "a revoked key's watches are fired and its entry goes");
        drop(b);
        assert_eq!(watchers.keys(), 0, "and the watch's other keys go with the watch");
    }

    #[test]
    fn a_key_watched_by_several_keeps_the_rest_when_one_goes() {
        let watchers = Arc::new(Watchers::default());
        let tabs: Vec<Watch> =
            (0..3).map(|i| watchers.watch(&[&format!("jti-{i}"), "sid:c"], Instant::now())).collect();
        let mut tabs = tabs.into_iter();
        let (first, middle, last) = (tabs.next().unwrap(), tabs.next().unwrap(), tabs.next().unwrap());
        drop(middle);
        watchers.revoke("sid:c");
        let mut cx = Context::from_waker(Waker::noop());
        assert!(first.poll_revoked(&mut cx).is_ready() && last.poll_revoked(&mut cx).is_ready());
        assert_eq!(watchers.keys(), 2, "jti-0 and jti-2 are still watched");
    }
}
