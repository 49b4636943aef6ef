//! The real services the distributed tests run: Redis, a Kafka-API broker (nisshi) and a
//! MongoDB-wire server (SecantusDB). Each starts on a free port with its own data, answers before
//! a test uses it, and is killed by PID when dropped (also when the test fails).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
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
    _dir: tempfile::TempDir,
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Redis,
    Mongo,
    Kafka,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
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

    /// Redis and SecantusDB keeping their data in their folders (Redis: an fsynced append-only
    /// file), so each can be stopped and started again; nisshi in memory (a broker restart needs
    /// its sqlite:// engine, which CI does not build yet).
    pub async fn durable() -> (Service, Service, Service) {
        tokio::join!(
            Service::start_with(Kind::Redis, true),
            Service::start_with(Kind::Kafka, false),
            Service::start_with(Kind::Mongo, true)
        )
    }

    async fn start_with(kind: Kind, durable: bool) -> Service {
        let dir = tempfile::tempdir().unwrap();
        let mut service = Service { child: None, port: free_port(), kind, durable, _dir: dir };
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
                // A sqlite:// path is relative to the broker's working directory: its folder.
                let storage = if self.durable { "sqlite://nisshi.db" } else { "memory://nisshi/" };
                c.current_dir(self._dir.path());
                c.args(["--storage-engine", storage, "--group-initial-rebalance-delay", "0s"]);
                c
            }
        };
        cmd.stdout(Stdio::null()).stderr(Stdio::null()).kill_on_drop(true);
        cmd
    }

    async fn spawn(&mut self) {
        let child = self.command().spawn().unwrap_or_else(|e| panic!("cannot start {:?}: {e}", self.kind));
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "{:?} did not listen on {} in 30 s", self.kind, self.port);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The address a client connects to.
    pub fn url(&self) -> String {
        match self.kind {
            Kind::Redis => format!("redis://127.0.0.1:{}", self.port),
            Kind::Mongo => format!("mongodb://127.0.0.1:{}/dungeontalk", self.port),
            Kind::Kafka => format!("127.0.0.1:{}", self.port),
        }
    }
}
