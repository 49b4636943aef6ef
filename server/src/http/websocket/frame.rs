//! RFC 6455 frames: reading a client's (masked) frame header, writing a server's (unmasked) one.
//!
//! Pure functions over bytes, so every rule of the protocol is tested without a socket.

use super::Error;

/// The opcodes a frame may carry (RFC 6455 §5.2); any other is a protocol error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Continue,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl Op {
    fn from_bits(bits: u8) -> Result<Op, Error> {
        Ok(match bits {
            0x0 => Op::Continue,
            0x1 => Op::Text,
            0x2 => Op::Binary,
            0x8 => Op::Close,
            0x9 => Op::Ping,
            0xA => Op::Pong,
            _ => return Err(Error::Protocol("unknown opcode")),
        })
    }

    fn bits(self) -> u8 {
        match self {
            Op::Continue => 0x0,
            Op::Text => 0x1,
            Op::Binary => 0x2,
            Op::Close => 0x8,
            Op::Ping => 0x9,
            Op::Pong => 0xA,
        }
    }

    /// Close, ping and pong: short, never fragmented, allowed between a message's fragments.
    pub fn is_control(self) -> bool {
        matches!(self, Op::Close | Op::Ping | Op::Pong)
    }
}

/// One client frame's header, with where its payload lies in the bytes it was read from.
#[derive(Debug, PartialEq, Eq)]
pub struct Head {
    pub fin: bool,
    pub op: Op,
    pub mask: [u8; 4],
    /// Where the payload starts, counted from the header's first byte.
    pub start: usize,
    pub len: usize,
}

impl Head {
    /// Bytes the whole frame takes, header included.
    pub fn end(&self) -> usize {
        self.start + self.len
    }
}

/// Reads the frame header at the start of `buf`: `Ok(None)` until all of it has arrived.
///
/// A payload longer than `max` is refused from its header alone, before any of it is buffered.
pub fn parse(buf: &[u8], max: usize) -> Result<Option<Head>, Error> {
    let [b0, b1, ..] = *buf else { return Ok(None) };
    if b0 & 0x70 != 0 {
        // No extension is negotiated, so no reserved bit may be set.
        return Err(Error::Protocol("reserved bits set"));
    }
    let fin = b0 & 0x80 != 0;
    let op = Op::from_bits(b0 & 0x0F)?;
    if b1 & 0x80 == 0 {
        return Err(Error::Protocol("client frames must be masked"));
    }
    let (len, at) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => (u64::from_be_bytes(b.try_into().expect("eight bytes")), 10),
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    if op.is_control() && (!fin || len > 125) {
        return Err(Error::Protocol("control frames are short and whole"));
    }
    if len > max as u64 {
        return Err(Error::TooBig);
    }
    let Some(mask) = buf.get(at..at + 4) else { return Ok(None) };
    let mask = mask.try_into().expect("four bytes");
    Ok(Some(Head { fin, op, mask, start: at + 4, len: len as usize }))
}

/// Unmasks a payload in place; `offset` is how many of the frame's payload bytes came before it.
pub fn unmask(data: &mut [u8], mask: [u8; 4], offset: usize) {
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= mask[(offset + i) & 3];
    }
}

/// A server frame's header (FIN set, unmasked): up to 10 bytes, kept inline.
#[derive(Clone, Copy, Debug)]
pub struct OutHead {
    bytes: [u8; 10],
    len: u8,
}

impl OutHead {
    /// The header of a whole message of `len` payload bytes.
    pub fn new(op: Op, len: usize) -> OutHead {
        let mut bytes = [0u8; 10];
        bytes[0] = 0x80 | op.bits();
        let n = if len < 126 {
            bytes[1] = len as u8;
            2
        } else if len <= usize::from(u16::MAX) {
            bytes[1] = 126;
            bytes[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            4
        } else {
            bytes[1] = 127;
            bytes[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            10
        };
        OutHead { bytes, len: n }
    }

    /// The header's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// Whether a close code may be sent by a peer (RFC 6455 §7.4: not the reserved ones).
///
/// 1012–1014 came after the RFC (IANA's registry: service restart, try again later, bad
/// gateway), and other endpoints send them.
pub fn valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::websocket::test_client::masked;

    #[test]
    fn a_masked_text_frame_parses_and_unmasks_to_its_payload() {
        let bytes = masked(0x81, b"hello", [1, 2, 3, 4]);
        let head = parse(&bytes, 1024).unwrap().unwrap();
        assert_eq!((head.fin, head.op, head.start, head.len), (true, Op::Text, 6, 5));
        let mut body = bytes[head.start..head.end()].to_vec();
        unmask(&mut body, head.mask, 0);
        assert_eq!(body, b"hello");
    }

    #[test]
    fn every_length_encoding_parses_and_partial_headers_wait() {
        for n in [0, 125, 126, 65535, 65536] {
            let bytes = masked(0x82, &vec![7u8; n], [9, 8, 7, 6]);
            let head = parse(&bytes, 1 << 20).unwrap().unwrap();
            assert_eq!((head.len, head.end()), (n, bytes.len()), "length {n}");
            for cut in 0..head.start {
                assert_eq!(parse(&bytes[..cut], 1 << 20).unwrap(), None, "length {n}, {cut} bytes");
            }
        }
    }

    #[test]
    fn broken_frames_are_protocol_errors_and_big_ones_are_refused_from_the_header() {
        let unmasked = [0x81, 0x01, b'x'];
        assert!(matches!(parse(&unmasked, 10), Err(Error::Protocol(_))));
        assert!(matches!(parse(&masked(0xC1, b"x", [0; 4]), 10), Err(Error::Protocol(_))), "RSV1");
        assert!(matches!(parse(&masked(0x83, b"x", [0; 4]), 10), Err(Error::Protocol(_))), "opcode 3");
        assert!(matches!(parse(&masked(0x09, b"x", [0; 4]), 10), Err(Error::Protocol(_))), "fragmented ping");
        assert!(matches!(parse(&masked(0x89, &[0; 126], [0; 4]), 1000), Err(Error::Protocol(_))), "long ping");
        // Only the header has arrived: the size is known, the payload is never waited for.
        assert!(matches!(parse(&[0x82, 0x80 | 126, 0x04, 0x00], 1023), Err(Error::TooBig)));
    }

    #[test]
    fn server_headers_encode_each_length_form() {
        assert_eq!(OutHead::new(Op::Text, 5).as_bytes(), [0x81, 5]);
        assert_eq!(OutHead::new(Op::Binary, 300).as_bytes(), [0x82, 126, 1, 44]);
        assert_eq!(OutHead::new(Op::Close, 0).as_bytes(), [0x88, 0]);
        assert_eq!(OutHead::new(Op::Text, 70_000).as_bytes(), [0x81, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
    }

    #[test]
    fn reserved_close_codes_are_invalid() {
        assert!(valid_close_code(1000) && valid_close_code(1014) && valid_close_code(4999));
        assert!(
            !valid_close_code(1005) && !valid_close_code(1015) && !valid_close_code(999) && !valid_close_code(5000)
        );
    }
}
