//! SockJS framing: `o` opens, `h` beats, `a[...]` carries messages, `c[code,"reason"]` closes;
//! the client sends a JSON array of strings.

use std::fmt::Write;

/// The open frame.
pub const OPEN: &str = "o";
/// The heartbeat frame.
pub const HEARTBEAT: &str = "h";

/// Why a session or a receiver ends, as SockJS close codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Close {
    /// The session ended normally (DISCONNECT, ERROR, logout).
    GoAway,
    /// Another receiver is already attached to the session.
    AnotherOpen,
    /// The client stopped listening or taking its frames.
    Abandoned,
}

impl Close {
    /// The `c[...]` frame.
    pub fn frame(self) -> String {
        match self {
            Close::GoAway => r#"c[3000,"Go away!"]"#,
            Close::AnotherOpen => r#"c[2010,"Another connection still open"]"#,
            Close::Abandoned => r#"c[1002,"Connection interrupted"]"#,
        }
        .to_owned()
    }
}

/// An `a[...]` frame of the messages, each a JSON string. Besides JSON's own escapes, characters
/// that some browsers and proxies mangle are escaped as `\uXXXX`, as SockJS requires.
pub fn array<'a>(messages: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::from("a[");
    for (i, m) in messages.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let quoted = serde_json::to_string(m).expect("strings serialize");
        for c in quoted.chars() {
            if mangled(c) {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            } else {
                out.push(c);
            }
        }
    }
    out.push(']');
    out
}

fn mangled(c: char) -> bool {
    matches!(c as u32,
        0x7f..=0x9f | 0xad | 0x600..=0x604 | 0x70f | 0x17b4 | 0x17b5 | 0x200c..=0x200f
        | 0x2028..=0x202f | 0x2060..=0x206f | 0xfeff | 0xfff0..=0xffff)
}

/// What a client sent in one `xhr_send` body or one WebSocket message: a JSON array of strings
/// (or, on the WebSocket, one JSON string).
pub fn messages(body: &[u8]) -> Result<Vec<String>, &'static str> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("Payload expected.");
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::String(s)) => Ok(vec![s]),
        Ok(serde_json::Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => Ok(s),
                _ => Err("Broken JSON encoding: an array of strings expected."),
            })
            .collect(),
        _ => Err("Broken JSON encoding: an array of strings expected."),
    }
}

/// A server or session id as SockJS allows: not empty, no dots, not absurdly long.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && !id.contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_escape_what_browsers_mangle() {
        assert_eq!(array(["a", "b\"c\n"]), r#"a["a","b\"c\n"]"#);
        assert_eq!(array(["x\u{2028}y\u{feff}"]), r#"a["x\u2028y\ufeff"]"#);
        assert_eq!(array(["\0"]), r#"a["\u0000"]"#);
        assert_eq!(array(std::iter::empty()), "a[]");
    }

    #[test]
    fn clients_send_arrays_of_strings() {
        assert_eq!(messages(br#"["a","b"]"#).unwrap(), ["a", "b"]);
        assert_eq!(messages(br#""one""#).unwrap(), ["one"]);
        assert!(messages(b"").is_err());
        assert!(messages(b"[1]").is_err());
        assert!(messages(b"{").is_err());
    }

    proptest::proptest! {
        /// Whatever a message holds, a client's JSON parser gets it back unchanged.
        #[test]
        fn arrays_round_trip(messages in proptest::collection::vec(".*", 0..4)) {
            let frame = array(messages.iter().map(String::as_str));
            let back: Vec<String> = serde_json::from_str(&frame[1..]).unwrap();
            proptest::prop_assert_eq!(back, messages);
        }

        /// Any body is a list of messages or a clear refusal, never a panic.
        #[test]
        fn any_body_is_read_or_refused(body in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = messages(&body);
        }
    }

    #[test]
    fn ids_have_no_dots() {
        assert!(valid_id("abc123"));
        assert!(!valid_id(""));
        assert!(!valid_id("a.b"));
        assert!(!valid_id(&"x".repeat(65)));
    }
}
