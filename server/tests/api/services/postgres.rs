//! A throwaway PostgreSQL cluster in a test's folder, for a broker that keeps its topics there.
//! Debian's server binaries; PostgreSQL refuses to run as root, so as root (CI) it runs as the
//! `postgres` user, in a folder handed to that user.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use tokio::process::Command;

/// Debian's PostgreSQL server binaries: `DUNGEONTALK_POSTGRES_BIN`, else the newest installed.
fn bin(name: &str) -> PathBuf {
    let dir = std::env::var("DUNGEONTALK_POSTGRES_BIN").map(PathBuf::from).unwrap_or_else(|_| {
        let versions = std::fs::read_dir("/usr/lib/postgresql").expect("PostgreSQL (run `bash .ci/setup tools`)");
        let mut found: Vec<(u32, PathBuf)> = versions
            .filter_map(|e| e.ok())
            .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
            .collect();
        found.sort();
        found.pop().expect("a PostgreSQL version in /usr/lib/postgresql").1
    });
    dir.join(name)
}

fn as_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// `name` run as the owner the cluster needs: the `postgres` user when the tests run as root.
fn command(name: &str) -> Command {
    if as_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=postgres", "--regid=postgres", "--init-groups", "--"]).arg(bin(name));
        c
    } else {
        Command::new(bin(name))
    }
}

/// Makes an empty cluster in `dir/pg` that trusts local connections.
pub fn init(dir: &Path) {
    if as_root() {
        let handed = std::process::Command::new("chown").arg("postgres:").arg(dir).status().unwrap();
        assert!(handed.success(), "chown postgres: {}", dir.display());
    }
    let mut initdb = command("initdb").into_std();
    initdb.args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "-D"]).arg(dir.join("pg"));
    let out = initdb.output().expect("initdb");
    assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
}

/// The server of the cluster in `dir/pg` on `port` (no fsync: a test's data need not survive the
/// machine, only the broker's restart).
pub fn server(dir: &Path, port: u16) -> Command {
    let mut c = command("postgres");
    c.arg("-D").arg(dir.join("pg")).args(["-p", &port.to_string(), "-h", "127.0.0.1", "-k"]).arg(dir);
    c.args(["-c", "fsync=off"]);
    c
}

/// Whether the server on `port` accepts sessions (`pg_isready`).
pub async fn ready(port: u16) -> bool {
    let mut c = Command::new(bin("pg_isready"));
    c.args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()]);
    c.status().await.is_ok_and(|s| s.success())
}
