//! The compact TALK decoder on arbitrary bytes: it never panics, and every TALK it returns
//! encodes to bytes that decode to the same TALK.
#![no_main]

use dungeontalk_app::wire::RoomId;
use dungeontalk_app::wire::compact::{decode_talk, encode_talk};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let room = RoomId("r".into());
    if let Ok(talk) = decode_talk(data, &room) {
        let again = decode_talk(&encode_talk(&talk), &room).expect("our own encoding decodes");
        assert_eq!(again, talk, "round trip");
    }
});
