//! The access tokens this node knows to be revoked (logged out), and a signal for open
//! connections to check whether theirs was one. Fed by the cluster's channel, so a logout on any
//! node reaches every node.

use std::collections::HashMap;
use std::sync::RwLock;

use tokio::sync::watch;

/// Revoked token ids (`jti`) with the time each would have expired anyway.
pub struct Revoked {
    /// jti → expiry (unix seconds); entries are dropped a minute after they expire.
    map: RwLock<HashMap<String, u64>>,
    /// Bumped on every revocation, so open connections can check whether theirs was the one.
    changes: watch::Sender<u64>,
}

impl Default for Revoked {
    fn default() -> Self {
        Revoked { map: RwLock::new(HashMap::new()), changes: watch::Sender::new(0) }
    }
}

impl Revoked {
    /// Notes a revoked token until `exp`, when it would have died anyway.
    pub fn insert(&self, jti: &str, exp: u64) {
        let now = jsonwebtoken::get_current_timestamp();
        let mut map = self.map.write().expect("revoked lock");
        map.retain(|_, e| *e + 60 > now);
        map.insert(jti.to_owned(), exp);
        drop(map);
        self.changes.send_modify(|n| *n += 1);
    }

    /// Whether the token was revoked.
    pub fn contains(&self, jti: &str) -> bool {
        self.map.read().expect("revoked lock").contains_key(jti)
    }

    /// A receiver that changes whenever a token is revoked.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
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
