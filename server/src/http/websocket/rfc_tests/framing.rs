//! Autobahn sections 1–5: payload lengths, pings and pongs, reserved bits, opcodes and
//! fragmentation.

use super::super::test_client::{client_frame, masked};
use super::{LIMITS, Peer, answer, assert_close, bye, closed, fails_with, text};

// Section 1: framing.

#[tokio::test]
async fn text_and_binary_of_every_length_form_are_echoed() {
    for len in [0, 125, 126, 127, 128, 65535, 65536] {
        let message = "*".repeat(len);
        let binary = vec![0xFE; len];
        let bytes = [client_frame(0x81, message.as_bytes()), client_frame(0x82, &binary), bye()].concat();
        let frames = answer(&bytes).await;
        assert!(frames == [text(&message), (0x82, binary), closed(1000)], "length {len}: {} frames", frames.len());
    }
}

#[tokio::test]
async fn a_frame_written_one_byte_at_a_time_is_echoed_whole() {
    // Over 125 bytes, so the extended length arrives split too.
    let message = "chopped ".repeat(40);
    let mut peer = Peer::connect(LIMITS);
    for b in client_frame(0x81, message.as_bytes()) {
        peer.send(&[b]).await;
        tokio::task::yield_now().await;
    }
    assert_eq!(peer.frame().await, Some(text(&message)));
    peer.send(&bye()).await;
    assert_eq!(peer.rest().await, [closed(1000)]);
}

// Section 2: pings and pongs.

#[tokio::test]
async fn a_ping_is_answered_by_a_pong_with_its_payload() {
    for payload in [&b""[..], b"Hello, world!", &[0xFE; 125], &[0x00, 0xFF, 0xFE, 0xFD]] {
        let frames = answer(&[client_frame(0x89, payload), bye()].concat()).await;
        assert_eq!(frames, [(0x8A, payload.to_vec()), closed(1000)], "{} bytes", payload.len());
    }
}

#[tokio::test]
async fn a_ping_longer_than_125_bytes_fails_with_1002() {
    fails_with(&[client_frame(0x89, &[0xFE; 126]), bye()].concat(), 1002).await;
}

#[tokio::test]
async fn an_unsolicited_pong_is_ignored() {
    let bytes = [client_frame(0x8A, b"unsolicited"), client_frame(0x81, b"after"), bye()].concat();
    assert_eq!(answer(&bytes).await, [text("after"), closed(1000)]);
}

#[tokio::test]
async fn ten_pings_in_a_row_get_ten_pongs_in_order() {
    let pings: Vec<String> = (0..10).map(|i| format!("ping {i}")).collect();
    let mut bytes: Vec<u8> = pings.iter().flat_map(|p| client_frame(0x89, p.as_bytes())).collect();
    bytes.extend(bye());
    let mut expected: Vec<_> = pings.iter().map(|p| (0x8A, p.as_bytes().to_vec())).collect();
    expected.push(closed(1000));
    assert_eq!(answer(&bytes).await, expected);
}

// Section 3: reserved bits.

#[tokio::test]
async fn a_reserved_bit_fails_with_1002_on_any_frame() {
    for rsv in [0x40, 0x20, 0x10, 0x60, 0x50, 0x30, 0x70] {
        for (b0, payload) in [(0x81, &b"text"[..]), (0x82, b"\x00\xFF"), (0x89, b"ping"), (0x88, b"\x03\xE8")] {
            // A valid message first: it is echoed, and the broken frame ends the connection.
            let bytes = [client_frame(0x81, b"before"), client_frame(b0 | rsv, payload), client_frame(0x89, b"")];
            let frames = answer(&bytes.concat()).await;
            assert_close(&frames, 1002);
            assert_eq!(frames[..frames.len() - 1], [text("before")], "RSV {rsv:#x} on {b0:#x}");
        }
    }
}

// Section 4: opcodes.

#[tokio::test]
async fn a_reserved_opcode_fails_with_1002() {
    for op in (3..=7).chain(11..=15) {
        for payload in [&b""[..], b"reserved"] {
            let bytes = [client_frame(0x81, b"before"), client_frame(0x80 | op, payload), client_frame(0x89, b"")];
            let frames = answer(&bytes.concat()).await;
            assert_close(&frames, 1002);
            assert_eq!(frames[..frames.len() - 1], [text("before")], "opcode {op}");
        }
    }
}

// Section 5: fragmentation.

#[tokio::test]
async fn fragmented_text_and_binary_are_reassembled() {
    let bytes = [
        client_frame(0x01, b"fragment1"),
        client_frame(0x80, b"fragment2"),
        client_frame(0x02, &[1, 2]),
        client_frame(0x00, &[]),
        client_frame(0x00, &[3]),
        client_frame(0x80, &[4, 5]),
        bye(),
    ];
    let frames = answer(&bytes.concat()).await;
    assert_eq!(frames, [text("fragment1fragment2"), (0x82, vec![1, 2, 3, 4, 5]), closed(1000)]);
}

#[tokio::test]
async fn a_ping_between_fragments_is_answered_before_the_message_ends() {
    let mut peer = Peer::connect(LIMITS);
    peer.send(&[client_frame(0x01, b"frag"), client_frame(0x89, b"in between")].concat()).await;
    assert_eq!(peer.frame().await, Some((0x8A, b"in between".to_vec())), "the pong comes at once");
    peer.send(&[client_frame(0x00, b"men"), client_frame(0x89, b"again"), client_frame(0x80, b"ted")].concat()).await;
    assert_eq!(peer.frame().await, Some((0x8A, b"again".to_vec())));
    assert_eq!(peer.frame().await, Some(text("fragmented")));
    peer.send(&bye()).await;
    assert_eq!(peer.rest().await, [closed(1000)]);
}

#[tokio::test]
async fn a_continuation_with_nothing_to_continue_fails_with_1002() {
    for fin in [0x80, 0x00] {
        fails_with(&[client_frame(fin, b"continuation"), bye()].concat(), 1002).await;
        // Nor after a whole message: it is over.
        let bytes = [client_frame(0x81, b"whole"), client_frame(fin, b"continuation"), bye()].concat();
        let frames = answer(&bytes).await;
        assert_close(&frames, 1002);
        assert_eq!(frames[..frames.len() - 1], [text("whole")]);
    }
}

#[tokio::test]
async fn a_new_message_while_one_is_fragmented_fails_with_1002() {
    for b0 in [0x81, 0x01, 0x82, 0x02] {
        fails_with(&[client_frame(0x01, b"open"), client_frame(b0, b"new"), bye()].concat(), 1002).await;
    }
}

#[tokio::test]
async fn a_fragmented_control_frame_fails_with_1002() {
    for op in [0x09, 0x0A, 0x08] {
        fails_with(&[client_frame(op, b""), client_frame(0x80, b""), bye()].concat(), 1002).await;
    }
}

#[tokio::test]
async fn an_unmasked_client_frame_fails_with_1002() {
    fails_with(&[&[0x81, 0x05][..], b"hello", &bye()].concat(), 1002).await;
    // The mask bit is what counts, not the key: a zero key is a valid mask.
    let frames = answer(&[masked(0x81, b"hello", [0; 4]), bye()].concat()).await;
    assert_eq!(frames, [text("hello"), closed(1000)]);
}
