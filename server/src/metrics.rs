//! Prometheus metrics (`GET /metrics`): one registry per server, handles resolved once so the
//! hot paths only add to an atomic.

use dungeontalk_app::wire::{GroupLag, NodeStats, TransportCount};
use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The transports, as metric labels.
pub const TRANSPORTS: [&str; 5] = ["ws", "sse", "poll", "stomp", "sockjs"];

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    /// Open connections per transport (`ws`, `sse`, `poll` for parked polls, `stomp`, `sockjs`).
    pub connections: IntGaugeVec,
    /// Members with an open connection anywhere, per room with readers on this node (set when
    /// scraped, so rooms without readers here drop out).
    pub room_members: IntGaugeVec,
    /// Room events this node appended to the log.
    pub events_appended: IntCounter,
    /// Room events this node received from the log (every node counts every event once).
    pub events_received: IntCounter,
    /// Events written to clients, per transport.
    pub deliveries: IntCounterVec,
    /// RESYNC frames sent to clients that fell a whole queue behind.
    pub resyncs: IntCounter,
    /// From the draft being made to the event reaching this node's inbox.
    pub append_to_deliver: Histogram,
    /// Failed calls to a backend, by backend (`store`, `log`, `redis`).
    pub backend_errors: IntCounterVec,
    /// Events in the topic that a consumer has not read yet, by group and partition.
    pub consumer_lag: IntGaugeVec,
    /// Partitions a log consumer stopped at an event it cannot decode: the event's seq, by
    /// consumer (`reader`, `store`) and partition. Absent when none is stopped.
    pub log_parked: IntGaugeVec,
    /// Rooms with a ring on this node (rooms that have readers here).
    pub rings: IntGauge,
    /// Entries of each per-key table in this node's memory (set when scraped): all of them have
    /// an eviction rule, so this returns towards zero when the keys go away.
    pub table_entries: IntGaugeVec,
    /// What the local game master's model has computed since start (set when scraped): turns,
    /// prompt tokens computed and reused, tokens generated, and microseconds spent on each.
    pub gm_work: IntGaugeVec,
    /// Bytes the allocator holds for live data, and bytes of its pages in memory (set when
    /// scraped; 0 when jemalloc is not the allocator, as in unit tests).
    pub heap: IntGaugeVec,
}

fn register<T: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: T) -> T {
    registry.register(Box::new(metric.clone())).expect("metric names are unique");
    metric
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Metrics {
        let r = Registry::new_custom(Some("dungeontalk".into()), None).expect("a valid prefix");
        let opts = |name: &str, help: &str| Opts::new(name, help);
        let buckets = vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
        Metrics {
            connections: register(
                &r,
                IntGaugeVec::new(opts("connections", "Open connections per transport."), &["transport"]).unwrap(),
            ),
            room_members: register(
                &r,
                IntGaugeVec::new(opts("room_members", "Members with an open connection, per room."), &["room"])
                    .unwrap(),
            ),
            events_appended: register(
                &r,
                IntCounter::with_opts(opts("events_appended_total", "Room events this node appended.")).unwrap(),
            ),
            events_received: register(
                &r,
                IntCounter::with_opts(opts("events_received_total", "Room events this node received from the log."))
                    .unwrap(),
            ),
            deliveries: register(
                &r,
                IntCounterVec::new(opts("deliveries_total", "Events written to clients."), &["transport"]).unwrap(),
            ),
            resyncs: register(&r, IntCounter::with_opts(opts("resyncs_total", "RESYNC frames sent.")).unwrap()),
            append_to_deliver: register(
                &r,
                Histogram::with_opts(
                    HistogramOpts::new("append_to_deliver_seconds", "From append to this node's inbox.")
                        .buckets(buckets),
                )
                .unwrap(),
            ),
            backend_errors: register(
                &r,
                IntCounterVec::new(opts("backend_errors_total", "Failed backend calls."), &["backend"]).unwrap(),
            ),
            consumer_lag: register(
                &r,
                IntGaugeVec::new(
                    opts("consumer_lag", "Unread events per consumer group and partition."),
                    &["group", "partition"],
                )
                .unwrap(),
            ),
            log_parked: register(
                &r,
                IntGaugeVec::new(
                    opts("log_parked", "The seq a log consumer stopped at, per consumer and partition."),
                    &["group", "partition"],
                )
                .unwrap(),
            ),
            rings: register(&r, IntGauge::with_opts(opts("rings", "Rooms with readers on this node.")).unwrap()),
            table_entries: register(
                &r,
                IntGaugeVec::new(opts("table_entries", "Entries of each per-key table in memory."), &["table"])
                    .unwrap(),
            ),
            gm_work: register(
                &r,
                IntGaugeVec::new(opts("gm_work", "What the local game master's model has computed."), &["kind"])
                    .unwrap(),
            ),
            heap: register(
                &r,
                IntGaugeVec::new(opts("heap_bytes", "Allocator bytes: allocated (live) and resident."), &["kind"])
                    .unwrap(),
            ),
            registry: r,
        }
    }

    /// Counts one open connection of `transport` until the guard is dropped.
    pub fn connection(&self, transport: &'static str) -> ConnectionGuard {
        let gauge = self.connections.with_label_values(&[transport]);
        gauge.inc();
        ConnectionGuard(gauge)
    }

    /// This node's numbers for the ops view, as of now.
    pub fn stats(&self, node: &str, reported_at_ms: u64) -> NodeStats {
        let connections = TRANSPORTS
            .iter()
            .map(|t| TransportCount {
                transport: (*t).to_owned(),
                connections: self.connections.with_label_values(&[t]).get(),
            })
            .collect();
        let mut consumer_lag = Vec::new();
        // Only this vector is read (not the whole registry): every group and partition it holds.
        for family in prometheus::core::Collector::collect(&self.consumer_lag) {
            for m in family.get_metric() {
                let label = |name: &str| m.get_label().iter().find(|l| l.name() == name).map(|l| l.value().to_owned());
                if let (Some(group), Some(partition)) = (label("group"), label("partition")) {
                    let partition = partition.parse().unwrap_or(-1);
                    consumer_lag.push(GroupLag { group, partition, lag: m.get_gauge().get_value() as i64 });
                }
            }
        }
        NodeStats {
            node: node.to_owned(),
            reported_at_ms,
            connections,
            rooms: self.rings.get().max(0) as u32,
            deliveries: TRANSPORTS.iter().map(|t| self.deliveries.with_label_values(&[t]).get()).sum(),
            resyncs: self.resyncs.get(),
            consumer_lag,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        self.read_heap();
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out).expect("text encoding never fails");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

impl Metrics {
    fn read_heap(&self) {
        use tikv_jemalloc_ctl::{epoch, stats};
        // The allocator's statistics are cached until the epoch moves.
        if epoch::advance().is_err() {
            return;
        }
        if let (Ok(allocated), Ok(resident)) = (stats::allocated::read(), stats::resident::read()) {
            self.heap.with_label_values(&["allocated"]).set(allocated as i64);
            self.heap.with_label_values(&["resident"]).set(resident as i64);
        }
    }
}

/// One open connection in the `connections` gauge.
pub struct ConnectionGuard(IntGauge);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
