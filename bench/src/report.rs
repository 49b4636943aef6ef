//! The results a run writes (JSON), read back by `dtbench plot`.

use serde::{Deserialize, Serialize};

/// Latency percentiles in milliseconds.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    /// (latency ms, fraction at or below) points for a CDF plot.
    pub cdf: Vec<(f64, f64)>,
}

impl Latency {
    /// Percentiles of a histogram recorded in microseconds.
    pub fn of(h: &hdrhistogram::Histogram<u64>) -> Latency {
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        let cdf = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999, 1.0]
            .iter()
            .map(|&q| (ms(q), q))
            .collect();
        Latency { p50: ms(0.5), p90: ms(0.9), p99: ms(0.99), p999: ms(0.999), max: h.max() as f64 / 1000.0, cdf }
    }
}

/// One load level of a fan-out run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Step {
    /// Messages per second the senders were asked to send (all rooms together).
    pub rate: u64,
    pub sent: u64,
    /// Every (message, subscriber) pair that should have arrived.
    pub expected: u64,
    pub delivered: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub deliveries_per_sec: f64,
    pub bytes_per_delivery: f64,
    pub latency: Latency,
    /// Nothing lost or doubled and p99 within the limit.
    pub passed: bool,
}

/// A fan-out run against one server and transport.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Fanout {
    pub server: String,
    pub transport: String,
    pub rooms: usize,
    pub subscribers_per_room: usize,
    pub p99_limit_ms: f64,
    pub steps: Vec<Step>,
    /// The highest deliveries/s of a passing step.
    pub max_sustained: f64,
    pub handshake_bytes: f64,
}

/// Server memory per idle connection.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Idle {
    pub server: String,
    pub transport: String,
    pub connections: usize,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    pub kib_per_connection: f64,
}

/// A reconnect storm: every client drops and comes back at once.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Storm {
    pub server: String,
    pub transport: String,
    pub clients: usize,
    /// Until every client had its connection again.
    pub reconnected_ms: f64,
    /// Until every client had received a message sent after the storm began (all it missed
    /// before that, for servers that resume).
    pub caught_up_ms: f64,
    pub failed: usize,
}

/// Games played against one server: the game master's speed and chat beside it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Game {
    pub server: String,
    /// Games played at once.
    pub games: usize,
    pub turns: u32,
    /// From a turn closing to the first words of its answer.
    pub first_chunk: Latency,
    /// Narrated characters per second while an answer streams.
    pub chars_per_sec: f64,
    /// The model's tokens per second and prompt tokens per turn (computed, reused), from the
    /// server's `dungeontalk_gm_work` (zero for a narrator without a model).
    pub tokens_per_sec: f64,
    pub prompt_tokens_per_turn: f64,
    pub reused_tokens_per_turn: f64,
    pub rss_kib: u64,
    pub rss_peak_kib: u64,
    /// Chat echo latency in another room with no game running, and while the games narrate.
    pub chat_idle: Latency,
    pub chat_during: Latency,
    /// With two nodes: a chunk from made on the narrating node to a client of the other node
    /// (over Redis `aichat.{room}`).
    #[serde(default)]
    pub cross_node: Option<Latency>,
}

/// Everything one `dtbench` invocation measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Results {
    pub machine: String,
    pub fanout: Vec<Fanout>,
    pub idle: Vec<Idle>,
    pub storm: Vec<Storm>,
    #[serde(default)]
    pub game: Vec<Game>,
}
