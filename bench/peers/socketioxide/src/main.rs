//! `bench-peer-socketioxide --bind ADDR`: the Rust Socket.IO server (socketioxide on axum) with
//! the room broadcast the other servers have: `join` a room by name (acknowledged), `talk` {room, text}, and
//! the text goes to everyone in the room, the sender included. Nothing is stored.

use serde::Deserialize;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::handler::ConnectHandler;

#[derive(Deserialize)]
struct Talk {
    room: String,
    text: String,
}

/// The room broadcast's events: `join` (acknowledged once joined, so a subscriber knows it hears
/// the room from then on) and `talk`.
async fn events(s: SocketRef) -> Result<(), std::convert::Infallible> {
    s.on("join", async |s: SocketRef, Data(room): Data<String>, ack: AckSender| {
        s.join(room);
        let _ = ack.send(&());
    });
    s.on("talk", async |s: SocketRef, Data(msg): Data<Talk>| {
        let _ = s.within(msg.room).emit("talk", &msg.text).await;
    });
    Ok(())
}

#[tokio::main]
async fn main() {
    let bind = std::env::args().skip_while(|a| a != "--bind").nth(1).unwrap_or_else(|| "127.0.0.1:9003".into());
    let (layer, io) = SocketIo::new_layer();
    // The events are registered in a connect middleware, which socketioxide awaits before it
    // sends the namespace's `40`. The connect handler itself is spawned after that send, so a
    // client that joins as soon as it hears `40` could beat an `on` made there and have its join
    // dropped unanswered (seen as a hung subscriber on a busy machine).
    io.ns("/", (async || {}).with(events));
    let app = axum::Router::new().route("/", axum::routing::get(async || "socketioxide peer")).layer(layer);
    let listener = tokio::net::TcpListener::bind(&bind).await.expect("bind");
    println!("socketioxide listening on http://{}", listener.local_addr().unwrap());
    // As every other server here: small frames go out at once.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await.unwrap();
}
