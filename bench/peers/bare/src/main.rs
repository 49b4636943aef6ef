//! `bench-peer-bare --bind ADDR`: `GET /ws?room=<name>`; every text frame a client sends goes to
//! everyone in the room (itself included). No auth, no store, no ids: the fan-out ceiling of this
//! WebSocket stack on this machine. Each frame's bytes are shared by all receivers, and a writer
//! queues every frame that is ready before it flushes once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use dungeontalk::http::websocket::{Limits, Message, Socket, Upgrade, Upgraded};
use dungeontalk::model::Utf8Bytes;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};

type Rooms = Arc<Mutex<HashMap<String, broadcast::Sender<Utf8Bytes>>>>;

#[derive(Deserialize)]
struct Params {
    room: String,
}

async fn ws(State(rooms): State<Rooms>, Query(p): Query<Params>, up: Upgrade) -> Response {
    let tx = rooms.lock().unwrap().entry(p.room).or_insert_with(|| broadcast::channel(4096).0).clone();
    // Everything ready goes out in one vectored write per wake-up.
    let limits = Limits { max_message: 1 << 20, read_chunk: 4096, write_chunk: 1 << 20 };
    up.limits(limits).on_upgrade(move |socket| serve(socket, tx))
}

async fn serve(socket: Socket<Upgraded>, tx: broadcast::Sender<Utf8Bytes>) {
    let mut rx = tx.subscribe();
    let (mut sink, mut stream) = socket.split();
    let reader = tokio::spawn(async move {
        while let Some(Ok(msg)) = stream.next().await {
            if let Message::Text(t) = msg {
                let _ = tx.send(t);
            }
        }
    });
    'outer: loop {
        let first = match rx.recv().await {
            Ok(t) => t,
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => break,
        };
        if sink.feed(Message::Text(first)).await.is_err() {
            break;
        }
        loop {
            match rx.try_recv() {
                Ok(t) => {
                    if sink.feed(Message::Text(t)).await.is_err() {
                        break 'outer;
                    }
                }
                Err(broadcast::error::TryRecvError::Lagged(_)) => {}
                Err(_) => break,
            }
        }
        if sink.flush().await.is_err() {
            break;
        }
        if reader.is_finished() {
            break;
        }
    }
    reader.abort();
}

#[tokio::main]
async fn main() {
    let bind = std::env::args().skip_while(|a| a != "--bind").nth(1).unwrap_or_else(|| "127.0.0.1:9001".into());
    let rooms: Rooms = Arc::default();
    let app = Router::new().route("/ws", get(ws)).with_state(rooms);
    let listener = tokio::net::TcpListener::bind(&bind).await.expect("bind");
    println!("bare listening on http://{}", listener.local_addr().unwrap());
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await.unwrap();
}
