//! What goes on the topic: a versioned envelope around the shared draft type, keyed by roomId,
//! in the partition Kafka's own Java clients would pick for that key (murmur2), so any producer
//! that keys by roomId keeps a room in one partition.
//!
//! Compatibility rule: version 1 is read by every later node; a later version may add fields
//! (ignored here) but a change that a v1 reader would misread must bump `v`, and a node skips
//! (and counts) envelopes of a version it does not know rather than guess.

use serde::{Deserialize, Serialize};

use crate::model::Draft;

/// The version this node writes.
pub const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Envelope<D> {
    v: u32,
    #[serde(flatten)]
    draft: D,
}

/// The bytes of a draft on the topic.
pub fn encode(draft: &Draft) -> Vec<u8> {
    serde_json::to_vec(&Envelope { v: VERSION, draft }).expect("drafts serialize")
}

/// Why an envelope was skipped.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("envelope version {0} is newer than this node reads")]
    Version(u32),
    #[error("not an envelope: {0}")]
    Malformed(serde_json::Error),
}

/// The draft in an envelope.
pub fn decode(bytes: &[u8]) -> Result<Draft, DecodeError> {
    #[derive(Deserialize)]
    struct Version {
        v: u32,
    }
    let version: Version = serde_json::from_slice(bytes).map_err(DecodeError::Malformed)?;
    if version.v != VERSION {
        return Err(DecodeError::Version(version.v));
    }
    let envelope: Envelope<Draft> = serde_json::from_slice(bytes).map_err(DecodeError::Malformed)?;
    Ok(envelope.draft)
}

/// Kafka's murmur2 (the Java client's `Utils.murmur2`).
fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = SEED ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition of a key, as the Java client's default partitioner computes it.
pub fn partition_of(key: &str, partitions: i32) -> i32 {
    (murmur2(key.as_bytes()) & 0x7fff_ffff) % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use dungeontalk_app::wire::{MemberId, RoomId};
    use uuid::Uuid;

    use super::*;
    use crate::model::EventBody;

    fn draft() -> Draft {
        let body = EventBody::Talk {
            message_id: Uuid::now_v7(),
            sender_id: MemberId("m1".into()),
            sender_nickname: "Aria".into(),
            content: "hello".into(),
            receiver_id: None,
            mentions: Vec::new(),
        };
        Draft::new(RoomId("r1".into()), body)
    }

    #[test]
    fn a_draft_survives_the_topic() {
        let d = draft();
        let bytes = encode(&d);
        assert!(bytes.starts_with(br#"{"v":1,"roomId":"r1""#), "{}", String::from_utf8_lossy(&bytes));
        assert_eq!(decode(&bytes).unwrap(), d);
    }

    #[test]
    fn fields_a_later_version_adds_are_ignored_and_unknown_versions_skipped() {
        let mut value: serde_json::Value = serde_json::from_slice(&encode(&draft())).unwrap();
        value["traceId"] = "abc".into();
        value["body"]["mood"] = "cheerful".into();
        assert!(decode(value.to_string().as_bytes()).is_ok(), "additive fields are fine");
        value["v"] = 2.into();
        assert!(matches!(decode(value.to_string().as_bytes()), Err(DecodeError::Version(2))));
        assert!(matches!(decode(b"not json"), Err(DecodeError::Malformed(_))));
    }

    #[test]
    fn partitions_match_the_java_client() {
        // Values from org.apache.kafka.common.utils.Utils.murmur2 (Kafka's own test vectors).
        assert_eq!(murmur2(b"21"), -973932308);
        assert_eq!(murmur2(b"foobar"), -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1486304829);
        assert_eq!(murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
        assert_eq!(murmur2(b"abc"), 479470107);
        assert_eq!(partition_of("abc", 8), 479470107 % 8);
    }
}
