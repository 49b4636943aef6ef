//! What the Measure panel shows: the last full transport comparison (`bench/compare.sh`) and the
//! short live runs made from browsers.

use serde::{Deserialize, Serialize};

/// One server and transport of the last full comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComparisonRun {
    pub server: String,
    pub transport: String,
    pub connections: u32,
    /// Deliveries per second of the best step that lost nothing and kept p99 under the limit.
    pub max_sustained: f64,
    /// Latency at the lightest load, in ms.
    pub light_p50_ms: f64,
    pub light_p99_ms: f64,
    pub bytes_per_delivery: f64,
}

/// Server memory per idle connection in the last full comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdleRun {
    pub server: String,
    pub transport: String,
    pub kib_per_connection: f64,
}

/// The last full comparison this server was built with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    pub machine: String,
    pub runs: Vec<ComparisonRun>,
    pub idle: Vec<IdleRun>,
}

/// Echo latency of one transport, measured in a browser: send a message, see it come back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Measurement {
    /// `ws`, `sse` or `poll`.
    pub transport: String,
    pub samples: u32,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// (ms, fraction at or below) for a CDF, at most [`MAX_CDF_POINTS`] points.
    pub cdf: Vec<(f64, f64)>,
}

/// Most CDF points a measurement may carry.
pub const MAX_CDF_POINTS: usize = 64;
/// Transports one browser run may report (the UI has five).
pub const MAX_RUN_TRANSPORTS: usize = 8;

/// A live run from one browser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeasureReport {
    /// Who ran it (the server fills it in from the token).
    #[serde(default)]
    pub nickname: String,
    /// RFC 3339 UTC (the server fills it in).
    #[serde(default)]
    pub at: String,
    pub results: Vec<Measurement>,
}

impl Measurement {
    /// Percentiles and a CDF of latency samples in ms.
    pub fn of(transport: &str, samples: &[f64]) -> Measurement {
        let mut s: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
        s.sort_by(f64::total_cmp);
        let at = |q: f64| if s.is_empty() { 0.0 } else { s[((s.len() - 1) as f64 * q).round() as usize] };
        let steps = s.len().clamp(1, MAX_CDF_POINTS);
        let cdf = (1..=steps).filter(|_| !s.is_empty()).map(|i| {
            let q = i as f64 / steps as f64;
            (at(q), q)
        });
        Measurement {
            transport: transport.to_owned(),
            samples: s.len() as u32,
            p50_ms: at(0.5),
            p90_ms: at(0.9),
            p99_ms: at(0.99),
            max_ms: s.last().copied().unwrap_or(0.0),
            cdf: cdf.collect(),
        }
    }
}
