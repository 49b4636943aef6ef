//! The embedded store's write-ahead journal: each batch of events is one record appended to one
//! file and made durable with one `fdatasync`, so the redb commit after it can stay in memory.
//!
//! Why: a durable redb commit writes every B-tree page the batch dirtied (one `pwrite` each, ~37
//! per commit of ~14 messages spread over many rooms) and syncs them; the journal writes the
//! batch once, sequentially. redb's non-durable commits are visible to readers at once, and a
//! durable commit every `store_journal_bytes` (a checkpoint) writes each dirty page once however
//! many batches touched it. After a crash the store opens at its last checkpoint and re-applies
//! the journal; inserts are idempotent by (room, seq), so re-applying twice is harmless.
//!
//! The file is reused from its start after each checkpoint, under the next *generation*, instead
//! of being truncated: overwriting blocks the file already has makes `fdatasync` flush data only,
//! with no file-system journal commit for a changed size (for the same reason the file is written
//! out to its limit when it starts). A record is
//! `generation u64 | length u32 | crc32 u32 | payload`; reading stops at the first record that is
//! torn, fails its checksum or belongs to another generation (what an older cycle left behind).

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use dungeontalk_app::wire::RoomId;

use crate::model::StoredEvent;

const HEADER: usize = 16;

/// The journal file, written by one commit at a time (the store's write transaction).
pub(super) struct Journal {
    file: File,
    generation: u64,
    /// Where the next record goes.
    end: u64,
    /// The size past which the next commit is a checkpoint.
    limit: u64,
    buf: Vec<u8>,
    /// A write or sync failed: what the file holds is unknown, so nothing more is accepted
    /// (a retried `fdatasync` can report success for pages the failed one dropped).
    broken: bool,
}

impl Journal {
    /// Starts an empty journal at `path` (after [`read`] was re-applied and made durable).
    pub(super) fn start(path: &Path, limit: u64) -> io::Result<Journal> {
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        // Emptied once per start, so no record of an earlier run can pass for one of this run's
        // generations, which count from 1 again; then written out to its limit with zeros (which
        // no record header matches), so that even the first cycle's syncs flush data only.
        file.set_len(0)?;
        let zeros = vec![0; 1 << 20];
        let mut at = 0;
        while at < limit {
            let n = (limit - at).min(zeros.len() as u64);
            file.write_all_at(&zeros[..n as usize], at)?;
            at += n;
        }
        file.sync_all()?;
        Ok(Journal { file, generation: 1, end: 0, limit, buf: Vec::new(), broken: false })
    }

    /// Appends one batch and makes it durable. Answers whether the journal is past its limit:
    /// the commit that follows must then be durable, and [`Journal::checkpointed`] called.
    pub(super) fn append(&mut self, events: &[&StoredEvent]) -> io::Result<bool> {
        if self.broken {
            return Err(io::Error::other("an earlier journal write failed; restart to recover from the journal"));
        }
        self.buf.clear();
        self.buf.extend_from_slice(&[0; HEADER]);
        for event in events {
            encode(&mut self.buf, event)?;
        }
        let len = u32::try_from(self.buf.len() - HEADER).map_err(|_| io::Error::other("journal record too large"))?;
        self.buf[..8].copy_from_slice(&self.generation.to_le_bytes());
        self.buf[8..12].copy_from_slice(&len.to_le_bytes());
        let crc = checksum(&self.buf[..12], &self.buf[HEADER..]);
        self.buf[12..16].copy_from_slice(&crc.to_le_bytes());
        let written = self.file.write_all_at(&self.buf, self.end).and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            self.broken = true;
            return Err(e);
        }
        self.end += self.buf.len() as u64;
        if self.buf.capacity() > 1 << 20 {
            self.buf = Vec::new();
        }
        Ok(self.end >= self.limit)
    }

    /// The store holds everything journaled so far for good: later records overwrite the file
    /// from its start under the next generation.
    pub(super) fn checkpointed(&mut self) {
        self.generation += 1;
        self.end = 0;
    }

    /// Refuses every later append: a commit after a journaled batch failed, so the journal holds
    /// a batch the store does not, and the next batch could reuse its seqs.
    pub(super) fn fail(&mut self) {
        self.broken = true;
    }
}

/// The events of the journal's current generation, in the order they were appended.
pub(super) fn read(path: &Path) -> io::Result<Vec<Arc<StoredEvent>>> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => f.read_to_end(&mut bytes)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    let mut at = 0;
    let mut generation = None;
    while let Some(header) = bytes.get(at..at + HEADER) {
        let this = u64::from_le_bytes(header[..8].try_into().expect("8 bytes"));
        let len = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(header[12..16].try_into().expect("4 bytes"));
        let Some(payload) = bytes.get(at + HEADER..at + HEADER + len) else { break };
        // Generation 0 is the zeros the file was written out with: no record is there.
        if this == 0 || *generation.get_or_insert(this) != this || checksum(&header[..12], payload) != crc {
            break;
        }
        decode(payload, &mut out)?;
        at += HEADER + len;
    }
    Ok(out)
}

