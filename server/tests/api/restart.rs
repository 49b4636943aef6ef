//! History and sign-ins survive a restart of the binary (embedded store on disk).

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
