//! What one subscriber saw during one load step: every delivery counted (never assumed), by the
//! message it carried, so losses and duplicates are exact; latency from the send instant carried in
//! the message.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use hdrhistogram::Histogram;

/// The generator's clock: every send and receive instant is measured from here (same process).
pub fn clock() -> &'static Instant {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now)
}

/// Nanoseconds since [`clock`].
pub fn now_ns() -> u64 {
    clock().elapsed().as_nanos() as u64
}

/// A message's body: `step|room|n|sent_ns` (only characters no protocol escapes).
pub fn body(step: u32, room: usize, n: u64) -> String {
    format!("{step}|{room}|{n}|{}", now_ns())
}

/// The parts of a body.
pub struct Parsed {
    pub step: u32,
    pub n: u64,
    pub sent_ns: u64,
}

/// Reads a body; `None` for anything else (history, other traffic).
pub fn parse(body: &str) -> Option<Parsed> {
    let mut it = body.split('|');
    let step = it.next()?.parse().ok()?;
    let _room: usize = it.next()?.parse().ok()?;
    let n = it.next()?.parse().ok()?;
    let sent_ns = it.next()?.parse().ok()?;
    Some(Parsed { step, n, sent_ns })
}

/// One step's tally of one subscriber.
pub struct Tally {
    /// Bit `n` set: message `n` of this step arrived.
    seen: Vec<u64>,
    pub unique: u64,
    pub duplicates: u64,
    pub bytes: u64,
    /// Latency in microseconds.
    pub latency: Histogram<u64>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            seen: Vec::new(),
            unique: 0,
            duplicates: 0,
            bytes: 0,
            latency: Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid bounds"),
        }
    }
}

/// A subscriber's probe: the current step's tally, swapped out when the step ends.
pub struct Probe {
    step: AtomicU32,
    tally: Mutex<Tally>,
    /// The send instant of the newest message seen (a reconnect storm waits for fresh ones).
    latest: AtomicU64,
}

impl Default for Probe {
    fn default() -> Self {
        Probe { step: AtomicU32::new(0), tally: Mutex::new(Tally::new()), latest: AtomicU64::new(0) }
    }
}

impl Probe {
    /// Counts one delivery that took `wire` bytes; messages of other steps are ignored.
    pub fn deliver(&self, body: &str, wire: usize) {
        let Some(p) = parse(body) else { return };
        let received = now_ns();
        self.latest.fetch_max(p.sent_ns, Ordering::Relaxed);
        if p.step != self.step.load(Ordering::Relaxed) {
            return;
        }
        let mut t = self.tally.lock().expect("probe lock");
        let (word, bit) = ((p.n / 64) as usize, p.n % 64);
        if t.seen.len() <= word {
            t.seen.resize(word + 1, 0);
        }
        if t.seen[word] & (1 << bit) != 0 {
            t.duplicates += 1;
            return;
        }
        t.seen[word] |= 1 << bit;
        t.unique += 1;
        t.bytes += wire as u64;
        let us = received.saturating_sub(p.sent_ns) / 1000;
        let _ = t.latency.record(us.max(1));
    }

    /// The send instant of the newest message this subscriber has seen.
    pub fn latest_sent_ns(&self) -> u64 {
        self.latest.load(Ordering::Relaxed)
    }

    /// Starts counting step `step` afresh and returns the previous step's tally.
    pub fn next_step(&self, step: u32) -> Tally {
        self.step.store(step, Ordering::Relaxed);
        std::mem::replace(&mut *self.tally.lock().expect("probe lock"), Tally::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_message_counts_once_and_repeats_are_duplicates() {
        let probe = Probe::default();
        probe.next_step(1);
        for n in [0u64, 1, 2, 1, 70] {
            probe.deliver(&body(1, 3, n), 10);
        }
        probe.deliver(&body(2, 3, 5), 10);
        probe.deliver("not a body", 10);
        let t = probe.next_step(2);
        assert_eq!((t.unique, t.duplicates, t.bytes), (4, 1, 40));
        assert_eq!(t.latency.len(), 4);
    }
}
