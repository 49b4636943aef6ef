//! SockJS's `xhr_streaming` and `xhr_send` under the STOMP link, for networks that block
//! WebSockets: a fetch whose body streams the session's frames (reopened when the server ends it
//! at its response limit) and a POST per batch of outgoing frames. The token rides in the
//! `Authorization` header, never in a URL.

use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender};
use futures::channel::oneshot;
use futures::future::{Either, select};
use futures::{FutureExt, StreamExt};
use gloo_net::http::Request;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::Incoming;
use super::stomp::Reader;
use crate::wire::ErrorBody;

/// Starts a session: the receiver at once, the sender once the session is open.
pub fn open(
    token: &str,
    queued: UnboundedReceiver<Vec<u8>>,
    reader: Reader,
    down: UnboundedSender<Incoming>,
    stop: oneshot::Receiver<()>,
) {
    let id: String =
        (0..16).map(|_| char::from_digit((js_sys::Math::random() * 36.0) as u32 % 36, 36).unwrap()).collect();
    let base = format!("/ws-chat/{:03}/{id}", (js_sys::Math::random() * 1000.0) as u32);
    let bearer = format!("Bearer {token}");
    let (opened_tx, opened) = oneshot::channel();
    let abort = web_sys::AbortController::new().expect("AbortController");
    spawn_local(send(format!("{base}/xhr_send"), bearer.clone(), queued, opened, down));
    spawn_local(async move {
        let receive = receive(format!("{base}/xhr_streaming"), bearer, reader, opened_tx, abort.signal());
        if let Either::Right(_) = select(Box::pin(receive), stop).await {
            abort.abort();
        }
    });
}

/// Reads streaming responses until the session or the link ends.
async fn receive(
    url: String,
    bearer: String,
    mut reader: Reader,
    opened: oneshot::Sender<()>,
    signal: web_sys::AbortSignal,
) {
    let mut opened = Some(opened);
    loop {
        let resp = Request::post(&url).header("Authorization", &bearer).abort_signal(Some(&signal)).send().await;
        let resp = match resp {
            Ok(resp) if resp.status() == 200 => resp,
            Ok(resp) => return reader.down(resp.json::<ErrorBody>().await.ok()),
            Err(_) => return reader.down(None),
        };
        let Some(body) = resp.body() else { return reader.down(None) };
        let stream: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
        let mut line = Vec::new();
        loop {
            let Ok(chunk) = JsFuture::from(stream.read()).await else { return reader.down(None) };
            let done = js_sys::Reflect::get(&chunk, &"done".into()).ok().and_then(|d| d.as_bool()).unwrap_or(true);
            if done {
                break; // the response limit: open the next request on the same session
            }
            let Ok(value) = js_sys::Reflect::get(&chunk, &"value".into()) else { return reader.down(None) };
            for b in value.unchecked_into::<js_sys::Uint8Array>().to_vec() {
                if b != b'\n' {
                    line.push(b);
                    continue;
                }
                match line.first() {
                    Some(b'o') => {
                        if let Some(o) = opened.take() {
                            let _ = o.send(());
                        }
                    }
                    Some(b'a') => {
                        let Ok(messages) = serde_json::from_slice::<Vec<String>>(&line[1..]) else {
                            return reader.down(None);
                        };
                        for m in messages {
                            if !reader.bytes(m.as_bytes()) {
                                return;
                            }
                        }
                    }
                    Some(b'c') => return reader.down(None),
                    _ => {} // `h`: a heartbeat (and the prelude)
                }
                line.clear();
            }
        }
    }
}

/// Sends what is queued, a batch per request, in order.
async fn send(
    url: String,
    bearer: String,
    mut queued: UnboundedReceiver<Vec<u8>>,
    opened: oneshot::Receiver<()>,
    down: UnboundedSender<Incoming>,
) {
    if opened.await.is_err() {
        return;
    }
    while let Some(first) = queued.next().await {
        let mut batch = vec![String::from_utf8_lossy(&first).into_owned()];
        while let Some(Some(more)) = queued.next().now_or_never() {
            batch.push(String::from_utf8_lossy(&more).into_owned());
        }
        let body = serde_json::to_string(&batch).expect("strings serialize");
        let req = Request::post(&url).header("Authorization", &bearer).header("Content-Type", "text/plain").body(body);
        let sent = match req {
            Ok(req) => req.send().await.is_ok_and(|r| r.status() == 204),
            Err(_) => false,
        };
        if !sent {
            let _ = down.unbounded_send(Incoming::Down(None));
            return;
        }
    }
}
