//! The local cluster command (`deploy/cluster.sh`, what `bash .ci/setup cluster` runs), started as
//! a user would: two members chat through its load balancer on every transport, whichever node
//! each request lands on (a SockJS session's XHR requests stay on its node), and Ctrl-C (SIGINT)
//! leaves no process behind.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dungeontalk_app::wire::stomp::Command as Stomp;

use crate::link::Transport;
use crate::services::free_port;
use crate::sockjs::{Session, Sj, chat, connect, subscribe, talk_of};
use crate::support::{TestServer, eventually};

/// The running script; dropping it (a failed test too) interrupts it as Ctrl-C would.
struct Cluster {
    script: Child,
    dir: tempfile::TempDir,
}

impl Cluster {
    fn start(port: u16) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let mut command = Command::new("bash");
        command
            .arg(root.join("deploy/cluster.sh"))
            .args(["--port", &port.to_string()])
            .env("DUNGEONTALK_BIN", env!("CARGO_BIN_EXE_dungeontalk"))
            .env("DUNGEONTALK_CLUSTER_DIR", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        // Tests run from a shell's background job (`nohup … &`) inherit SIGINT ignored, and a
        // script cannot trap a signal ignored on entry: give the script Ctrl-C back, as a
        // terminal would.
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, || {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                Ok(())
            });
        }
        let script = command.spawn().expect("bash deploy/cluster.sh");
        Cluster { script, dir }
    }

    /// Waits until the script says it is ready (the nodes answer /readyz through the balancer).
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !self.dir.path().join("ready").exists() {
            if let Some(exit) = self.script.try_wait().unwrap() {
                panic!("the cluster script ended before it was ready: {exit}");
            }
            assert!(Instant::now() < deadline, "the cluster was not ready in 120 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The process ids the script started, by name.
    fn pids(&self) -> Vec<(u32, String)> {
        let text = std::fs::read_to_string(self.dir.path().join("pids")).unwrap();
        let parse = |l: &str| l.split_once(' ').map(|(pid, name)| (pid.parse().unwrap(), name.to_owned()));
        text.lines().filter_map(parse).collect()
    }

    /// SIGINT, as Ctrl-C; waits for the script to end and returns its exit code.
    fn interrupt(&mut self) -> Option<i32> {
        let pid = self.script.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(exit) = self.script.try_wait().unwrap() {
                return exit.code();
            }
            if Instant::now() > deadline {
                let _ = self.script.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.script.try_wait().ok().flatten().is_none() {
            self.interrupt();
        }
    }
}

fn alive(pid: u32) -> bool {
    PathBuf::from(format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_command_serves_every_transport_and_ctrl_c_stops_it_all() {
    let port = free_port();
    let mut cluster = Cluster::start(port);
    tokio::task::block_in_place(|| cluster.wait_ready());
    let names: Vec<String> = cluster.pids().into_iter().map(|(_, n)| n).collect();
    assert_eq!(names, ["redis", "kafka", "mongo", "node1", "node2", "lb"]);

    let lb = TestServer::at(format!("http://127.0.0.1:{port}"));
    let (aria, _) = lb.guest("Aria").await;
    let (bo, _) = lb.guest("Bo").await;
    let room = lb.room(&aria, "Crossroads").await;
    for t in [Transport::Ws, Transport::Sse, Transport::Poll] {
        let mut a = lb.link(t, &aria, &room, None).await;
        let mut b = lb.link(t, &bo, &room, None).await;
        a.join().await;
        b.join().await;
        // Round robin sends these requests to both nodes; each hears the other, once, in order.
        let said = format!("hello over {t:?}");
        a.talk(&said).await;
        // (A link opened without a cursor first gets the recent history: skip what came before.)
        while b.read_of(&["TALK"]).await["content"] != said.as_str() {}
        let reply = format!("hi back over {t:?}");
        b.talk(&reply).await;
        while a.read_of(&["TALK"]).await["content"] != reply.as_str() {}
    }
    // SockJS over XHR polling: every poll and every send is a request of its own, and the session
    // lives on one node: the balancer keeps a session's requests together without a sticky cookie.
    let mut s = Session::new(&lb, &aria, "through-the-balancer");
    assert_eq!(s.xhr().await, Sj::Open);
    s.send(&[connect()]).await;
    s.poll_until(|f| f.command == Stomp::Connected).await;
    s.send(&[subscribe("r", &format!("/sub/chat/room/{room}"))]).await;
    let mut heard = Vec::new();
    for i in 0..4 {
        let said = format!("over SockJS {i}");
        s.send(&[chat(&room, "TALK", &said, "t")]).await;
        while !heard.contains(&said) {
            heard.extend(s.poll_until(|f| talk_of(f).is_some()).await.iter().filter_map(talk_of));
        }
    }
    // (A subscription first gets the room's recent history: what came before is skipped.)
    heard.retain(|t| t.starts_with("over SockJS"));
    assert_eq!(heard, (0..4).map(|i| format!("over SockJS {i}")).collect::<Vec<_>>(), "each once, in order");
    // Delivery does not wait for the store's consumer group: the last one may be stored a moment later.
    eventually(|| async {
        let stored: Vec<_> = lb.history(&aria, &room).await.into_iter().filter(|e| e["type"] == "TALK").collect();
        match stored.len() {
            10 => Ok(()),
            _ => Err(format!("each message stored once: {stored:?}")),
        }
    })
    .await;

    let pids = cluster.pids();
    let exit = tokio::task::block_in_place(|| cluster.interrupt());
    assert_eq!(exit, Some(130), "Ctrl-C ends the script as interrupted");
    let left: Vec<_> = pids.iter().filter(|(pid, _)| alive(*pid)).collect();
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

/// A service that ends before it answers (say, another process took its port) fails the script
/// at once with its name, instead of letting whatever answers on that port pass for it.
#[test]
fn a_service_that_ends_before_it_answers_fails_the_script_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let started = Instant::now();
    let out = Command::new("bash")
        .arg(root.join("deploy/cluster.sh"))
        .args(["--port", &free_port().to_string()])
        .env("DUNGEONTALK_BIN", env!("CARGO_BIN_EXE_dungeontalk"))
        .env("DUNGEONTALK_CLUSTER_DIR", dir.path())
        .env("DUNGEONTALK_REDIS_SERVER", "/bin/false")
        .output()
        .expect("bash deploy/cluster.sh");
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("cluster: redis ended before it answered"), "{said}");
    assert!(started.elapsed() < Duration::from_secs(20), "at once, not after the 60 s wait");
    let left: Vec<_> = std::fs::read_to_string(dir.path().join("pids"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(' ')?.0.parse().ok())
        .filter(|pid| alive(*pid))
        .collect();
    assert!(left.is_empty(), "processes left behind: {left:?}");
}
