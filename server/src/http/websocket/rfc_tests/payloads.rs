//! Autobahn sections 6, 7 and 9: UTF-8 in text and close reasons, the closing handshake, and
//! messages over the limit.

use super::super::Limits;
use super::super::test_client::{client_close, client_frame};
use super::{LIMITS, Peer, answer, answer_within, assert_close, bye, closed, fails_with, text};

/// "κόσμε" with a UTF-16 surrogate (U+D800, ED A0 80) and "edited": Autobahn's invalid text.
const KOSME_SURROGATE: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited";

// Section 6: UTF-8 handling.

#[tokio::test]
async fn valid_utf8_of_every_sequence_length_is_echoed() {
    let samples = [
        "Hello-µ@ßöäüàá-UTF-8!!",
        "κόσμε",
        "\u{0}\u{7F}\u{80}\u{7FF}\u{800}\u{D7FF}\u{E000}\u{FFFD}\u{FFFF}\u{10000}\u{10FFFF}",
        "€ 𝄞 😀",
    ];
    for sample in samples {
        let frames = answer(&[client_frame(0x81, sample.as_bytes()), bye()].concat()).await;
        assert_eq!(frames, [text(sample), closed(1000)]);
    }
}

#[tokio::test]
async fn invalid_utf8_text_fails_with_1007() {
    let invalid: [&[u8]; 14] = [
        b"\xff",
        b"\xfe",
        b"\x80",
        b"\xc0",
        KOSME_SURROGATE,
        b"\xed\xbf\xbf",
        // Overlong encodings of '/' and of U+0000.
        b"\xc0\xaf",
        b"\xe0\x80\xaf",
        b"\xf0\x80\x80\xaf",
        b"\xc0\x80",
        // Past U+10FFFF.
        b"\xf4\x90\x80\x80",
        b"\xf8\x88\x80\x80\x80",
        // A sequence cut short by the end of the message.
        b"\xce\xba\xe1\xbd",
        b"abc\xf0\x9d\x84",
    ];
    for bytes in invalid {
        fails_with(&[client_frame(0x81, bytes), bye()].concat(), 1007).await;
    }
}

#[tokio::test]
async fn a_character_split_across_fragments_is_accepted() {
    let message = "κόσμε 𝄞";
    for at in 1..message.len() {
        let (a, b) = message.as_bytes().split_at(at);
        let frames = answer(&[client_frame(0x01, a), client_frame(0x80, b), bye()].concat()).await;
        assert_eq!(frames, [text(message), closed(1000)], "split at {at}");
    }
    // One byte per fragment.
    let mut bytes: Vec<u8> = "𝄞".bytes().map(|b| client_frame(0x00, &[b])).collect::<Vec<_>>().concat();
    bytes[0] = 0x01;
    bytes.extend(client_frame(0x80, b""));
    bytes.extend(bye());
    assert_eq!(answer(&bytes).await, [text("𝄞"), closed(1000)]);
}

#[tokio::test]
async fn invalid_utf8_across_fragments_fails_with_1007() {
    for at in 1..KOSME_SURROGATE.len() {
        let (a, b) = KOSME_SURROGATE.split_at(at);
        fails_with(&[client_frame(0x01, a), client_frame(0x80, b), bye()].concat(), 1007).await;
    }
    // Valid fragments whose end leaves a character unfinished.
    fails_with(&[client_frame(0x01, b"ok"), client_frame(0x80, b"\xe2\x82"), bye()].concat(), 1007).await;
}

#[tokio::test]
async fn invalid_utf8_in_a_fragment_fails_before_the_message_ends() {
    // Autobahn 6.4: fail fast, rather than buffer the rest of a message already known to be bad.
    let mut peer = Peer::connect(LIMITS);
    peer.send(&client_frame(0x01, "κόσμε".as_bytes())).await;
    peer.send(&client_frame(0x00, b"\xf4\x90\x80\x80")).await;
    let frames = peer.rest().await;
    assert_close(&frames, 1007);
    assert_eq!(frames.len(), 1);
}

// Section 7: the closing handshake.

#[tokio::test]
async fn a_close_without_a_payload_is_echoed_without_one() {
    assert_eq!(answer(&client_frame(0x88, b"")).await, [(0x88, vec![])]);
}

#[tokio::test]
async fn a_close_with_a_one_byte_payload_fails_with_1002() {
    fails_with(&client_frame(0x88, b"\x03"), 1002).await;
}

#[tokio::test]
async fn a_close_with_the_longest_reason_is_echoed() {
    assert_eq!(answer(&client_close(1000, &[b'*'; 123])).await, [closed(1000)]);
    fails_with(&client_close(1000, &[b'*'; 124]), 1002).await;
}

#[tokio::test]
async fn reserved_and_unassigned_close_codes_fail_with_1002() {
    for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
        let frames = answer(&client_close(code, b"")).await;
        assert_close(&frames, 1002);
        assert_eq!(frames.len(), 1, "code {code}");
    }
}

#[tokio::test]
async fn registered_and_application_close_codes_are_echoed() {
    for code in (1000..=1003).chain(1007..=1014).chain([3000, 3999, 4000, 4999]) {
        assert_eq!(answer(&client_close(code, b"reason")).await, [closed(code)], "code {code}");
    }
}

#[tokio::test]
async fn a_close_reason_that_is_not_utf8_fails_with_1007() {
    fails_with(&client_close(1000, KOSME_SURROGATE), 1007).await;
}

#[tokio::test]
async fn frames_after_a_close_are_ignored() {
    let after = [
        client_frame(0x81, b"text"),
        client_frame(0x89, b"ping"),
        client_frame(0x80, b"continuation"),
        client_frame(0xC1, b"broken"),
        client_close(1001, b""),
    ];
    for frame in after {
        let frames = answer(&[bye(), frame].concat()).await;
        assert_eq!(frames, [closed(1000)]);
    }
    // Nor does a close in the middle of a fragmented message let the message finish.
    let bytes = [client_frame(0x01, b"frag"), bye(), client_frame(0x80, b"ment")].concat();
    assert_eq!(answer(&bytes).await, [closed(1000)]);
}

// Section 9-ish: limits.

#[tokio::test]
async fn a_message_over_the_limit_fails_with_1009() {
    let limits = Limits { max_message: 1000, ..LIMITS };
    let at_limit = "x".repeat(1000);
    let frames = answer_within(limits, &[client_frame(0x81, at_limit.as_bytes()), bye()].concat()).await;
    assert_eq!(frames, [text(&at_limit), closed(1000)]);
    let cases = [
        client_frame(0x82, &[0; 1001]),
        [client_frame(0x01, &[b'x'; 600]), client_frame(0x80, &[b'x'; 401])].concat(),
        // Only the header: its length alone is enough to refuse, without waiting for the payload.
        vec![0x82, 0xFF, 0, 0, 0, 0, 0, 0x10, 0, 0],
    ];
    for bytes in cases {
        let frames = answer_within(limits, &bytes).await;
        assert_close(&frames, 1009);
        assert_eq!(frames.len(), 1);
    }
}
