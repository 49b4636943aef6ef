//! The server's WebSocket frame header parser against tungstenite's, on arbitrary bytes: both see
//! a complete header at the same point and read the same fields from it; ours refuses exactly
//! what breaks a rule tungstenite leaves to its caller (reserved bits, an unmasked client frame,
//! a fragmented or long control frame), and both refuse reserved opcodes. A refusal may come
//! early, from the first bytes, but only if the whole header would be refused the same way; a
//! length over the limit is refused from the header alone. Then round trips: a server header we
//! write reads back in tungstenite with the same fields and bytes, a masked client frame
//! tungstenite writes reads and unmasks in ours to its payload, and both agree on close codes.
#![no_main]

use std::borrow::Cow;
use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use tungstenite::Bytes;
use tungstenite::error::ProtocolError;
use tungstenite::protocol::frame::coding::{CloseCode, Control, Data, OpCode};
use tungstenite::protocol::frame::{Frame, FrameHeader};

#[path = "../../src/http/websocket/frame.rs"]
mod frame;

use frame::{Head, Op, OutHead};

/// What frame.rs takes from the server's `websocket::Error` (the real one needs axum).
#[derive(Debug)]
enum Error {
    TooBig,
    Protocol(&'static str),
}

/// A limit no length reaches: the headers are compared, not refused.
const NO_MAX: usize = usize::MAX;

/// Our parse, its error as the reason it gives.
fn ours(buf: &[u8], max: usize) -> Result<Option<Head>, &'static str> {
    frame::parse(buf, max).map_err(|e| match e {
        Error::TooBig => "too big",
        Error::Protocol(why) => why,
    })
}

/// tungstenite's parse: the header, its payload length and the header's length.
fn theirs(buf: &[u8]) -> tungstenite::Result<Option<(FrameHeader, u64, usize)>> {
    let mut cursor = Cursor::new(buf);
    let parsed = FrameHeader::parse(&mut cursor)?;
    Ok(parsed.map(|(header, len)| (header, len, cursor.position() as usize)))
}

fn opcode(op: Op) -> OpCode {
    match op {
        Op::Continue => OpCode::Data(Data::Continue),
        Op::Text => OpCode::Data(Data::Text),
        Op::Binary => OpCode::Data(Data::Binary),
        Op::Close => OpCode::Control(Control::Close),
        Op::Ping => OpCode::Control(Control::Ping),
        Op::Pong => OpCode::Control(Control::Pong),
    }
}

/// What RFC 6455 forbids a client's header that tungstenite's parser lets through.
fn breaks_a_rule(header: &FrameHeader, len: u64) -> bool {
    let control = matches!(header.opcode, OpCode::Control(_));
    header.rsv1 || header.rsv2 || header.rsv3 || header.mask.is_none() || control && (!header.is_final || len > 125)
}

fn same_header(head: &Head, header: &FrameHeader, len: u64, header_len: usize) {
    assert!(!breaks_a_rule(header, len), "ours read a forbidden header: {header:?}, {len} bytes");
    assert_eq!(opcode(head.op), header.opcode);
    assert_eq!((head.fin, Some(head.mask)), (header.is_final, header.mask));
    assert_eq!(head.len as u64, len, "payload length");
    assert_eq!(head.start, header_len, "header length");
}

/// Lengths where the rules turn (the short form's end, each form's limits, a 64-bit length's top
/// bit): random bytes rarely spell them out.
const EDGES: [u64; 10] = [0, 1, 125, 126, 127, 65535, 65536, 1 << 32, 1 << 63, u64::MAX];

/// The input, or (when `shape` says so) with its header's length replaced by one of the edges, in
/// the form `shape` chooses: at times longer than needed, which RFC 6455 lets a reader accept.
fn shaped(shape: u8, bytes: &[u8]) -> Cow<'_, [u8]> {
    let [b0, b1, rest @ ..] = bytes else { return Cow::Borrowed(bytes) };
    if shape & 0x80 == 0 {
        return Cow::Borrowed(bytes);
    }
    let len = EDGES[usize::from(shape >> 2 & 0x1F) % EDGES.len()];
    let mut out = vec![*b0, b1 & 0x80];
    match shape & 3 {
        0 if len < 126 => out[1] |= len as u8,
        0 | 1 if len <= 0xFFFF => {
            out[1] |= 126;
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out[1] |= 127;
            out.extend_from_slice(&len.to_be_bytes());
        }
    }
    out.extend_from_slice(rest);
    Cow::Owned(out)
}

