//! Several `dungeontalk` nodes over one set of real backends: Redis, the nisshi Kafka-API broker
//! and SecantusDB, each started for the test on a free port and killed by PID at the end.

use std::time::Duration;

use crate::services::Service;
use crate::support::{JWT_SECRET, TestServer};

/// The backends several nodes share.
pub struct Backends {
    pub redis: Service,
    pub mongo: Service,
    pub kafka: Service,
}

/// How long a node's presence outlives it in these tests (the setting's minimum is 3 s).
pub const PRESENCE_TTL_SECS: u64 = 3;

impl Backends {
    /// Starts Redis, the broker and the store side by side.
    pub async fn start() -> Backends {
        let (redis, mongo, kafka) = tokio::join!(Service::redis(), Service::mongo(), Service::kafka());
        Backends { redis, mongo, kafka }
    }

    /// Backends that keep their data, for the outage tests that stop one and start it again.
    pub async fn durable() -> Backends {
        let (redis, kafka, mongo) = Service::durable().await;
        Backends { redis, mongo, kafka }
    }

    /// A node named `name` on these backends, with extra `DUNGEONTALK_*` settings.
    pub async fn node(&self, name: &str, extra: &[(&str, &str)]) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let (mongo, kafka, redis) = (self.mongo.url(), self.kafka.url(), self.redis.url());
        let ttl = PRESENCE_TTL_SECS.to_string();
        let mut env: Vec<(&str, &str)> = vec![
            ("DUNGEONTALK_JWT_SECRET", JWT_SECRET),
            ("DUNGEONTALK_MONGODB_URI", &mongo),
            ("DUNGEONTALK_KAFKA_BROKERS", &kafka),
            ("DUNGEONTALK_KAFKA_PARTITIONS", "4"),
            ("DUNGEONTALK_REDIS_URL", &redis),
            ("DUNGEONTALK_NODE_ID", name),
            ("DUNGEONTALK_PRESENCE_TTL_SECS", &ttl),
        ];
        env.extend_from_slice(extra);
        Node { server: TestServer::spawn(dir.path(), &env).await, _dir: dir }
    }
}

/// One node (its data dir holds nothing that matters: everything is in the backends).
pub struct Node {
    pub server: TestServer,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Node {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.server
    }
}

impl Node {
    /// kill -9.
    pub async fn kill(self) {
        self.server.kill().await;
    }
}

/// Waits a little for asynchronous settling that a test then checks with `eventually`.
pub async fn pause(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}
