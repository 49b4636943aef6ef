//! The STOMP decoder on arbitrary bytes, fed in two pieces split anywhere: it never panics,
//! never returns a frame over its limit, and every frame it returns encodes to bytes that decode
//! to the same frame (`content-length` aside: the encoder writes its own; and CONNECT/CONNECTED,
//! whose headers are not escaped, cannot carry a header with CR or LF: the encoder leaves it out).
#![no_main]

use dungeontalk_app::wire::stomp::{Decoder, Item};
use dungeontalk_app::wire::stomp::{Command, Frame};
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let Some((&split, bytes)) = data.split_first() else { return };
    let at = (split as usize * bytes.len()) / 255;
    let mut decoder = Decoder::new(LIMIT);
    let mut frames = Vec::new();
    for part in [&bytes[..at], &bytes[at..]] {
        match decoder.push(part) {
            Ok(items) => frames.extend(items.into_iter().filter_map(|i| match i {
                Item::Frame(f) => Some(f),
                _ => None,
            })),
            Err(_) => return,
        }
    }
    for frame in frames {
        assert!(frame.body.len() <= LIMIT, "a frame over the limit got through");
        let encoded = frame.encode();
        let again: Vec<_> = Decoder::new(LIMIT * 2).push(&encoded).expect("our own encoding decodes");
        match again.as_slice() {
            [Item::Frame(f)] => assert_eq!(sans_length(f), sans_length(&frame), "round trip"),
            other => panic!("one frame expected, got {other:?}"),
        }
    }
});

fn sans_length(f: &Frame) -> Frame {
    let mut f = f.clone();
    f.headers.retain(|(name, _)| name != "content-length");
    if matches!(f.command, Command::Connect | Command::Connected) {
        f.headers.retain(|(n, v)| !(n.contains(['\r', '\n']) || v.contains(['\r', '\n'])));
    }
    f
}
