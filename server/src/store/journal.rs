//! The embedded store's write-ahead journal: each batch of events is one record appended to a
//! file and made durable with one `fdatasync`, so redb can take the events later, in bulk.
//!
//! Why: a durable redb commit writes every B-tree page the batch dirtied (one `pwrite` each, ~37
//! per commit of ~14 messages spread over many rooms) and syncs them, and even a commit kept in
//! memory costs the writer redb's page copies and bookkeeping per batch; the journal writes the
//! batch once, sequentially. The events wait in memory (`overlay.rs`) until the file is full; then
//! the applier writes them all into redb in one durable commit (`applier.rs`) while the journal
//! goes on in its *other* file. After a crash the store opens at its last commit and re-applies
//! both files, older generation first; inserts are idempotent by (room, seq), so re-applying
//! what redb already has is harmless.
//!
//! A file is reused from its start when its turn comes again, under the next *generation*,
//! instead of being truncated: overwriting blocks the file already has makes `fdatasync` flush
//! data only, with no file-system journal commit for a changed size (for the same reason each file
//! is written out to its limit when it starts). A record is
//! `generation u64 | length u32 | crc32 u32 | payload`; reading a file stops at the first record
//! that is torn, fails its checksum or belongs to another generation (what an older cycle left).

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use crate::model::Utf8Bytes;
use dungeontalk_app::wire::RoomId;

use crate::model::StoredEvent;

const HEADER: usize = 16;

/// The journal's two files, written by one insert at a time (the store's journal lock).
pub(super) struct Journal {
    files: [File; 2],
    /// The file records go to now; the other holds the generation the applier may be writing.
    current: usize,
    generation: u64,
    /// Where the next record goes in the current file.
    end: u64,
    /// The size past which the current file should be handed over.
    limit: u64,
    buf: Vec<u8>,
    /// A write or sync failed: what the file holds is unknown, so nothing more is accepted
    /// (a retried `fdatasync` can report success for pages the failed one dropped).
    broken: bool,
}

impl Journal {
    /// Starts an empty journal in `paths` (after [`read`] was re-applied and made durable).
    pub(super) fn start(paths: [&Path; 2], limit: u64) -> io::Result<Journal> {
        let files = [start_file(paths[0], limit)?, start_file(paths[1], limit)?];
        Ok(Journal { files, current: 0, generation: 1, end: 0, limit, buf: Vec::new(), broken: false })
    }

    /// Appends one batch and makes it durable. Answers whether the current file is past its
    /// limit: it should then be handed to the applier and the journal [`Journal::rotate`]d.
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
        let written = self.files[self.current]
            .write_all_at(&self.buf, self.end)
            .and_then(|()| self.files[self.current].sync_data());
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

    /// Goes on in the other file, from its start, under the next generation. Only once redb
    /// holds for good everything the other file has (the applier is done with it).
    pub(super) fn rotate(&mut self) {
        self.current ^= 1;
        self.generation += 1;
        self.end = 0;
    }

    /// How far the current file is past its limit, in limits (0 while under it).
    pub(super) fn overrun(&self) -> u64 {
        self.end / self.limit.max(1)
    }
}

/// Every event the two files hold, older generation first, in the order they were appended.
pub(super) fn read(paths: [&Path; 2]) -> io::Result<Vec<Arc<StoredEvent>>> {
    let mut files = [read_file(paths[0])?, read_file(paths[1])?];
    files.sort_by_key(|(generation, _)| *generation);
    Ok(files.into_iter().flat_map(|(_, events)| events).collect())
}

/// Empties the file at `path` (creating it) and writes it out to `limit` with zeros.
fn start_file(path: &Path, limit: u64) -> io::Result<File> {
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
    Ok(file)
}

/// The generation of the records at the start of the file at `path` (0: none) and their events.
fn read_file(path: &Path) -> io::Result<(u64, Vec<Arc<StoredEvent>>)> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => f.read_to_end(&mut bytes)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((0, Vec::new())),
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
    Ok((generation.unwrap_or(0), out))
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

    fn paths(dir: &tempfile::TempDir) -> [std::path::PathBuf; 2] {
        [dir.path().join("j"), dir.path().join("j.b")]
    }

    fn both(p: &[std::path::PathBuf; 2]) -> [&Path; 2] {
        [&p[0], &p[1]]
    }

    #[test]
    fn reads_both_files_older_generation_first_and_stops_at_what_an_older_cycle_left() {
        let dir = tempfile::tempdir().unwrap();
        let p = paths(&dir);
        let mut j = Journal::start(both(&p), 1 << 20).unwrap();
        let (a1, a2, b1, a3, a4) = (event("a", 1), event("a", 2), event("b", 1), event("a", 3), event("a", 4));
        j.append(&[&a1, &a2]).unwrap();
        j.append(&[&b1]).unwrap();
        assert_eq!(seqs(&read(both(&p)).unwrap()), [("a".into(), 1), ("a".into(), 2), ("b".into(), 1)]);
        j.rotate();
        j.append(&[&a3]).unwrap();
        let all = [("a".into(), 1), ("a".into(), 2), ("b".into(), 1), ("a".into(), 3)];
        assert_eq!(seqs(&read(both(&p)).unwrap()), all, "the second file's generation is newer");
        j.rotate();
        j.append(&[&a4]).unwrap();
        // The first file's first cycle left its second record behind this one: it is not read,
        // and this generation (3) now follows the second file's (2).
        assert_eq!(seqs(&read(both(&p)).unwrap()), [("a".into(), 3), ("a".into(), 4)]);
    }

    #[test]
    fn a_torn_or_corrupt_record_ends_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = paths(&dir);
        let mut j = Journal::start(both(&p), 1 << 20).unwrap();
        let (a1, a2) = (event("a", 1), event("a", 2));
        j.append(&[&a1]).unwrap();
        j.append(&[&a2]).unwrap();
        let file = OpenOptions::new().write(true).open(&p[0]).unwrap();
        file.set_len(j.end - 3).unwrap();
        assert_eq!(seqs(&read(both(&p)).unwrap()), [("a".into(), 1)], "torn: the last record is dropped");
        file.write_all_at(b"x", 20).unwrap();
        assert!(read(both(&p)).unwrap().is_empty(), "a flipped byte fails the checksum");
    }

    #[test]
    fn says_when_a_file_is_full() {
        let dir = tempfile::tempdir().unwrap();
        let p = paths(&dir);
        let mut j = Journal::start(both(&p), 100).unwrap();
        let a1 = event("a", 1);
        assert!(!j.append(&[&a1]).unwrap());
        assert!(j.append(&[&a1, &a1]).unwrap());
        assert!(j.append(&[&a1, &a1]).unwrap(), "past its limit until rotated");
        assert!(j.overrun() >= 2, "two records past it");
        j.rotate();
        assert!(!j.append(&[&a1]).unwrap(), "the other file starts empty");
    }
}
