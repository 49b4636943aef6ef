//! Streamed responses that leave hyper after their head.
//!
//! An event stream lives for hours and sends a few bytes a minute. Served through hyper it keeps
//! hyper's connection state for all that time: a read buffer (8 KiB, reserved to notice the
//! client going away) and the head's write buffer (8 KiB), most of an idle stream's memory. So
//! the handler hands the body to the connection ([`Handover`]); hyper writes only the head
//! (`HTTP/1.0`, `Connection: close`: a body delimited by the close, so no framing to continue
//! from), and the connection's task then writes the body to the socket itself
//! ([`write_detached`]), noticing the client's close with a read into a few bytes of its own.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Version, header};
use axum::response::{IntoResponse, IntoResponseParts, Response};
use futures_util::stream::{self, BoxStream, Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A body the connection writes itself once hyper has sent the head.
pub type Detached = BoxStream<'static, Bytes>;

/// One per connection, in every request's extensions: where a handler leaves a body to be
/// written after hyper is done with the connection.
#[derive(Clone, Default)]
pub struct Handover(Arc<Mutex<Option<Detached>>>);

impl Handover {
    /// The body left by the connection's last response, if it left one.
    pub fn take(&self) -> Option<Detached> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn put(&self, body: Detached) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(body);
    }

    fn is_armed(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }
}

/// The request's [`Handover`]: absent when the router is called without a connection (in-process
/// tests), and then a streamed response stays in hyper.
pub struct Detach(pub Option<Handover>);

impl<S: Send + Sync> FromRequestParts<S> for Detach {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Detach(parts.extensions.get::<Handover>().cloned()))
    }
}

/// A `200` whose body is `body`: written by the connection after the head when `detach` has a
/// handover, else streamed by hyper as usual.
pub fn streamed(
    detach: Detach,
    head: impl IntoResponseParts,
    body: impl Stream<Item = Bytes> + Send + 'static,
) -> Response {
    let Some(handover) = detach.0 else {
        return (head, Body::from_stream(body.map(Ok::<_, Infallible>))).into_response();
    };
    handover.put(body.boxed());
    // An empty body of unknown length: hyper sends the head, and the response "ends" at once
    // without a byte of framing; the client reads on until the close.
    let empty = Body::from_stream(stream::empty::<Result<Bytes, Infallible>>());
    let mut resp = (head, empty).into_response();
    // hyper delimits a body by the close only in HTTP/1.0; an HTTP/1.1 client takes that (the
    // version names what the server can do, RFC 9110 §6.2), browsers' EventSource included.
    *resp.version_mut() = Version::HTTP_10;
    resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// The socket under hyper: as a `TcpStream`, except that it stays open when hyper closes it
/// after a response that left a body to write.
pub struct Socket {
    tcp: TcpStream,
    handover: Handover,
}

impl Socket {
    /// Wraps an accepted connection with its handover.
    pub fn new(tcp: TcpStream, handover: Handover) -> Socket {
        Socket { tcp, handover }
    }

    /// The connection and the body its last response left, if it left one (for
    /// [`write_detached`]).
    pub fn detached(self) -> Option<(TcpStream, Detached)> {
        let body = self.handover.take()?;
        Some((self.tcp, body))
    }
}

impl AsyncRead for Socket {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Socket {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.handover.is_armed() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// Writes `body` to the client until it ends (then closes the connection, which ends the
/// response), the client goes away, or a write fails. A slow reader is paced by the socket:
/// the next chunk is asked for only once the last one is written.
pub fn write_detached(tcp: TcpStream, body: Detached) -> DetachedWriter {
    DetachedWriter { tcp, body, chunk: Bytes::new() }
}

/// The future of [`write_detached`], written by hand: it waits on the socket's readiness, whose
/// wakers tokio keeps in the socket's own registration, instead of holding a read future and a
/// write future (~450 bytes in a task that lives as long as the stream: most of it).
pub struct DetachedWriter {
    tcp: TcpStream,
    body: Detached,
    /// What is left of the chunk being written.
    chunk: Bytes,
}

impl Future for DetachedWriter {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // The client's close first: nothing more is written to a client that has gone.
        if this.client_gone(cx) {
            return Poll::Ready(());
        }
        loop {
            if this.chunk.is_empty() {
                match this.body.poll_next_unpin(cx) {
                    Poll::Ready(Some(chunk)) => this.chunk = chunk,
                    // Dropping the socket closes it; the response ends there.
                    Poll::Ready(None) => return Poll::Ready(()),
                    Poll::Pending => return Poll::Pending,
                }
            }
            while !this.chunk.is_empty() {
                match this.tcp.poll_write_ready(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(_)) => return Poll::Ready(()),
                    Poll::Ready(Ok(())) => {}
                }
                match this.tcp.try_write(&this.chunk) {
                    Ok(n) => this.chunk = this.chunk.slice(n..),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => return Poll::Ready(()),
                }
            }
        }
    }
}

impl DetachedWriter {
    /// Whether the client closed its side or the connection failed. A client has nothing to send
    /// on a response delimited by the close; whatever it sends anyway is dropped. When the
    /// socket has nothing to read, the task is woken once it has.
    fn client_gone(&self, cx: &mut Context<'_>) -> bool {
        loop {
            match self.tcp.poll_read_ready(cx) {
                Poll::Pending => return false,
                Poll::Ready(Err(_)) => return true,
                Poll::Ready(Ok(())) => {}
            }
            let mut scratch = [0u8; 64];
            match self.tcp.try_read(&mut scratch) {
                Ok(0) => return true,
                // Read again: until the socket would block, which clears its readiness, so the
                // next poll of readiness registers this task's waker.
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    use super::*;

    /// Chunks far bigger than the socket's buffers reach a slow reader whole and in order (each
    /// written in many partial writes), and the connection closes once the body ends.
    #[tokio::test]
    async fn a_slow_reader_gets_every_byte_in_order_then_the_close() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        // A small window, so that the server's socket fills and its writes are partial.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut client = socket.connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let chunks: Vec<Bytes> = (0..3u8).map(|i| Bytes::from(vec![b'a' + i; 4 << 20])).collect();
        let want: Vec<u8> = chunks.concat();
        let writer = tokio::spawn(write_detached(server, stream::iter(chunks).boxed()));
        let mut got = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = tokio::time::timeout(Duration::from_secs(10), client.read(&mut buf)).await.unwrap().unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            if got.len() < (1 << 20) {
                // Slow at first, so the writer meets a full socket.
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        assert_eq!(got.len(), want.len());
        assert!(got == want, "the bytes arrive in order");
        tokio::time::timeout(Duration::from_secs(5), writer).await.expect("the writer ends").unwrap();
    }
}
