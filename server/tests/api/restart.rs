//! History and sign-ins survive a restart of the binary (embedded store on disk), and a crash.

use crate::support::{TestServer, seqs};

#[tokio::test]
async fn history_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::spawn(dir.path(), &[]).await;
    let (t, _) = server.guest("Aria").await;
    let room = server.room(&t, "Keep").await;
    let mut a = server.ws(&t, &room, None).await;
    a.join().await;
    for i in 0..3 {
        a.talk(&format!("m{i}")).await;
    }
    let before = a.events_until_talks(3).await;
    a.close().await;
    server.stop().await;

    let server = TestServer::spawn(dir.path(), &[]).await;
    // The same token still works: the generated JWT secret is kept in the data dir.
    let (status, page) = server.get(&format!("/api/rooms/{room}/messages?after=0"), &t).await;
    assert_eq!(status, 200);
    let events = page["events"].as_array().unwrap().clone();
    assert_eq!(&events[..before.len()], &before[..], "the stored events come back byte for byte");
    let mut a = server.ws(&t, &room, Some(*seqs(&before).last().unwrap())).await;
    // Seats live in memory in the embedded mode: a client JOINs on every new link anyway.
    a.join().await;
    a.talk("after restart").await;
    let next = a.next_of(&["TALK"]).await;
    assert!(next["seq"].as_u64().unwrap() > 4, "seqs continue after a restart");
}

/// Events delivered before a crash (SIGKILL) are there after it: the journal made them durable
/// while the store's commits stayed in memory, and the next start re-applies it. With a tiny
/// journal the store checkpoints and the journal starts over many times on the way; bytes left
/// after the journal's last record (a torn write) are ignored.
#[tokio::test]
async fn delivered_events_survive_a_kill() {
    for journal_bytes in ["4194304", "2048"] {
        let dir = tempfile::tempdir().unwrap();
        let env = [("DUNGEONTALK_STORE_JOURNAL_BYTES", journal_bytes)];
        let server = TestServer::spawn(dir.path(), &env).await;
        let (t, _) = server.guest("Aria").await;
        let room = server.room(&t, "Keep").await;
        let mut a = server.ws(&t, &room, None).await;
        a.join().await;
        for i in 0..40 {
            a.talk(&format!("m{i}")).await;
        }
        let before = a.events_until_talks(40).await;
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
        let mut a = server.ws(&t, &room, Some(*seqs(&before).last().unwrap())).await;
        a.join().await;
        a.talk("after the crash").await;
        let next = a.next_of(&["TALK"]).await;
        assert!(next["seq"].as_u64().unwrap() > *seqs(&before).last().unwrap(), "seqs go on");
    }
}
