//! A room subscription's MESSAGE frames, written straight into one buffer of the right size.
//!
//! Every delivery to a STOMP subscriber is a frame of its own (its subscription and message ids),
//! and building it as a [`Frame`](dungeontalk_app::wire::stomp::Frame) cost a dozen allocations
//! (each header's name and value, the message id, a copy of the body, the encoding's growth) and
//! a byte-by-byte escape of headers that never change. The unchanging parts are escaped once per
//! subscription here; a delivery is one allocation and a few copies, and the bytes are the same.

use dungeontalk_app::wire::stomp::escaped;

/// The last header's name; then its value, the blank line (2 bytes), the body and a NUL (1).
const LENGTH: &[u8] = b"content-length:";

/// The headers of one subscription's MESSAGEs, escaped once.
pub struct MessageHead {
    /// `MESSAGE`, `subscription`, and the start of `message-id` (up to its number).
    start: Box<[u8]>,
    /// The rest of the headers up to `content-length`: `destination`, `content-type`.
    middle: Box<[u8]>,
    /// With client acks: the start of the `ack` header (up to its number).
    ack: Option<Box<[u8]>>,
}

impl MessageHead {
    /// The head of subscription `id`'s MESSAGEs from `destination`; `acks` adds the `ack` header.
    pub fn new(id: &str, destination: &str, acks: bool) -> MessageHead {
        let id = escaped(id);
        let start = [b"MESSAGE\nsubscription:", &id[..], b"\nmessage-id:", &id[..], b"-"].concat();
        let middle = [b"\ndestination:", &escaped(destination)[..], b"\ncontent-type:application/json\n"].concat();
        let ack = acks.then(|| [b"ack:", &id[..], b"-"].concat().into());
        MessageHead { start: start.into(), middle: middle.into(), ack }
    }

    /// MESSAGE number `n` with this JSON `body`, encoded (exactly as long as it needs to be).
    pub fn encode(&self, n: u64, body: &[u8]) -> Vec<u8> {
        let mut num = [0u8; 20];
        let n = digits(n, &mut num);
        let mut len_buf = [0u8; 20];
        let len = digits(body.len() as u64, &mut len_buf);
        let ack = self.ack.as_deref().map_or(0, |a| a.len() + n.len() + 1);
        let size = self.start.len() + n.len() + self.middle.len() + ack + LENGTH.len() + len.len() + 2 + body.len() + 1;
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(&self.start);
        out.extend_from_slice(n);
        out.extend_from_slice(&self.middle);
        if let Some(a) = &self.ack {
            out.extend_from_slice(a);
            out.extend_from_slice(n);
            out.push(b'\n');
        }
        out.extend_from_slice(LENGTH);
        out.extend_from_slice(len);
        out.extend_from_slice(b"\n\n");
        out.extend_from_slice(body);
        out.push(0);
        debug_assert_eq!(out.len(), size);
        out
    }
}

/// `n` in decimal, in the end of `buf`.
fn digits(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

#[cfg(test)]
mod tests {
    use dungeontalk_app::wire::stomp::{Command, Frame};

    use super::*;

    /// The MESSAGE as a [`Frame`] writes it (how it was made before).
    fn framed(id: &str, destination: &str, acks: bool, n: u64, body: &[u8]) -> Vec<u8> {
        let message_id = format!("{id}-{n}");
        let mut frame = Frame::new(Command::Message)
            .header("subscription", id)
            .header("message-id", message_id.as_str())
            .header("destination", destination)
            .header("content-type", "application/json");
        if acks {
            frame = frame.header("ack", message_id);
        }
        frame.body(body).encode()
    }

    #[test]
    fn messages_are_the_bytes_a_frame_would_encode() {
        let body = br#"{"type":"TALK","seq":7,"text":"a:b\nc"}"#;
        for (id, destination) in [("sub-0", "/sub/chat/room/r1"), ("a:b\\c\nd\re", "/sub/aichat/room/x:y")] {
            for acks in [false, true] {
                let head = MessageHead::new(id, destination, acks);
                for n in [0, 1, 9, 10, 12345, u64::MAX] {
                    assert_eq!(head.encode(n, body), framed(id, destination, acks, n, body), "{id} {acks} {n}");
                }
            }
        }
    }
}
