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
    buckets: Mutex<HashMap<MemberId, Bucket>>,
    per_sec: f64,
    burst: f64,
}

/// Buckets kept before full ones are forgotten (a full bucket is the same as no bucket).
const PRUNE_AT: usize = 10_000;

impl RateLimit {
    /// A limit of `per_sec` on average with bursts of `burst`.
    pub fn new(per_sec: f64, burst: f64) -> RateLimit {
        RateLimit { buckets: Mutex::new(HashMap::new()), per_sec, burst }
    }

    /// Takes a token, or says in how many ms one will be there.
    pub fn take(&self, member: &MemberId) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().expect("rate lock");
        let now = Instant::now();
        if buckets.len() >= PRUNE_AT {
            let (per_sec, burst) = (self.per_sec, self.burst);
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * per_sec < burst);
        }
        let bucket = buckets.entry(member.clone()).or_insert(Bucket { tokens: self.burst, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * self.per_sec).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err((((1.0 - bucket.tokens) / self.per_sec) * 1000.0).ceil() as u64)
        }
    }

    /// Gives back a token taken for something that turned out to cost nothing (a retry).
    pub fn refund(&self, member: &MemberId) {
        if let Some(bucket) = self.buckets.lock().expect("rate lock").get_mut(member) {
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
}