fn checksum(header: &[u8], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(header);
    h.update(payload);
    h.finalize()
}

/// `room length u16 | room | seq u64 | json length u32 | json`: the message id and the rest
/// are derived from the JSON again, as for any event read from the store.
fn encode(buf: &mut Vec<u8>, event: &StoredEvent) -> io::Result<()> {
    let room = event.room_id.0.as_bytes();
    let room_len = u16::try_from(room.len()).map_err(|_| io::Error::other("room id too long for the journal"))?;
    let json = event.json.as_str().as_bytes();
    let json_len = u32::try_from(json.len()).map_err(|_| io::Error::other("event too large for the journal"))?;
    buf.extend_from_slice(&room_len.to_le_bytes());
    buf.extend_from_slice(room);
    buf.extend_from_slice(&event.seq.to_le_bytes());
    buf.extend_from_slice(&json_len.to_le_bytes());
    buf.extend_from_slice(json);
    Ok(())
}

fn decode(mut payload: &[u8], out: &mut Vec<Arc<StoredEvent>>) -> io::Result<()> {
    fn take<'a>(p: &mut &'a [u8], n: usize) -> io::Result<&'a [u8]> {
        if p.len() < n {
            return Err(io::Error::other("a journal record's checksum matched but its events do not parse"));
        }
        let (head, rest) = p.split_at(n);
        *p = rest;
        Ok(head)
    }
    fn text(bytes: &[u8]) -> io::Result<String> {
        String::from_utf8(bytes.to_vec()).map_err(|_| io::Error::other("a journal record holds invalid UTF-8"))
    }
    while !payload.is_empty() {
        let room_len = u16::from_le_bytes(take(&mut payload, 2)?.try_into().expect("2 bytes")) as usize;
        let room = text(take(&mut payload, room_len)?)?;
        let seq = u64::from_le_bytes(take(&mut payload, 8)?.try_into().expect("8 bytes"));
        let json_len = u32::from_le_bytes(take(&mut payload, 4)?.try_into().expect("4 bytes")) as usize;
        let json = text(take(&mut payload, json_len)?)?;
        out.push(Arc::new(StoredEvent::new(RoomId(room), seq, Utf8Bytes::from(json))));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(room: &str, seq: u64) -> StoredEvent {
        let json = format!(r#"{{"type":"JOIN","seq":{seq},"roomId":"{room}"}}"#);
        StoredEvent::new(RoomId(room.into()), seq, Utf8Bytes::from(json))
    }

    fn seqs(events: &[Arc<StoredEvent>]) -> Vec<(String, u64)> {
        events.iter().map(|e| (e.room_id.0.clone(), e.seq)).collect()
    }

    #[test]
    fn reads_back_the_current_generation_and_stops_at_what_an_older_one_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let mut j = Journal::start(&path, 1 << 20).unwrap();
        let (a1, a2, b1) = (event("a", 1), event("a", 2), event("b", 1));
        j.append(&[&a1, &a2]).unwrap();
        j.append(&[&b1]).unwrap();
        assert_eq!(seqs(&read(&path).unwrap()), [("a".into(), 1), ("a".into(), 2), ("b".into(), 1)]);
        j.checkpointed();
        let a3 = event("a", 3);
        j.append(&[&a3]).unwrap();
        // The first cycle's second record is still in the file, after this one: it is not read.
        assert_eq!(seqs(&read(&path).unwrap()), [("a".into(), 3)]);
    }

    #[test]
    fn a_torn_or_corrupt_record_ends_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let mut j = Journal::start(&path, 1 << 20).unwrap();
        let (a1, a2) = (event("a", 1), event("a", 2));
        j.append(&[&a1]).unwrap();
        j.append(&[&a2]).unwrap();
        let file = OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(j.end - 3).unwrap();
        assert_eq!(seqs(&read(&path).unwrap()), [("a".into(), 1)], "torn: the last record is dropped");
        file.write_all_at(b"x", 20).unwrap();
        assert!(read(&path).unwrap().is_empty(), "a flipped byte fails the checksum");
    }

    #[test]
    fn says_when_it_is_full() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::start(&dir.path().join("j"), 100).unwrap();
        let a1 = event("a", 1);
        assert!(!j.append(&[&a1]).unwrap());
        assert!(j.append(&[&a1, &a1]).unwrap());
        j.checkpointed();
        assert!(!j.append(&[&a1]).unwrap(), "a checkpoint starts it over");
    }
}
