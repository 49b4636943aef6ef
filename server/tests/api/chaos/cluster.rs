//! Three nodes over backends that keep their data, each of which the fault schedule may take
//! down and bring back; clients ask for a live node's address at every (re)connection.

use std::sync::{Mutex, RwLock};
use std::time::Duration;

use crate::nodes::{Backends, Node};
use crate::support::TestServer;

use super::Rng;

/// The node names; a restarted node keeps its name (and so its reader's consumer group).
const NAMES: [&str; 3] = ["a", "b", "c"];

/// Settings every node gets: failures show within 2 s, not 5.
const SETTINGS: [(&str, &str); 1] = [("DUNGEONTALK_BACKEND_TIMEOUT_MS", "2000")];

pub struct Cluster {
    pub backends: tokio::sync::Mutex<Backends>,
    nodes: Mutex<Vec<Option<Node>>>,
    bases: RwLock<Vec<Option<String>>>,
    pub http: reqwest::Client,
}

impl Cluster {
    /// Starts the backends (durable: Redis with its append-only file, the broker on PostgreSQL,
    /// the store on disk) and three nodes.
    pub async fn start() -> Cluster {
        let backends = Backends::durable().await;
        let mut nodes = Vec::new();
        for name in NAMES {
            nodes.push(Some(backends.node(name, &SETTINGS).await));
        }
        let bases = nodes.iter().map(|n| n.as_ref().map(|n| n.base.clone())).collect();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
        Cluster {
            backends: tokio::sync::Mutex::new(backends),
            nodes: Mutex::new(nodes),
            bases: RwLock::new(bases),
            http,
        }
    }

    /// A live node's address, chosen by `rng`.
    pub fn pick(&self, rng: &mut Rng) -> Option<String> {
        let bases = self.bases.read().unwrap();
        let live: Vec<&String> = bases.iter().flatten().collect();
        (!live.is_empty()).then(|| live[rng.range(0, live.len() as u64) as usize].clone())
    }

    /// A client of the first live node.
    pub fn any(&self) -> TestServer {
        TestServer::at(self.bases.read().unwrap().iter().flatten().next().expect("a live node").clone())
    }

    /// The live nodes' addresses.
    pub fn live(&self) -> Vec<String> {
        self.bases.read().unwrap().iter().flatten().cloned().collect()
    }

    /// Indexes of the live nodes.
    pub fn up(&self) -> Vec<usize> {
        (0..NAMES.len()).filter(|&i| self.bases.read().unwrap()[i].is_some()).collect()
    }

    /// kill -9 of node `i`.
    pub async fn kill(&self, i: usize) {
        self.bases.write().unwrap()[i] = None;
        let node = self.nodes.lock().unwrap()[i].take();
        if let Some(node) = node {
            node.kill().await;
        }
    }

    /// Starts node `i` again (on a new port).
    pub async fn restart(&self, i: usize) {
        let node = self.backends.lock().await.node(NAMES[i], &SETTINGS).await;
        self.bases.write().unwrap()[i] = Some(node.base.clone());
        self.nodes.lock().unwrap()[i] = Some(node);
    }

    /// Starts every node that is down.
    pub async fn heal(&self) {
        for i in 0..NAMES.len() {
            if self.bases.read().unwrap()[i].is_none() {
                self.restart(i).await;
            }
        }
    }

    /// Stops every node (the backends stop when the cluster is dropped).
    pub async fn stop(&self) {
        for i in 0..NAMES.len() {
            self.kill(i).await;
        }
    }
}
