//! The real services the distributed tests run: Redis, a Kafka-API broker (nisshi) and a
//! MongoDB-wire server (SecantusDB), and for a broker that must survive a restart, the PostgreSQL
//! it keeps its topics in. Each starts on a free port with its own data, answers before a test
//! uses it, and is killed by PID when dropped (also when the test fails).

mod postgres;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// One running service.
pub struct Service {
    child: Option<Child>,
    pub port: u16,
    kind: Kind,
    /// Keeps its data on disk, so it can be stopped and started again (slower: outage tests only).
    durable: bool,
    /// The PostgreSQL a durable broker keeps its topics in (stopped after the broker, when dropped).
    backing: Option<Box<Service>>,
    _dir: tempfile::TempDir,
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Redis,
    Mongo,
    Kafka,
    Postgres,
}

/// A port nobody listens on right now, unique in this test run, and below the kernel's ephemeral
/// range: a port from that range (what binding port 0 gives) can be handed to another test's
/// server, or to an outgoing connection, between this check and the service binding it.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let low: u32 = range.split_whitespace().next().and_then(|p| p.parse().ok()).unwrap_or(32768);
    let (first, span) = (low.saturating_sub(12_000).max(1024), low.saturating_sub(1024).min(12_000));
    // Test runs in parallel processes start far apart.
    let start = std::process::id().wrapping_mul(7919);
    loop {
        let port = (first + start.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)) % span) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn tool(env: &str, default: &str) -> PathBuf {
    let path = std::env::var(env).map(PathBuf::from).unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_default();
        PathBuf::from(default.replace("~", &home))
    });
    assert!(path.exists(), "{} not found (set {env} or run `bash .ci/setup tools`)", path.display());
    path
}

impl Service {
    /// `redis-server` with nothing persisted.
    pub async fn redis() -> Service {
        Service::start_with(Kind::Redis, false).await
    }

    /// SecantusDB in memory (replica-set mode, as MongoDB clients expect).
    pub async fn mongo() -> Service {
        Service::start_with(Kind::Mongo, false).await
    }

    /// nisshi with in-memory storage.
    pub async fn kafka() -> Service {
        Service::start_with(Kind::Kafka, false).await
    }

    /// Each keeping its data, so it can be stopped and started again: Redis in an fsynced
    /// append-only file, SecantusDB in its folder, nisshi in a PostgreSQL of its own.
    pub async fn durable() -> (Service, Service, Service) {
        let kafka = async {
            let postgres = Service::start_with(Kind::Postgres, true).await;
            let mut kafka = Service::unstarted(Kind::Kafka, true);
            kafka.backing = Some(Box::new(postgres));
            kafka.spawn().await;
            kafka
        };
        tokio::join!(Service::start_with(Kind::Redis, true), kafka, Service::start_with(Kind::Mongo, true))
    }

    fn unstarted(kind: Kind, durable: bool) -> Service {
        let dir = tempfile::tempdir().unwrap();
        Service { child: None, port: free_port(), kind, durable, backing: None, _dir: dir }
    }

    async fn start_with(kind: Kind, durable: bool) -> Service {
        let mut service = Service::unstarted(kind, durable);
        if let Kind::Postgres = kind {
            postgres::init(service._dir.path());
        }
        service.spawn().await;
        service
    }

    /// Stops it (SIGTERM, as an operator would) and waits until it has exited.
    pub async fn stop(&mut self) {
        let mut child = self.child.take().expect("running");
        let pid = child.id().expect("running").to_string();
        let _ = std::process::Command::new("kill").args(["-TERM", &pid]).status();
        if tokio::time::timeout(Duration::from_secs(20), child.wait()).await.is_err() {
            let _ = child.kill().await;
        }
    }

    /// Freezes it (SIGSTOP): its connections stay open and nothing answers, as with a hung
    /// server or a network partition.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Lets a frozen service go on (SIGCONT).
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().and_then(Child::id).expect("running").to_string();
        assert!(std::process::Command::new("kill").args([sig, &pid]).status().unwrap().success());
    }

    /// Starts it again on the same port with the data it kept.
    pub async fn start_again(&mut self) {
        assert!(self.durable, "only a durable service keeps its data over a restart");
        self.spawn().await;
    }

    /// Starts an in-memory service again on the same port, with nothing in it (a topic deleted
    /// and made anew, as far as its clients can tell).
    pub async fn start_empty(&mut self) {
        assert!(!self.durable, "a durable service would keep its data");
        self.spawn().await;
    }

    fn command(&self) -> Command {
        let port = self.port.to_string();
        let mut cmd = match self.kind {
            Kind::Redis => {
                let mut c = Command::new(tool("DUNGEONTALK_REDIS_SERVER", "/usr/bin/redis-server"));
                let aof = if self.durable {
                    ["--appendonly", "yes", "--appendfsync", "always"]
                } else {
                    ["--appendonly", "no", "--appendfsync", "no"]
                };
                c.args(["--port", &port, "--bind", "127.0.0.1", "--save", ""]).args(aof);
                c.arg("--dir").arg(self._dir.path());
                c
            }
            Kind::Mongo => {
                let bin = tool("DUNGEONTALK_SECANTUS", "~/.cache/dungeontalk-tools/secantus/bin/secantusd-py");
                let mut c = Command::new(bin);
                let storage = if self.durable { self._dir.path().join("mongo") } else { PathBuf::from(":memory:") };
                c.args(["--host", "127.0.0.1", "--port", &port, "--storage-path"]).arg(storage);
                c.args(["--cache-size", "256M"]);
                c
            }
            Kind::Kafka => {
                let url = format!("tcp://127.0.0.1:{port}");
                let mut c = Command::new(tool("DUNGEONTALK_NISSHI", "~/.cache/dungeontalk-tools/nisshi/bin/nisshi"));
                c.args(["broker", "--listener-url", &url, "--advertised-listener-url", &url]);
                let storage = self.backing.as_ref().map_or_else(|| "memory://nisshi/".to_owned(), |pg| pg.url());
                c.current_dir(self._dir.path());
                c.args(["--storage-engine", &storage, "--group-initial-rebalance-delay", "0s"]);
                c
            }
            Kind::Postgres => postgres::server(self._dir.path(), self.port),
        };
        cmd.stdout(Stdio::null()).stderr(Stdio::null()).kill_on_drop(true);
        cmd
    }

    async fn spawn(&mut self) {
        let mut child = self.command().spawn().unwrap_or_else(|e| panic!("cannot start {:?}: {e}", self.kind));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            // One that exited (say, its port was taken meanwhile) must not pass for one that answers.
            if let Some(exit) = child.try_wait().unwrap() {
                panic!("{:?} ended before it answered on {}: {exit}", self.kind, self.port);
            }
            if TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() && self.answers().await {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{:?} did not answer on {} in 30 s", self.kind, self.port);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.child = Some(child);
    }

    /// Whether it serves requests yet (PostgreSQL listens before it accepts sessions).
    async fn answers(&self) -> bool {
        match self.kind {
            Kind::Postgres => postgres::ready(self.port).await,
            _ => true,
        }
    }

    /// The address a client connects to.
    pub fn url(&self) -> String {
        match self.kind {
            Kind::Redis => format!("redis://127.0.0.1:{}", self.port),
            Kind::Mongo => format!("mongodb://127.0.0.1:{}/dungeontalk", self.port),
            Kind::Kafka => format!("127.0.0.1:{}", self.port),
            Kind::Postgres => format!("postgres://postgres@127.0.0.1:{}/postgres", self.port),
        }
    }
}
