//! The ops view: what each node of the cluster reports about itself, as the UI's ops panel
//! shows it (read through the `cluster_ops` server function (`/api/fn/ops_view`)).

use serde::{Deserialize, Serialize};

/// Open connections of one transport on a node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransportCount {
    /// `ws`, `sse` or `poll` (parked polls).
    pub transport: String,
    pub connections: i64,
}

/// How far one consumer of the room log is behind the log's end in one partition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupLag {
    /// `reader` (this node's own reader of every partition) or a consumer group's name.
    pub group: String,
    pub partition: i32,
    /// Events written but not yet read.
    pub lag: i64,
}

/// One node's numbers, reported every few seconds to the shared state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStats {
    pub node: String,
    /// Unix time in ms when the node reported them.
    pub reported_at_ms: u64,
    pub connections: Vec<TransportCount>,
    /// Rooms with readers on this node.
    pub rooms: u32,
    /// Events delivered to clients since the node started.
    pub deliveries: u64,
    /// RESYNC frames sent since the node started (readers that fell a whole ring behind).
    pub resyncs: u64,
    pub consumer_lag: Vec<GroupLag>,
}

/// The cluster as the ops panel shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpsView {
    /// The node that answered.
    pub node: String,
    /// The backends in use: store, log and shared state (`embedded`/`mongodb`, `local`/`kafka`,
    /// `local`/`redis`).
    pub store: String,
    pub log: String,
    pub shared: String,
    /// Every node that reported lately, by name.
    pub nodes: Vec<NodeStats>,
}
