//! History and sign-ins survive a restart of the binary (embedded store on disk), and a crash.

use serde_json::Value;

use crate::support::{Client, TestServer, seqs};

/// A guest's new room where `n` TALKs were delivered: the token, the room, the guest's socket and
/// the room's events as it received them.
async fn talked(server: &TestServer, n: usize) -> (String, String, Client, Vec<Value>) {
    let (t, _) = server.guest("Aria").await;
    let room = server.room(&t, "Keep").await;
    let mut a = server.ws(&t, &room, None).await;
    a.join().await;
    for i in 0..n {
        a.talk(&format!("m{i}")).await;
    }
    let before = a.events_until_talks(n).await;
    (t, room, a, before)
}

/// The seq of a TALK sent on a new socket resuming after `before` (which JOINs again first).
async fn talk_again(server: &TestServer, t: &str, room: &str, before: &[Value]) -> u64 {
    let mut a = server.ws(t, room, Some(*seqs(before).last().unwrap())).await;
    // Seats live in memory in the embedded mode: a client JOINs on every new link anyway.
    a.join().await;
    a.talk("again").await;
    a.next_of(&["TALK"]).await["seq"].as_u64().unwrap()
}

#[tokio::test]
async fn history_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[]).await;
    let (t, room, a, before) = talked(&server, 3).await;
    a.close().await;
    server.stop().await;

    let server = TestServer::spawn(dir.path(), &[]).await;
    // The same token still works: the generated JWT secret is kept in the data dir.
    let (status, page) = server.get(&format!("/api/rooms/{room}/messages?after=0"), &t).await;
    assert_eq!(status, 200);
    let events = page["events"].as_array().unwrap().clone();
    assert_eq!(&events[..before.len()], &before[..], "the stored events come back byte for byte");
    assert!(talk_again(&server, &t, &room, &before).await > 4, "seqs continue after a restart");
}

/// Events delivered before a crash (SIGKILL) are there after it: the journal made them durable
/// while redb did not have them yet, and the next start re-applies it. With a tiny journal the
/// applier writes many full journal files into redb on the way, and the kill finds events in
/// both files; bytes left after the journal's last record (a torn write) are ignored.
#[tokio::test]
async fn delivered_events_survive_a_kill() {
    for journal_bytes in ["4194304", "2048"] {
        let dir = tempfile::tempdir().unwrap();
        let env = [("DUNGEONTALK_STORE_JOURNAL_BYTES", journal_bytes)];
        let server = TestServer::spawn(dir.path(), &env).await;
        let (t, room, _a, before) = talked(&server, 40).await;
        server.kill().await;
        let journal = dir.path().join("dungeontalk.journal");
        let mut torn = std::fs::read(&journal).unwrap();
        torn.extend_from_slice(&[7; 40]);
        std::fs::write(&journal, torn).unwrap();

        let server = TestServer::spawn(dir.path(), &env).await;
        let (status, page) = server.get(&format!("/api/rooms/{room}/messages?after=0"), &t).await;
        assert_eq!(status, 200);
        let events = page["events"].as_array().unwrap().clone();
        assert!(
            events.len() >= before.len(),
            "journal of {journal_bytes} bytes: {} of {} events",
            events.len(),
            before.len()
        );
        assert_eq!(&events[..before.len()], &before[..], "journal of {journal_bytes} bytes: byte for byte");
        let last = *seqs(&before).last().unwrap();
        assert!(talk_again(&server, &t, &room, &before).await > last, "seqs go on");
    }
}
