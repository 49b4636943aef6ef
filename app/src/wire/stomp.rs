//! STOMP 1.2 frames (<https://stomp.github.io/stomp-specification-1.2.html>): one strict codec
//! for the server's `/ws-chat` and the browser's STOMP transport.
//!
//! Strict means: a known command, `name:value` headers with 1.2 escaping (an unknown escape is an
//! error), `content-length` honoured and checked, every frame ends with NUL, and no frame is
//! larger than the decoder's limit. End-of-lines between frames are heart-beats.

use std::fmt;

/// A frame's command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Connect,
    Stomp,
    Send,
    Subscribe,
    Unsubscribe,
    Ack,
    Nack,
    Begin,
    Commit,
    Abort,
    Disconnect,
    Connected,
    Message,
    Receipt,
    Error,
}

impl Command {
    const ALL: [(Command, &'static str); 15] = [
        (Command::Connect, "CONNECT"),
        (Command::Stomp, "STOMP"),
        (Command::Send, "SEND"),
        (Command::Subscribe, "SUBSCRIBE"),
        (Command::Unsubscribe, "UNSUBSCRIBE"),
        (Command::Ack, "ACK"),
        (Command::Nack, "NACK"),
        (Command::Begin, "BEGIN"),
        (Command::Commit, "COMMIT"),
        (Command::Abort, "ABORT"),
        (Command::Disconnect, "DISCONNECT"),
        (Command::Connected, "CONNECTED"),
        (Command::Message, "MESSAGE"),
        (Command::Receipt, "RECEIPT"),
        (Command::Error, "ERROR"),
    ];

    /// The command as written on the wire.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(c, _)| *c == self).map(|(_, n)| *n).expect("every command is listed")
    }

    fn parse(name: &str) -> Option<Command> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(c, _)| *c)
    }

    /// CONNECT and CONNECTED keep their headers unescaped (for 1.0 clients).
    fn escapes(self) -> bool {
        !matches!(self, Command::Connect | Command::Connected)
    }
}

/// One STOMP frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub command: Command,
    /// In order; a repeated name counts as its first occurrence only.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Frame {
    /// A frame without headers or body.
    pub fn new(command: Command) -> Frame {
        Frame { command, headers: Vec::new(), body: Vec::new() }
    }

    /// The frame with one more header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Frame {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The frame with this body (and its `content-length` when encoded).
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Frame {
        self.body = body.into();
        self
    }

    /// The value of the first header with this name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The frame on the wire: escaped headers, a `content-length` for any body, a NUL at the end.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.body.len());
        out.extend_from_slice(self.command.name().as_bytes());
        out.push(b'\n');
        let escape = self.command.escapes();
        for (name, value) in &self.headers {
            // An unescaped header with CR or LF cannot be written as it is, and writing it without
            // them would make another header (even a `content-length`): leave it out.
            let unwritable = |s: &str| !escape && s.contains(['\r', '\n']);
            if name == "content-length" || unwritable(name) || unwritable(value) {
                continue;
            }
            push_escaped(&mut out, name, escape);
            out.push(b':');
            push_escaped(&mut out, value, escape);
            out.push(b'\n');
        }
        if !self.body.is_empty() {
            out.extend_from_slice(format!("content-length:{}\n", self.body.len()).as_bytes());
        }
        out.push(b'\n');
        out.extend_from_slice(&self.body);
        out.push(0);
        out
    }
}

/// A header name or value as STOMP 1.2 writes it in every frame but CONNECT and CONNECTED.
pub fn escaped(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    push_escaped(&mut out, s, true);
    out
}

fn push_escaped(out: &mut Vec<u8>, s: &str, escape: bool) {
    for b in s.bytes() {
        match (escape, b) {
            (true, b'\\') => out.extend_from_slice(b"\\\\"),
            (true, b'\n') => out.extend_from_slice(b"\\n"),
            (true, b'\r') => out.extend_from_slice(b"\\r"),
            (true, b':') => out.extend_from_slice(b"\\c"),
            _ => out.push(b),
        }
    }
}

/// Why bytes are not a STOMP frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StompError {
    UnknownCommand(String),
    /// A header line without a colon.
    BadHeader(String),
    /// An escape sequence 1.2 does not define (`\t`, a trailing `\`).
    BadEscape(String),
    BadContentLength(String),
    /// The body ran past `content-length` without the NUL that must follow it.
    MissingNul,
    /// Not UTF-8 where text is required (command and headers).
    NotUtf8,
    /// The frame is larger than the limit (bytes).
    TooLarge(usize),
}

