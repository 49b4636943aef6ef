//! A game on two nodes over Redis, Kafka and MongoDB: players matched across nodes, and the node
//! narrating a turn killed (kill -9) mid-stream: the other takes the game's lease over and the
//! turn still ends with exactly one GM_MESSAGE.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::link::{Link, Transport};
use crate::nodes::{Backends, Node};

/// Two-turn games of two, a short lease, and a narrator slow enough to be killed mid-answer.
const GAME: [(&str, &str); 6] = [
    ("DUNGEONTALK_GM", "script"),
    ("DUNGEONTALK_GAME_TURNS", "2"),
    ("DUNGEONTALK_MATCH_SIZE", "2"),
    ("DUNGEONTALK_GAME_TURN_SECS", "120"),
    ("DUNGEONTALK_GAME_LEASE_MS", "1500"),
    ("DUNGEONTALK_GM_SCRIPT_PACE_MS", "150"),
];

fn action(content: &str) -> Value {
    json!({"type": "ACTION", "content": content, "messageId": Uuid::now_v7()})
}

async fn read_until(link: &mut Link, log: &mut Vec<Value>, stop: impl Fn(&Value) -> bool) -> Value {
    loop {
        let frame = link.read().await;
        log.push(frame.clone());
        if stop(&frame) {
            return frame;
        }
    }
}

/// The node that holds the game's lease now, from Redis.
async fn narrating_node(redis_url: &str, room: &str) -> Option<String> {
    let client = redis::Client::open(redis_url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("GET").arg(format!("dt:lease:game:{room}")).query_async(&mut conn).await.unwrap()
}

#[tokio::test]
async fn a_game_on_two_nodes_survives_its_narrator_being_killed() {
    let b = Backends::start().await;
    let (a, c) = tokio::join!(b.node("a", &GAME), b.node("b", &GAME));
    let (ta, _) = a.guest("Aria").await;
    let (tb, _) = c.guest("Bo").await;
    // Queued on different nodes, matched by the queue they share.
    let (mut on_a, _) = a.notifications(&ta).await;
    let (mut on_c, _) = c.notifications(&tb).await;
    let queue = |node: &Node, token: &str| {
        let req = node.http.post(format!("{}/api/matching", node.base)).bearer_auth(token.to_owned());
        async move { req.json(&json!({"worldType": "SF"})).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    assert_eq!(queue(&a, &ta).await["waiting"], 1);
    let room = queue(&c, &tb).await["roomId"].as_str().expect("matched across nodes").to_owned();
    assert_eq!(on_a.next().await["roomId"], room.as_str(), "MATCHED reaches a player on the other node");
    assert_eq!(on_c.next().await["roomId"], room.as_str());
    // Each player has a tab on each node, so either node may die without anyone leaving.
    let mut links = Vec::new();
    for node in [&a, &c] {
        for token in [&ta, &tb] {
            let mut link = node.link(Transport::Ws, token, &room, Some(0)).await;
            link.join().await;
            links.push(link);
        }
    }
    let mut watch = links.remove(0);
    let mut log = Vec::new();
    read_until(&mut watch, &mut log, |f| f["type"] == "TURN" && f["phase"] == "TURN_INPUT").await;
    assert_eq!(a.post_frame(&ta, &room, action("hack the door")).await.0, 202);
    assert_eq!(c.post_frame(&tb, &room, action("watch the corridor")).await.0, 202);
    read_until(&mut watch, &mut log, |f| f["type"] == "GM_CHUNK").await;
    let narrator = narrating_node(&b.redis.url(), &room).await.expect("a node holds the game's lease");
    // Bo's tab on the node that lives on (`links`: a/Bo, b/Aria, b/Bo) reads on.
    let mut on_survivor = links.remove(if narrator == "a" { 2 } else { 0 });
    let (dying, survivor) = if narrator == "a" { (a, c) } else { (c, a) };
    dying.kill().await;
    let mut seen = Vec::new();
    let answer = read_until(&mut on_survivor, &mut seen, |f| f["type"] == "GM_MESSAGE").await;
    assert_eq!(answer["turn"], 1);
    // What the survivor narrated again from the start joins to the stored answer.
    let restart = seen.iter().rposition(|f| f["type"] == "GM_CHUNK" && f["index"] == 0).expect("chunks");
    let joined: String =
        seen[restart..].iter().filter(|f| f["type"] == "GM_CHUNK").map(|f| f["text"].as_str().unwrap()).collect();
    assert_eq!(joined, answer["content"].as_str().unwrap());
    let after = narrating_node(&b.redis.url(), &room).await;
    assert_ne!(after.as_deref(), Some(narrator.as_str()), "the dead node's lease lapsed");
    read_until(&mut on_survivor, &mut seen, |f| f["type"] == "TURN" && f["turn"] == 2 && f["phase"] == "TURN_INPUT")
        .await;
    assert_eq!(survivor.post_frame(&ta, &room, action("run")).await.0, 202);
    assert_eq!(survivor.post_frame(&tb, &room, action("follow")).await.0, 202);
    read_until(&mut on_survivor, &mut seen, |f| f["type"] == "GAME_END").await;
    // The store group has the dead node's partitions now; the history fills up.
    let history: Vec<Value> = crate::support::eventually(|| async {
        let h = survivor.history(&ta, &room).await;
        match h.iter().any(|f| f["type"] == "GAME_END") {
            true => Ok(h),
            false => Err(format!("{} events stored", h.len())),
        }
    })
    .await;
    let answers: Vec<u64> =
        history.iter().filter(|f| f["type"] == "GM_MESSAGE").map(|f| f["turn"].as_u64().unwrap()).collect();
    assert_eq!(answers, [1, 2], "exactly one answer per turn");
    assert_eq!(history.iter().filter(|f| f["type"] == "GAME_END").count(), 1);
    let steps: Vec<u64> = history
        .iter()
        .filter(|f| matches!(f["type"].as_str(), Some("TURN" | "GAME_END")))
        .map(|f| f["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, (1..=steps.len() as u64).collect::<Vec<_>>(), "one event per step: {steps:?}");
}
