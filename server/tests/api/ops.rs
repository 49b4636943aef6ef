//! The ops view (the UI's Cluster page): every node reports its numbers to the shared state, and
//! any node answers with all of them.

use serde_json::{Value, json};

use crate::link::Transport;
use crate::nodes::Backends;
use crate::support::eventually;

/// The ops view (the `ops_view` server function) asked of either node lists both nodes with their
/// own connections per transport and the room log's consumer lag; without a valid token, 401.
#[tokio::test]
async fn the_ops_view_shows_every_node() {
    let b = Backends::start().await;
    let (a, c) = tokio::join!(b.node("a", &[]), b.node("b", &[]));
    let (token, _) = a.guest("Aria").await;
    let room = a.room(&token, "Hall").await;
    let _ws = a.link(Transport::Ws, &token, &room, Some(0)).await;
    let _sse = c.link(Transport::Sse, &token, &room, Some(0)).await;
    let ops = |node: &crate::nodes::Node, token: &str| {
        let req = node.http.post(format!("{}/api/fn/ops_view", node.base)).json(&json!({"token": token}));
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let count = |view: &Value, node: &str, transport: &str| {
        let nodes = view["nodes"].as_array().cloned().unwrap_or_default();
        let n = nodes.into_iter().find(|n| n["node"] == node)?;
        n["connections"].as_array()?.iter().find(|c| c["transport"] == transport)?["connections"].as_i64()
    };
    // The node's own reader of the log is listed with its lag (measured every few seconds).
    let has_lag = |view: &Value| {
        view["nodes"].as_array().is_some_and(|nodes| {
            nodes.iter().all(|n| n["consumerLag"].as_array().is_some_and(|l| l.iter().any(|l| l["group"] == "reader")))
        })
    };
    let view = eventually(|| async {
        let (status, view) = ops(&c, &token).await;
        match (status, count(&view, "a", "ws"), count(&view, "b", "sse"), has_lag(&view)) {
            (200, Some(1), Some(1), true) => Ok(view),
            other => Err(format!("{other:?}: {view}")),
        }
    })
    .await;
    let backends = (view["node"].as_str(), view["log"].as_str(), view["shared"].as_str());
    assert_eq!(backends, (Some("b"), Some("kafka"), Some("redis")));
    assert_eq!(ops(&a, "not-a-token").await.0, 401);
}