/// Both parsers, on `bytes` as they came and with the rest of any header after them.
fn headers_agree(bytes: &[u8], pick: u8) {
    let mut padded = bytes.to_vec();
    padded.extend_from_slice(&[0; 14]);
    let decided = ours(&padded, NO_MAX);
    match (&decided, theirs(&padded)) {
        (Ok(Some(head)), Ok(Some((header, len, at)))) => same_header(head, &header, len, at),
        (Err(why), Ok(Some((header, len, _)))) => {
            assert!(breaks_a_rule(&header, len), "ours refused ({why}) a valid header: {header:?}, {len} bytes");
        }
        (Err(_), Err(tungstenite::Error::Protocol(ProtocolError::InvalidOpcode(op)))) => {
            // The one thing tungstenite's parser refuses, after naming it a reserved opcode.
            assert!(matches!(
                OpCode::from(op),
                OpCode::Data(Data::Reserved(_)) | OpCode::Control(Control::Reserved(_))
            ));
        }
        (mine, tung) => panic!("a header of 14 bytes or more: ours {mine:?}, tungstenite {tung:?}"),
    }

    let now = ours(bytes, NO_MAX);
    match (&now, theirs(bytes)) {
        (Ok(None), Ok(None)) => {}
        // A refusal from the first bytes must be the one the whole header gets.
        (Ok(Some(_)), Ok(Some(_))) | (Err(_), _) => assert_eq!(now, decided, "what follows a header changes it"),
        (mine, tung) => panic!("one parser has a whole header: ours {mine:?}, tungstenite {tung:?}"),
    }

    // The limit: around the header's own length, so both sides of it come up.
    let max = match (&decided, pick % 4) {
        (Ok(Some(head)), 0) => head.len.saturating_sub(1),
        (Ok(Some(head)), 1) => head.len,
        (Ok(Some(head)), 2) => head.len.saturating_add(1),
        _ => usize::from(pick) * 257,
    };
    let over = matches!(&decided, Ok(Some(head)) if head.len > max);
    for (buf, unlimited) in [(&padded[..], decided), (bytes, now)] {
        let limited = ours(buf, max);
        match unlimited {
            Ok(Some(head)) if head.len > max => assert_eq!(limited, Err("too big"), "over the limit"),
            // Refused as soon as the length is known, before the mask key.
            Ok(None) if limited == Err("too big") => assert!(over, "refused within the limit"),
            unlimited => assert_eq!(limited, unlimited, "the limit changed a header within it"),
        }
    }
}

/// A server header of ours, as tungstenite reads and writes it.
fn server_heads_round_trip(pick: u8, bytes: &[u8]) {
    let op = [Op::Continue, Op::Text, Op::Binary, Op::Close, Op::Ping, Op::Pong][usize::from(pick % 6)];
    let mut raw = [0u8; 9];
    let n = bytes.len().min(9);
    raw[..n].copy_from_slice(&bytes[..n]);
    // Shifted by up to 63 bits, so short lengths (and each length form's edges) come up often.
    let len = (u64::from_le_bytes(raw[1..].try_into().expect("eight bytes")) >> (raw[0] % 64)) as usize;
    let ours = OutHead::new(op, len);
    let Ok(Some((header, parsed_len, at))) = theirs(ours.as_bytes()) else { panic!("tungstenite reads our header") };
    assert!(header.is_final && !header.rsv1 && !header.rsv2 && !header.rsv3 && header.mask.is_none());
    assert_eq!((header.opcode, parsed_len, at), (opcode(op), len as u64, ours.as_bytes().len()));
    let mut written = Vec::new();
    header.format(len as u64, &mut written).expect("a Vec takes it");
    assert_eq!(written, ours.as_bytes(), "tungstenite writes the same header");
}

/// A masked client frame tungstenite writes, as ours reads and unmasks it (in two pieces).
fn client_frames_round_trip(pick: u8, bytes: &[u8]) {
    let Some((mask, payload)) = bytes.split_first_chunk::<4>() else { return };
    let (op, fin) = match pick % 5 {
        0 => (Op::Text, pick & 0x80 != 0),
        1 => (Op::Binary, pick & 0x80 != 0),
        2 => (Op::Continue, pick & 0x80 != 0),
        3 => (Op::Ping, true),
        _ => (Op::Close, true),
    };
    let payload = if op.is_control() { &payload[..payload.len().min(125)] } else { payload };
    let header = FrameHeader { is_final: fin, opcode: opcode(op), mask: Some(*mask), ..FrameHeader::default() };
    let mut wire = Vec::new();
    Frame::from_payload(header, Bytes::copy_from_slice(payload)).format(&mut wire).expect("a Vec takes it");
    let head = frame::parse(&wire, payload.len()).expect("a valid frame").expect("a whole frame");
    assert_eq!((head.fin, head.op, head.mask, head.end()), (fin, op, *mask, wire.len()));
    let mut body = wire[head.start..head.end()].to_vec();
    let split = usize::from(pick) % (body.len() + 1);
    let (first, rest) = body.split_at_mut(split);
    frame::unmask(first, head.mask, 0);
    frame::unmask(rest, head.mask, split);
    assert_eq!(body, payload, "unmasked");
}

fn close_codes_agree(bytes: &[u8]) {
    let Some(&[a, b]) = bytes.first_chunk::<2>() else { return };
    let code = u16::from_be_bytes([a, b]);
    let theirs = CloseCode::from(code).is_allowed();
    if code == 1014 {
        // Bad gateway, registered with IANA after tungstenite's list was written.
        assert!(frame::valid_close_code(code) && !theirs);
    } else {
        assert_eq!(frame::valid_close_code(code), theirs, "close code {code}");
    }
}

fuzz_target!(|data: &[u8]| {
    let [pick, shape, bytes @ ..] = data else { return };
    let (pick, shape) = (*pick, *shape);
    headers_agree(&shaped(shape, bytes), pick);
    server_heads_round_trip(pick, bytes);
    client_frames_round_trip(pick, bytes);
    close_codes_agree(bytes);
});
