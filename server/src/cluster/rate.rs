//! Per-member message rate limit: a token bucket (`rate_per_sec` refill, `rate_burst` size).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use dungeontalk_app::wire::MemberId;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by member, on this node.
pub struct RateLimit {
    table: Mutex<Table>,
    per_sec: f64,
    burst: f64,
}

struct Table {
    buckets: HashMap<MemberId, Bucket>,
    /// The size at which full buckets are next forgotten: twice what a sweep left, so a table of
    /// busy members is swept now and then, not on every take.
    prune_at: usize,
}

/// Buckets kept before full ones are forgotten (a full bucket is the same as no bucket).
const PRUNE_AT: usize = 10_000;

impl RateLimit {
    /// A limit of `per_sec` on average with bursts of `burst`.
    pub fn new(per_sec: f64, burst: f64) -> RateLimit {
        RateLimit { table: Mutex::new(Table { buckets: HashMap::new(), prune_at: PRUNE_AT }), per_sec, burst }
    }

    /// Buckets held (for the eviction test and `/metrics`).
    pub fn len(&self) -> usize {
        self.table.lock().expect("rate lock").buckets.len()
    }

    /// True when no member has a bucket.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes a token, or says in how many ms one will be there.
    pub fn take(&self, member: &MemberId) -> Result<(), u64> {
        let mut table = self.table.lock().expect("rate lock");
        let now = Instant::now();
        if table.buckets.len() >= table.prune_at {
            self.forget_full(&mut table, now);
        }
        let bucket = table.buckets.entry(member.clone()).or_insert(Bucket { tokens: self.burst, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * self.per_sec).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err((((1.0 - bucket.tokens) / self.per_sec) * 1000.0).ceil() as u64)
        }
    }

    /// Forgets the full buckets (the hub calls this regularly, so the table also shrinks when
    /// nobody takes tokens).
    pub fn sweep(&self) {
        self.forget_full(&mut self.table.lock().expect("rate lock"), Instant::now());
    }

    fn forget_full(&self, table: &mut Table, now: Instant) {
        let (per_sec, burst) = (self.per_sec, self.burst);
        table.buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * per_sec < burst);
        table.prune_at = (table.buckets.len() * 2).max(PRUNE_AT);
    }

    /// Gives back a token taken for something that turned out to cost nothing (a retry).
    pub fn refund(&self, member: &MemberId) {
        if let Some(bucket) = self.table.lock().expect("rate lock").buckets.get_mut(member) {
            bucket.tokens = (bucket.tokens + 1.0).min(self.burst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_next_waits_for_a_refill() {
        let limit = RateLimit::new(2.0, 3.0);
        let me = MemberId("m".into());
        for _ in 0..3 {
            assert!(limit.take(&me).is_ok());
        }
        let wait = limit.take(&me).unwrap_err();
        assert!((400..=500).contains(&wait), "one token at 2/s takes ≤ 500 ms, got {wait}");
        assert!(limit.take(&MemberId("other".into())).is_ok(), "per member");
    }

    #[test]
    fn full_buckets_are_forgotten_when_the_table_is_full_and_busy_ones_are_kept() {
        // Refilled within a millisecond: every bucket is full again right after its take.
        let limit = RateLimit::new(10_000.0, 1.0);
        for i in 0..PRUNE_AT {
            limit.take(&MemberId(format!("m{i}"))).unwrap();
        }
        assert_eq!(limit.len(), PRUNE_AT);
        std::thread::sleep(std::time::Duration::from_millis(5));
        limit.take(&MemberId("late".into())).unwrap();
        assert_eq!(limit.len(), 1, "the full buckets went; the new one stays");
        // Buckets still being drained are not forgotten: they hold a wait a member must serve.
        let slow = RateLimit::new(0.001, 1.0);
        for i in 0..PRUNE_AT + 10 {
            slow.take(&MemberId(format!("m{i}"))).unwrap();
        }
        assert_eq!(slow.len(), PRUNE_AT + 10, "nothing is full, nothing is forgotten");
        assert!(slow.take(&MemberId("m0".into())).is_err(), "m0 still waits");
        // The regular sweep forgets full buckets whatever the table's size.
        let few = RateLimit::new(10_000.0, 1.0);
        few.take(&MemberId("a".into())).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        few.sweep();
        assert!(few.is_empty());
    }
}
