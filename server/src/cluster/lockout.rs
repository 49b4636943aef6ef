//! Failed-login back-off and lockout, per account name, without sleeping in a handler: a login
//! that comes too early is refused at once with how long to wait.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Entry {
    failures: u32,
    until: Option<Instant>,
}

/// Back-off after each failure (base × 2^(n−1)); after `lock_after` failures in a row, a lock.
pub struct Lockout {
    entries: Mutex<HashMap<String, Entry>>,
    backoff_base: Duration,
    lock_after: u32,
    lock_for: Duration,
}

impl Lockout {
    /// A lockout with these limits.
    pub fn new(backoff_base: Duration, lock_after: u32, lock_for: Duration) -> Lockout {
        Lockout { entries: Mutex::new(HashMap::new()), backoff_base, lock_after: lock_after.max(1), lock_for }
    }

    /// `Err(wait)` while the name is backing off or locked.
    pub fn check(&self, name: &str) -> Result<(), Duration> {
        let entries = self.entries.lock().expect("lockout lock");
        match entries.get(name).and_then(|e| e.until) {
            Some(until) if until > Instant::now() => Err(until - Instant::now()),
            _ => Ok(()),
        }
    }

    /// Records a failure; returns how long the name must now wait, and whether that is a lock.
    pub fn failed(&self, name: &str) -> (Duration, bool) {
        let mut entries = self.entries.lock().expect("lockout lock");
        if entries.len() >= PRUNE_AT {
            self.forget_quiet(&mut entries);
        }
        let entry = entries.entry(name.to_owned()).or_default();
        entry.failures += 1;
        let (wait, locked) = if entry.failures >= self.lock_after {
            entry.failures = 0;
            (self.lock_for, true)
        } else {
            let wait = self.backoff_base.saturating_mul(1 << (entry.failures - 1).min(16));
            (wait.min(self.lock_for), false)
        };
        entry.until = Some(Instant::now() + wait);
        (wait, locked)
    }

    /// Forgets names quiet for a whole lock period, as Redis expires them (the hub calls this
    /// regularly; a full table also does).
    pub fn sweep(&self) {
        self.forget_quiet(&mut self.entries.lock().expect("lockout lock"));
    }

    fn forget_quiet(&self, entries: &mut HashMap<String, Entry>) {
        let lock_for = self.lock_for;
        entries.retain(|_, e| e.until.is_some_and(|u| u + lock_for > Instant::now()));
    }

    /// A successful login clears the record.
    pub fn succeeded(&self, name: &str) {
        self.entries.lock().expect("lockout lock").remove(name);
    }

    /// Names with a record (for the eviction test).
    pub fn len(&self) -> usize {
        self.entries.lock().expect("lockout lock").len()
    }

    /// True when no name has a record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Records kept before quiet ones are forgotten.
const PRUNE_AT: usize = 10_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_doubling_then_locks_and_a_success_clears() {
        let l = Lockout::new(Duration::from_millis(100), 3, Duration::from_secs(600));
        assert!(l.check("aria").is_ok());
        assert_eq!(l.failed("aria"), (Duration::from_millis(100), false));
        assert!(l.check("aria").is_err(), "backing off");
        assert_eq!(l.failed("aria"), (Duration::from_millis(200), false));
        assert_eq!(l.failed("aria"), (Duration::from_secs(600), true));
        assert!(l.check("aria").unwrap_err() > Duration::from_secs(599));
        assert!(l.check("bo").is_ok(), "per name");
        l.succeeded("aria");
        assert!(l.check("aria").is_ok());
    }

    #[test]
    fn quiet_names_are_forgotten_when_the_table_is_full() {
        let l = Lockout::new(Duration::from_millis(1), 5, Duration::from_millis(20));
        for i in 0..PRUNE_AT {
            l.failed(&format!("name-{i}"));
        }
        assert_eq!(l.len(), PRUNE_AT);
        std::thread::sleep(Duration::from_millis(50));
        l.failed("fresh");
        assert_eq!(l.len(), 1, "memory returns once the names have gone quiet");
        std::thread::sleep(Duration::from_millis(50));
        l.sweep();
        assert!(l.is_empty(), "the regular sweep forgets quiet names whatever the table's size");
    }
}
