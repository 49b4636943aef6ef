//! One server-side WebSocket: a `Stream` of the client's messages and a `Sink` for ours.
//!
//! Written for many mostly idle sockets fanning out shared frames:
//! - nothing is buffered between reads: bytes are read into the stack and only a frame that
//!   arrived in part is kept, until it is whole;
//! - a queued message keeps its payload's shared bytes (a room event's JSON is one buffer for the
//!   whole room) beside an inline header, and a flush hands them to one vectored write: no copy
//!   into a per-socket write buffer, which would keep the capacity of its largest burst; the
//!   queue itself is given back after every flush.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::{CloseFrame, Message};
use crate::model::Utf8Bytes;
use axum::body::Bytes;
use futures_util::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::Error;
use super::frame::{self, Head, Op, OutHead};

/// Most bytes one read takes (from the stack; `Limits::read_chunk` chooses up to this).
const MAX_READ_CHUNK: usize = 16 * 1024;
/// Most frames handed to one vectored write (two slices each).
const FRAMES_PER_WRITE: usize = 64;

/// A socket's sizes, from the settings.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest message (and frame) read; a bigger one is `Error::TooBig`.
    pub max_message: usize,
    /// Bytes read at a time.
    pub read_chunk: usize,
    /// Queued bytes past which queuing another message writes the queue out first.
    pub write_chunk: usize,
}

/// A message on its way out: its header inline, its payload shared.
struct Out {
    head: OutHead,
    body: Bytes,
}

impl Out {
    fn len(&self) -> usize {
        self.head.as_bytes().len() + self.body.len()
    }
}

/// A fragmented message being put together.
struct Partial {
    text: bool,
    data: Vec<u8>,
    /// How much of a text message's `data` is known to be valid UTF-8.
    checked: usize,
}

impl Partial {
    /// Checks a text message's UTF-8 as each fragment arrives (a character may straddle two), so
    /// bad text fails at once rather than after the client has had us buffer the rest of it.
    fn check_utf8(&mut self) -> Result<(), Error> {
        if !self.text {
            return Ok(());
        }
        match std::str::from_utf8(&self.data[self.checked..]) {
            Ok(_) => self.checked = self.data.len(),
            // Only cut short by the fragment's end: the next fragment may finish it.
            Err(e) if e.error_len().is_none() => self.checked += e.valid_up_to(),
            Err(_) => return Err(Error::Utf8),
        }
        Ok(())
    }
}