impl fmt::Display for StompError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StompError::UnknownCommand(c) => write!(f, "unknown command {c:?}"),
            StompError::BadHeader(h) => write!(f, "a header line needs a colon: {h:?}"),
            StompError::BadEscape(h) => write!(f, "an escape STOMP 1.2 does not define in {h:?}"),
            StompError::BadContentLength(v) => write!(f, "content-length is not a number: {v:?}"),
            StompError::MissingNul => f.write_str("the body does not end with NUL after content-length bytes"),
            StompError::NotUtf8 => f.write_str("commands and headers must be UTF-8"),
            StompError::TooLarge(max) => write!(f, "frames may be at most {max} bytes"),
        }
    }
}

impl std::error::Error for StompError {}

/// What the decoder found next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Frame(Frame),
    /// An end-of-line between frames.
    HeartBeat,
}

/// Cuts a byte stream into frames; bytes of an unfinished frame wait for the next push.
#[derive(Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    max: usize,
}

impl Decoder {
    /// A decoder refusing frames larger than `max` bytes.
    pub fn new(max: usize) -> Decoder {
        Decoder { buf: Vec::new(), max }
    }

    /// Takes more bytes and returns every complete item; an error leaves the stream unusable.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Item>, StompError> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut at = 0;
        loop {
            match self.buf.get(at) {
                None => break,
                Some(b'\n') => {
                    out.push(Item::HeartBeat);
                    at += 1;
                    continue;
                }
                Some(b'\r') if self.buf.get(at + 1) == Some(&b'\n') => {
                    out.push(Item::HeartBeat);
                    at += 2;
                    continue;
                }
                Some(b'\r') if at + 1 == self.buf.len() => break,
                Some(_) => {}
            }
            match parse(&self.buf[at..], self.max)? {
                Some((frame, used)) => {
                    out.push(Item::Frame(frame));
                    at += used;
                }
                None => {
                    if self.buf.len() - at > self.max {
                        return Err(StompError::TooLarge(self.max));
                    }
                    break;
                }
            }
        }
        self.buf.drain(..at);
        if self.buf.is_empty() {
            // Kept, the largest frame's room (up to `max`) would stay with every idle
            // connection that once sent one; the next push allocates what it needs.
            self.buf = Vec::new();
        }
        Ok(out)
    }

    /// Bytes held for an incomplete frame (their room included).
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.buf.capacity()
    }
}

/// Parses one frame at the start of `bytes`: `None` while it is incomplete, else the frame and
/// how many bytes it took.
fn parse(bytes: &[u8], max: usize) -> Result<Option<(Frame, usize)>, StompError> {
    let mut lines = Lines { bytes, at: 0 };
    let Some(command_line) = lines.next()? else { return Ok(None) };
    let command = Command::parse(command_line).ok_or_else(|| StompError::UnknownCommand(command_line.into()))?;
    let mut headers = Vec::new();
    loop {
        let Some(line) = lines.next()? else { return Ok(None) };
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').ok_or_else(|| StompError::BadHeader(line.into()))?;
        let (name, value) =
            if command.escapes() { (unescape(name)?, unescape(value)?) } else { (name.to_owned(), value.to_owned()) };
        headers.push((name, value));
        if lines.at > max {
            return Err(StompError::TooLarge(max));
        }
    }
    let start = lines.at;
    let length = headers.iter().find(|(n, _)| n == "content-length").map(|(_, v)| v.trim());
    let end = match length {
        Some(v) => {
            let n: usize = v.parse().map_err(|_| StompError::BadContentLength(v.into()))?;
            if start.saturating_add(n) >= max {
                return Err(StompError::TooLarge(max));
            }
            match bytes.get(start + n) {
                None => return Ok(None),
                Some(0) => start + n,
                Some(_) => return Err(StompError::MissingNul),
            }
        }
        None => match bytes[start..].iter().position(|b| *b == 0) {
            Some(i) => start + i,
            None if bytes.len() > max => return Err(StompError::TooLarge(max)),
            None => return Ok(None),
        },
    };
    if end + 1 > max {
        return Err(StompError::TooLarge(max));
    }
    Ok(Some((Frame { command, headers, body: bytes[start..end].to_vec() }, end + 1)))
}

/// Lines of a frame's head, each ended by LF or CRLF.
struct Lines<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Lines<'a> {
    fn next(&mut self) -> Result<Option<&'a str>, StompError> {
        let rest = &self.bytes[self.at..];
        let Some(lf) = rest.iter().position(|b| *b == b'\n') else { return Ok(None) };
        let line = rest[..lf].strip_suffix(b"\r").unwrap_or(&rest[..lf]);
        self.at += lf + 1;
        std::str::from_utf8(line).map(Some).map_err(|_| StompError::NotUtf8)
    }
}

fn unescape(s: &str) -> Result<String, StompError> {
    if !s.contains('\\') {
        return Ok(s.to_owned());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next() {
            Some('\\') => '\\',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('c') => ':',
            _ => return Err(StompError::BadEscape(s.into())),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
