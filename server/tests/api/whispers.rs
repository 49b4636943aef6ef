//! Whispers on every transport: only the sender and the receiver ever see one (live, in history,
//! on resume, in a poll, in notifications), and everyone else's cursor still moves past it.

use serde_json::{Value, json};

use crate::link::{Outcome, Transport, on_every_transport};
use crate::support::{seqs, spawn};

/// (seq, content) of the TALKs among `events`.
fn talks(events: &[Value]) -> Vec<(u64, String)> {
    events
        .iter()
        .filter(|e| e["type"] == "TALK")
        .map(|e| (e["seq"].as_u64().unwrap(), e["content"].as_str().unwrap().to_owned()))
        .collect()
}

const SECRET: &str = "psst @cleo, the key is under the mat";
const PUBLIC: &str = "hello all, @cleo too";

async fn whispers_reach_only_their_two_members(t: Transport) {
    let (server, _dir) = spawn(&[]).await;
    let (ta, a_id) = server.guest("Aria").await;
    let (tb, b_id) = server.guest("Bo").await;
    let (tc, c_id) = server.guest("Cleo").await;
    let (td, d_id) = server.guest("Dax").await;
    let room = server.room(&ta, "Hall").await;
    let cellar = server.room(&ta, "Cellar").await;
    assert_eq!(server.post_frame(&td, &cellar, json!({"type": "JOIN"})).await.0, 202, "Dax is in another room");
    let (mut b_notes, _) = server.notifications(&tb).await;
    let (mut c_notes, _) = server.notifications(&tc).await;
    let mut a = server.link(t, &ta, &room, Some(0)).await;
    let mut b = server.link(t, &tb, &room, Some(0)).await;
    let mut c = server.link(t, &tc, &room, Some(0)).await;
    for link in [&mut a, &mut b, &mut c] {
        link.join().await;
    }
    // A WebSocket JOIN is answered by nothing: wait until the room counts all three in, or a
    // whisper to Bo could overtake his JOIN.
    crate::support::eventually(|| async {
        let (_, presence) = server.get(&format!("/api/rooms/{room}/presence"), &ta).await;
        match presence["members"].as_array().map_or(0, Vec::len) {
            3 => Ok(()),
            _ => Err(format!("{presence}")),
        }
    })
    .await;
    let whisper = |to: &str, content: &str| json!({"type": "TALK", "content": content, "receiverId": to});
    assert_eq!(a.send(whisper(&b_id, SECRET)).await, Outcome::Accepted(Some(4)));
    // To someone who is not in this room (Dax is in another), or to oneself: refused, nothing stored.
    let not_found = Outcome::refused((t != Transport::Ws).then_some(404), "chat.receiver_not_found");
    assert_eq!(a.send(whisper(&d_id, "hi")).await, not_found);
    assert_eq!(a.send(whisper(&a_id, "hi")).await, not_found);
    // A poll by Cleo right now answers no room event, yet its cursor has moved past the whisper.
    // (A late PRESENCE of the joins may come along: ephemeral, no seq, not the point here.)
    let mut peek = server.link(Transport::Poll, &tc, &room, Some(3)).await;
    let answer = peek.poll_once(1000).await;
    let events: Vec<&Value> = answer["events"].as_array().unwrap().iter().filter(|e| e["type"] != "PRESENCE").collect();
    assert!(events.is_empty(), "{answer}");
    assert_eq!(answer["next"], 4);
    assert_eq!(a.talk(PUBLIC).await, 5);

    let both = vec![(4, SECRET.to_owned()), (5, PUBLIC.to_owned())];
    assert_eq!(talks(&a.events_until_talks(2).await), both, "the sender sees it");
    assert_eq!(talks(&b.events_until_talks(2).await), both, "the receiver sees it");
    let seen_by_c = c.events_until_talks(1).await;
    assert_eq!(seqs(&seen_by_c), [1, 2, 3, 5], "Cleo skips seq 4 without a gap error or a resync");
    assert_eq!(talks(&seen_by_c), [(5, PUBLIC.to_owned())]);

    // History: the whisper is there for its two members only.
    for (token, sees) in [(&ta, true), (&tb, true), (&tc, false)] {
        let stored = server.history(token, &room).await;
        assert_eq!(talks(&stored).len(), if sees { 2 } else { 1 }, "history of {token}");
        let (_, newest) = server.get(&format!("/api/rooms/{room}/messages"), token).await;
        let newest = newest["events"].as_array().unwrap().clone();
        assert_eq!(talks(&newest).iter().any(|(seq, _)| *seq == 4), sees, "newest page of {token}");
    }
    let whispered = &server.history(&tb, &room).await[3];
    assert_eq!((whispered["senderId"].as_str(), whispered["receiverId"].as_str()), (Some(&*a_id), Some(&*b_id)));

    // Resuming from before the whisper, or asking for the recent history: still not there for Cleo.
    let mut resumed = server.link(t, &tc, &room, Some(3)).await;
    let mut fresh = server.link(t, &tc, &room, None).await;
    assert_eq!(a.talk("later").await, 6);
    let after_join = vec![(5, PUBLIC.to_owned()), (6, "later".to_owned())];
    assert_eq!(talks(&resumed.events_until_talks(2).await), after_join);
    assert_eq!(talks(&fresh.events_until_talks(2).await), after_join);

    // Notifications: Bo is told of the whisper; Cleo, named in it, is not: her first notification
    // is the public mention that came after it.
    let note = b_notes.next().await;
    assert_eq!(
        (note["type"].as_str(), note["content"].as_str(), note["seq"].as_u64()),
        (Some("WHISPER"), Some(SECRET), Some(4))
    );
    assert_eq!((note["senderId"].as_str(), note["receiverId"].as_str()), (Some(&*a_id), Some(&*b_id)));
    let note = c_notes.next().await;
    assert_eq!((note["type"].as_str(), note["seq"].as_u64()), (Some("MENTION"), Some(5)));
    // Identity comes from the token only: Cleo asking for Bo's stream gets her own.
    let (_, hello) = server.notifications(&format!("{tc}&memberId={b_id}")).await;
    assert_eq!(hello["memberId"], c_id.as_str());
}

on_every_transport!(whispers_reach_only_their_two_members);
