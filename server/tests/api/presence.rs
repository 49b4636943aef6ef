//! Presence under churn: 50 members come and go at random over the three transports, some with
//! two connections (tabs) at once; the member list and the counts stay exact, and once everyone
//! has disconnected nobody is left online and every stored JOIN has its LEAVE.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::link::{Held, Transport};
use crate::support::{TestServer, eventually, spawn};

/// A small seeded generator (xorshift64*): the same seed plays the same churn again.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

const TRANSPORTS: [Transport; 3] = [Transport::Ws, Transport::Sse, Transport::Poll];

/// One member as the test expects the server to see it.
struct Member {
    token: String,
    id: String,
    nickname: String,
    conns: Vec<Held>,
    joined: bool,
    /// Every connection closed: done for good (a member coming back within the poll linger would
    /// find itself still joined, which is right but not what this model tracks).
    gone: bool,
}

/// What the presence endpoint and the room list must say: (connectedCount, joined members).
fn expected(members: &[Member]) -> (u64, Vec<Value>) {
    let online = members.iter().filter(|m| !m.conns.is_empty());
    let listed = online.clone().filter(|m| m.joined);
    let list = listed.map(|m| json!({"memberId": m.id, "nickname": m.nickname, "status": "ONLINE"})).collect();
    (online.count() as u64, list)
}

/// What the server says now: (presence's connectedCount, the room list's, the joined members).
async fn observed(server: &TestServer, token: &str, room: &str) -> (u64, u64, Vec<Value>) {
    let (status, presence) = server.get(&format!("/api/rooms/{room}/presence"), token).await;
    assert_eq!(status, 200, "{presence}");
    assert_eq!((presence["roomId"].as_str(), presence["maxCapacity"].as_u64()), (Some(room), Some(0)));
    let (_, rooms) = server.get("/api/rooms", token).await;
    let listed = rooms.as_array().unwrap().iter().find(|r| r["roomId"] == room).expect("the room is listed");
    let count = |v: &Value| v["connectedCount"].as_u64().unwrap();
    (count(&presence), count(listed), presence["members"].as_array().unwrap().clone())
}

/// Waits until the server agrees with the model.
async fn settle(server: &TestServer, token: &str, room: &str, members: &[Member]) {
    let (count, list) = expected(members);
    let list = &list;
    eventually(move || async move {
        let seen = observed(server, token, room).await;
        if seen == (count, count, list.clone()) { Ok(()) } else { Err(format!("want {count} {list:?}, got {seen:?}")) }
    })
    .await;
}

/// Waits until the member's JOIN or LEAVE has taken effect (frames over different connections of
/// one member have no order between them, so each waits for the one before).
async fn settle_member(server: &TestServer, token: &str, room: &str, id: &str, joined: bool) {
    eventually(move || async move {
        let (_, _, list) = observed(server, token, room).await;
        match list.iter().any(|m| m["memberId"] == id) == joined {
            true => Ok(()),
            false => Err(format!("{id} joined: {}", !joined)),
        }
    })
    .await;
}

async fn open(server: &TestServer, room: &str, m: &mut Member, rng: &mut Rng) {
    let t = TRANSPORTS[rng.below(3)];
    let link = server.link(t, &m.token, room, Some(0)).await;
    m.conns.push(link.hold());
}

async fn frame(server: &TestServer, watcher: &str, room: &str, m: &mut Member, rng: &mut Rng, join: bool) {
    let conn = rng.below(m.conns.len());
    m.conns[conn].send(json!({"type": if join { "JOIN" } else { "LEAVE" }}));
    m.joined = join;
    settle_member(server, watcher, room, &m.id, join).await;
}

#[tokio::test]
async fn fifty_members_churning_over_three_transports_leave_exact_presence() {
    // Polls linger a while after each request; short here, so closed polling clients go soon.
    let (server, _dir) = spawn(&[("DUNGEONTALK_POLL_LINGER_MS", "1500")]).await;
    let (watcher, _) = server.guest("watcher").await;
    let room = server.room(&watcher, "Arena").await;
    let mut rng = Rng(0x5EED_D00D_CAFE_F00D);
    let mut members = Vec::new();
    for i in 0..50 {
        let (token, id) = server.guest(&format!("m{i:02}")).await;
        members.push(Member { token, id, nickname: format!("m{i:02}"), conns: Vec::new(), joined: false, gone: false });
    }
    // Everyone connects; most join; every fifth opens a second tab at once.
    for (i, m) in members.iter_mut().enumerate() {
        open(&server, &room, m, &mut rng).await;
        if i % 5 == 0 {
            open(&server, &room, m, &mut rng).await;
        }
        if rng.below(4) > 0 {
            frame(&server, &watcher, &room, m, &mut rng, true).await;
        }
    }
    settle(&server, &watcher, &room, &members).await;
    // Churn: tabs open and close, members join and leave again, some go for good.
    let mut tabs_seen = 0;
    for _ in 0..150 {
        let live: Vec<usize> = (0..members.len()).filter(|i| !members[*i].gone).collect();
        if live.is_empty() {
            break;
        }
        let m = &mut members[live[rng.below(live.len())]];
        match rng.below(5) {
            0 if m.conns.len() < 2 => open(&server, &room, m, &mut rng).await,
            0 | 1 => frame(&server, &watcher, &room, m, &mut rng, true).await,
            2 => frame(&server, &watcher, &room, m, &mut rng, false).await,
            _ => {
                let conn = m.conns.remove(rng.below(m.conns.len()));
                conn.close().await;
                if m.conns.is_empty() {
                    (m.gone, m.joined) = (true, false);
                }
            }
        }
        tabs_seen += usize::from(m.conns.len() == 2);
    }
    assert!(tabs_seen > 0, "some members had two tabs open during the churn");
    assert!(members.iter().any(|m| m.gone) && members.iter().any(|m| m.joined), "the churn did something");
    settle(&server, &watcher, &room, &members).await;
    // Everyone disconnects: nobody is left online, and the store agrees.
    for m in &mut members {
        for conn in m.conns.drain(..) {
            conn.close().await;
        }
        m.joined = false;
    }
    settle(&server, &watcher, &room, &members).await;
    let mut timeline: HashMap<String, Vec<String>> = HashMap::new();
    for e in server.history(&watcher, &room).await {
        timeline.entry(e["memberId"].as_str().unwrap().into()).or_default().push(e["type"].as_str().unwrap().into());
    }
    assert!(timeline.len() >= 30, "most members joined at some point: {}", timeline.len());
    for (id, kinds) in timeline {
        let alternating = kinds.chunks(2).all(|pair| pair == ["JOIN", "LEAVE"]);
        assert!(alternating, "{id}: JOIN and LEAVE alternate, each JOIN stored once and left: {kinds:?}");
    }
}