/// A WebSocket over `S` (the upgraded HTTP connection in the server, a pipe in tests).
pub struct Socket<S> {
    io: S,
    limits: Limits,
    /// Bytes of a frame that has arrived in part (empty, and unallocated, between frames).
    buf: Vec<u8>,
    partial: Option<Box<Partial>>,
    out: VecDeque<Out>,
    /// Bytes of `out`'s first message already written.
    written: usize,
    queued: usize,
    /// The reader queued a reply (a pong, the closing handshake's echo) that is not written yet.
    owed: bool,
    close_sent: bool,
    /// The stream has ended (closed, failed or at EOF): it yields nothing more.
    ended: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Socket<S> {
    /// A socket over a connection whose handshake is done.
    pub fn new(io: S, limits: Limits) -> Socket<S> {
        Socket {
            io,
            limits,
            buf: Vec::new(),
            partial: None,
            out: VecDeque::new(),
            written: 0,
            queued: 0,
            owed: false,
            close_sent: false,
            ended: false,
        }
    }

    fn queue(&mut self, op: Op, body: Bytes) {
        let out = Out { head: OutHead::new(op, body.len()), body };
        self.queued += out.len();
        self.out.push_back(out);
    }

    fn queue_message(&mut self, msg: Message) -> Result<(), Error> {
        if self.close_sent {
            return Err(Error::Closed);
        }
        match msg {
            Message::Text(t) => self.queue(Op::Text, Bytes::from(t)),
            Message::Binary(b) => self.queue(Op::Binary, b),
            Message::Ping(b) => self.queue(Op::Ping, b),
            Message::Pong(b) => self.queue(Op::Pong, b),
            Message::Close(frame) => {
                let mut body = Vec::new();
                if let Some(CloseFrame { code, reason }) = frame {
                    body.extend_from_slice(&code.to_be_bytes());
                    body.extend_from_slice(reason.as_bytes());
                }
                self.queue(Op::Close, body.into());
                self.close_sent = true;
            }
        }
        Ok(())
    }

    /// Writes out everything queued, as few vectored writes as the socket takes.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        while !self.out.is_empty() {
            let mut slices = [IoSlice::new(&[]); FRAMES_PER_WRITE * 2];
            let mut n = 0;
            for (i, out) in self.out.iter().take(FRAMES_PER_WRITE).enumerate() {
                let skip = if i == 0 { self.written } else { 0 };
                let head = out.head.as_bytes();
                if skip < head.len() {
                    slices[n] = IoSlice::new(&head[skip..]);
                    n += 1;
                }
                let body_skip = skip.saturating_sub(head.len());
                if body_skip < out.body.len() {
                    slices[n] = IoSlice::new(&out.body[body_skip..]);
                    n += 1;
                }
            }
            let wrote = ready!(Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..n]))?;
            if wrote == 0 {
                return Poll::Ready(Err(Error::Io(std::io::ErrorKind::WriteZero.into())));
            }
            self.advance(wrote);
        }
        // Nothing is kept between flushes (idle sockets are most sockets): the next wake-up
        // allocates its queue again, a few tens of ns against a delivery's ~14 µs.
        self.out = VecDeque::new();
        Pin::new(&mut self.io).poll_flush(cx).map_err(Error::Io)
    }

    fn advance(&mut self, mut n: usize) {
        self.queued -= n;
        while n > 0 {
            let left = self.out[0].len() - self.written;
            if n < left {
                self.written += n;
                return;
            }
            n -= left;
            self.written = 0;
            self.out.pop_front();
        }
    }

    /// The next whole frame from what has been read, if one is there.
    fn take_frame(&mut self) -> Result<Option<(Head, Vec<u8>)>, Error> {
        let Some(head) = frame::parse(&self.buf, self.limits.max_message)? else { return Ok(None) };
        if self.buf.len() < head.end() {
            return Ok(None);
        }
        let mut payload = self.buf[head.start..head.end()].to_vec();
        frame::unmask(&mut payload, head.mask, 0);
        self.buf.drain(..head.end());
        if self.buf.is_empty() {
            // Between frames an idle socket keeps no buffer.
            self.buf = Vec::new();
        }
        Ok(Some((head, payload)))
    }

    /// What one frame comes to: a message, or nothing yet (a fragment, an answered ping).
    fn on_frame(&mut self, head: Head, payload: Vec<u8>) -> Result<Option<Message>, Error> {
        let whole = match (head.op, self.partial.as_mut()) {
            (Op::Ping, _) => {
                let payload = Bytes::from(payload);
                if !self.close_sent {
                    self.queue(Op::Pong, payload.clone());
                    self.owed = true;
                }
                return Ok(Some(Message::Ping(payload)));
            }
            (Op::Pong, _) => return Ok(Some(Message::Pong(payload.into()))),
            (Op::Close, _) => return self.on_close(payload).map(Some),
            (Op::Text | Op::Binary, Some(_)) => return Err(Error::Protocol("new message inside a fragmented one")),
            (Op::Continue, None) => return Err(Error::Protocol("continuation without a message")),
            (Op::Text | Op::Binary, None) if head.fin => (head.op == Op::Text, payload),
            (Op::Text | Op::Binary, None) => {
                let mut p = Box::new(Partial { text: head.op == Op::Text, data: payload, checked: 0 });
                p.check_utf8()?;
                self.partial = Some(p);
                return Ok(None);
            }
            (Op::Continue, Some(p)) => {
                if p.data.len() + payload.len() > self.limits.max_message {
                    return Err(Error::TooBig);
                }
                p.data.extend_from_slice(&payload);
                p.check_utf8()?;
                if !head.fin {
                    return Ok(None);
                }
                let p = self.partial.take().expect("a partial message");
                (p.text, p.data)
            }
        };
        let (text, data) = whole;
        if text {
            let text = Utf8Bytes::try_from(Bytes::from(data)).map_err(|_| Error::Utf8)?;
            Ok(Some(Message::Text(text)))
        } else {
            Ok(Some(Message::Binary(data.into())))
        }
    }

    /// The client closes: its code is checked and echoed (RFC 6455 §5.5.1), then the stream ends.
    fn on_close(&mut self, payload: Vec<u8>) -> Result<Message, Error> {
        let frame = match payload.len() {
            0 => None,
            1 => return Err(Error::Protocol("a close payload has a two-byte code")),
            _ => {
                let code = u16::from_be_bytes([payload[0], payload[1]]);
                if !frame::valid_close_code(code) {
                    return Err(Error::Protocol("invalid close code"));
                }
                let reason = Utf8Bytes::try_from(Bytes::copy_from_slice(&payload[2..])).map_err(|_| Error::Utf8)?;
                Some(CloseFrame { code, reason })
            }
        };
        if !self.close_sent {
            let echo = frame.as_ref().map(|f| CloseFrame { code: f.code, reason: Utf8Bytes::from_static("") });
            self.queue_message(Message::Close(echo))?;
            self.owed = true;
        }
        self.ended = true;
        Ok(Message::Close(frame))
    }

    /// Writes what the reader owes (a pong, a close echo) even while nothing else is being sent;
    /// a socket that does not take it now gets it with the next flush.
    fn pay_owed(&mut self, cx: &mut Context<'_>) {
        if !self.owed {
            return;
        }
        if let Poll::Ready(r) = self.poll_write_out(cx) {
            self.owed = false;
            if r.is_err() {
                self.ended = true;
            }
        }
    }

    fn poll_read_message(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        loop {
            while let Some((head, payload)) = self.take_frame()? {
                if let Some(msg) = self.on_frame(head, payload)? {
                    return Poll::Ready(Some(Ok(msg)));
                }
            }
            // Uninitialized: zero-filling the chunk on every read would cost more than the read.
            let mut chunk = [MaybeUninit::<u8>::uninit(); MAX_READ_CHUNK];
            let mut read = ReadBuf::uninit(&mut chunk[..self.limits.read_chunk.clamp(1, MAX_READ_CHUNK)]);
            ready!(Pin::new(&mut self.io).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                // The client went away (with or without a closing handshake): nothing more comes.
                self.ended = true;
                return Poll::Ready(None);
            }
            self.buf.extend_from_slice(read.filled());
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for Socket<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.pay_owed(cx);
        if this.ended {
            return Poll::Ready(None);
        }
        let next = this.poll_read_message(cx);
        if let Poll::Ready(Some(Err(_))) = next {
            this.ended = true;
        }
        if next.is_ready() {
            // A reply this frame queued (a pong, a close echo) goes out now if it can.
            this.pay_owed(cx);
        }
        next
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for Socket<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if this.queued >= this.limits.write_chunk.max(1) {
            ready!(this.poll_write_out(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, msg: Message) -> Result<(), Error> {
        self.get_mut().queue_message(msg)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_write_out(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if !this.close_sent {
            this.queue_message(Message::Close(None))?;
        }
        ready!(this.poll_write_out(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx).map_err(Error::Io)
    }
}

#[cfg(test)]
#[path = "socket_tests.rs"]
mod tests;
