//! The access tokens this node knows to be revoked (logged out), and the open connections watching
//! for theirs. Fed by the cluster's channel, so a logout on any node reaches every node.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use super::watchers::{Watch, Watchers};

/// How often (seconds) the list is swept of revocations whose tokens have expired anyway.
const SWEEP_SECS: u64 = 30;

/// Revoked keys (a token's `jti`, or `sid:…` for a whole login) with the time each would have
/// expired anyway.
#[derive(Default)]
pub struct Revoked {
    /// key → expiry (unix seconds); an entry goes at the first sweep a minute after it expires.
    map: RwLock<HashMap<String, u64>>,
    /// When the next sweep is due (unix seconds): sweeping is a pass over the whole list, so it
    /// runs every [`SWEEP_SECS`], not at every logout.
    next_sweep: AtomicU64,
    watchers: Arc<Watchers>,
}

impl Revoked {
    /// Notes a revoked key until `exp`, when its tokens would have died anyway, and ends the
    /// connections watching it.
    pub fn insert(&self, key: &str, exp: u64) {
        let now = jsonwebtoken::get_current_timestamp();
        let mut map = self.map.write().expect("revoked lock");
        if now >= self.next_sweep.load(Ordering::Relaxed) {
            self.next_sweep.store(now + SWEEP_SECS, Ordering::Relaxed);
            map.retain(|_, e| *e + 60 > now);
        }
        map.insert(key.to_owned(), exp);
        drop(map);
        self.watchers.revoke(key);
    }

    /// Whether the key was revoked.
    pub fn contains(&self, key: &str) -> bool {
        self.map.read().expect("revoked lock").contains_key(key)
    }

    /// A watch that fires once any of `keys` is revoked (at once if one already was), for a
    /// token that `expires` then.
    pub fn watch(&self, keys: &[&str], expires: tokio::time::Instant) -> Watch {
        // Filed before the list is read: a revocation in between either finds the watch or is
        // in the list.
        let watch = self.watchers.watch(keys, expires);
        if keys.iter().any(|key| self.contains(key)) {
            watch.fire();
        }
        watch
    }

    /// How many revocations are remembered (for tests of the eviction rule).
    pub fn len(&self) -> usize {
        self.map.read().expect("revoked lock").len()
    }

    /// True when none is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revocation_is_forgotten_a_minute_after_its_tokens_expire() {
        let revoked = Revoked::default();
        let now = jsonwebtoken::get_current_timestamp();
        revoked.insert("expired-long-ago", now - 61);
        revoked.insert("expiring", now - 30);
        revoked.insert("live", now + 600);
        assert_eq!(revoked.len(), 3, "swept at most every {SWEEP_SECS} s");
        revoked.next_sweep.store(now, Ordering::Relaxed);
        revoked.insert("another", now + 600);
        assert!(!revoked.contains("expired-long-ago"), "a minute past its expiry: gone");
        assert!(revoked.contains("expiring") && revoked.contains("live") && revoked.contains("another"));
    }

    #[test]
    fn a_watch_of_a_key_revoked_before_it_fires_at_once() {
        let revoked = Revoked::default();
        revoked.insert("sid:gone", jsonwebtoken::get_current_timestamp() + 600);
        let watch = revoked.watch(&["jti-1", "sid:gone"], tokio::time::Instant::now());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(watch.poll_revoked(&mut cx).is_ready());
        assert!(revoked.watch(&["jti-2", "sid:other"], tokio::time::Instant::now()).poll_revoked(&mut cx).is_pending());
    }
}
