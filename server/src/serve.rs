//! Accepting and serving connections, with limits a slow or idle client cannot get around: a
//! request's headers must arrive within `http_header_timeout_secs` (an idle keep-alive connection
//! waiting for its next request too), every socket sends at once (TCP_NODELAY), and when the
//! process is out of file descriptors the accept loop waits a moment instead of spinning, and goes
//! on once connections close.
//!
//! HTTP/1.1 only, WebSocket upgrades included. hyper-util's "auto" connection (HTTP/1 or h2c,
//! told apart by the preface) sized every connection for HTTP/2's state as well: an idle SSE
//! stream cost 29 KiB of RSS, 18 KiB without it. Browsers speak HTTP/2 only over TLS, which the
//! proxy in front of a deployment terminates, so h2c served no client.

use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::http::detach::{Handover, Socket, write_detached};

/// How long serving waits for open requests after the shutdown token is cancelled.
const DRAIN: Duration = Duration::from_secs(10);

/// Raises this process's soft limit of open files to its hard limit (the common soft default of
/// 1024 is a few hundred clients); returns the limit in force.
pub fn raise_open_files() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(0, |(soft, _)| soft)
        }
    }
}

/// Serves `app` on `listener` until `shutdown` is cancelled, then lets open requests finish.
pub async fn serve(listener: TcpListener, app: Router, header_timeout: Duration, shutdown: CancellationToken) {
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_timeout);
    // Every connection's task holds a sender; once all are dropped, every connection is done.
    let (open, mut all_closed) = tokio::sync::mpsc::channel::<()>(1);
    let mut out_of_files = false;
    loop {
        let stream = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // EMFILE/ENFILE and the like: the listener stays ready, so retrying at once
                    // would spin. Wait, and say so once per episode.
                    if !std::mem::replace(&mut out_of_files, true) {
                        tracing::warn!(error = %e, "cannot accept connections; retrying");
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        out_of_files = false;
        // Chat frames are small: send each at once instead of waiting to fill a packet (Nagle).
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let handover = Handover::default();
        let service = {
            let handover = handover.clone();
            // A per-connection value in every request, so a stream can leave hyper (http/detach.rs).
            let app = app.clone().map_request(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(handover.clone());
                req
            });
            TowerToHyperService::new(app)
        };
        let io = TokioIo::new(Socket::new(stream, handover));
        let mut conn = builder.serve_connection(io, service).with_upgrades();
        let (open, shutdown) = (open.clone(), shutdown.clone());
        tokio::spawn(async move {
            let ended = tokio::select! {
                ended = &mut conn => ended,
                _ = shutdown.cancelled() => {
                    // Finish the request in flight, take no new one.
                    std::pin::Pin::new(&mut conn).graceful_shutdown();
                    (&mut conn).await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, "connection ended with an error");
                return;
            }
            // hyper's part is over; a streamed body goes on in a task without hyper's buffers.
            if let Some((tcp, body)) = conn.into_parts().and_then(|parts| parts.io.into_inner().detached()) {
                tokio::spawn(async move {
                    write_detached(tcp, body).await;
                    drop(open);
                });
            }
        });
    }
    drop(open);
    if tokio::time::timeout(DRAIN, all_closed.recv()).await.is_err() {
        tracing::warn!("open requests did not finish within {DRAIN:?}");
    }
}
