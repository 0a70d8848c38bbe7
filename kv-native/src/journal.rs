//! The journal's format: `<store file>.journal`, a text file of checksummed lines that extends
//! the store file with the changes committed since it was written (drawn in `docs/design.md`).
//!
//! Every line is `CRC SP BODY LF`: `CRC` is the CRC-32 (IEEE) of `BODY` in eight lowercase hex
//! digits, and `BODY` is JSON with no line feed in it. The first line is the header, which names
//! the exact store file the journal extends (its length and CRC-32); each later line is one
//! record, a JSON array of operations applied in order:
//!
//! ```text
//! 5c1f00d2 {"kv-journal":1,"extends":{"bytes":27,"crc32":"8a9b0c1d"}}
//! 0b3d6a11 [["set","seen:123",1763700000],["delete","old"]]
//! 77e2c4a0 [["clear"],["set","a",1]]
//! ```

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use kv_core::{Change, Corrupt, JsonText, MAX_EXPIRY_MS, Replay, Stored, encode_record};
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, Error as _, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::{Error, FileError, Op};

/// The journal that extends the store file at `path`.
pub(crate) fn journal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

/// A store file's identity, as a journal header names it: its length and its CRC-32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    pub(crate) bytes: u64,
    pub(crate) crc32: u32,
}

impl FileId {
    pub(crate) fn of(bytes: &[u8]) -> Self {
        Self {
            bytes: bytes.len() as u64,
            crc32: crc32fast::hash(bytes),
        }
    }
}

/// The header line of a fresh journal extending `file` (`None`: no store file exists yet).
pub(crate) fn header(file: Option<FileId>) -> Vec<u8> {
    let body = match file {
        Some(id) => format!(
            "{{\"kv-journal\":1,\"extends\":{{\"bytes\":{},\"crc32\":\"{:08x}\"}}}}",
            id.bytes, id.crc32
        ),
        None => "{\"kv-journal\":1,\"extends\":null}".to_owned(),
    };
    line(body.as_bytes())
}

/// `CRC SP BODY LF`.
fn line(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 10);
    out.extend_from_slice(format!("{:08x} ", crc32fast::hash(body)).as_bytes());
    out.extend_from_slice(body);
    out.push(b'\n');
    out
}

/// One record, built from the commits it carries (one, or a group's, in commit order).
#[derive(Debug, Default)]
pub(crate) struct Record {
    body: Vec<u8>,
}

impl Record {
    pub(crate) fn new() -> Self {
        Self { body: vec![b'['] }
    }

    /// Adds one commit's operations: a clear first if it clears, then its changes.
    pub(crate) fn push<'c>(&mut self, clear: bool, changes: impl Iterator<Item = Change<'c>>) {
        if clear {
            self.op();
            self.body.extend_from_slice(b"[\"clear\"]");
        }
        for change in changes {
            self.op();
            match change {
                Change::Put { key, value } => {
                    // A record is the value's JSON, or for an expiring key U+0000, the expiry,
                    // a space and the JSON (`kv_core::encode_record`). An expiring record
                    // travels whole as the text of a `set-text`: a release from before expiry
                    // reads the line, finds the `\u0000format` marker the same commit put
                    // first, and refuses the store as written by a newer version (rather
                    // than as a journal it cannot read).
                    let text = value.contains(&b'\n') || value.first() == Some(&0);
                    self.body.extend_from_slice(if text {
                        b"[\"set-text\","
                    } else {
                        b"[\"set\","
                    });
                    self.string(key);
                    self.body.push(b',');
                    if text {
                        // A value's text may hold line feeds (whitespace inside a
                        // `JsonText`); a body may not, so such a value travels as a JSON
                        // string of its text.
                        self.string(&String::from_utf8_lossy(value));
                    } else {
                        self.body.extend_from_slice(value);
                    }
                }
                Change::Delete { key } => {
                    self.body.extend_from_slice(b"[\"delete\",");
                    self.string(key);
                }
            }
            self.body.push(b']');
        }
    }

    /// Whether no operation was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.body.len() == 1
    }

    /// The record's line, ready to append.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.body.push(b']');
        line(&self.body)
    }

    fn op(&mut self) {
        if self.body.len() > 1 {
            self.body.push(b',');
        }
    }

    fn string(&mut self, text: &str) {
        serde_json::to_writer(&mut self.body, text).expect("a string always serializes");
    }
}

/// Where and why a journal does not read: its byte offset and line (from 1).
#[derive(Debug)]
pub(crate) struct Damage {
    offset: usize,
    line: usize,
    reason: String,
}

impl Damage {
    pub(crate) fn into_corrupt(self) -> Corrupt {
        Corrupt::at(
            self.line,
            1,
            format!(
                "journal line at byte offset {}: {}",
                self.offset, self.reason
            ),
        )
    }
}

/// A journal read whole.
#[derive(Debug)]
pub(crate) struct Parsed {
    /// The header's length in bytes.
    pub(crate) header_len: usize,
    /// Every operation of every complete record, oldest first.
    pub(crate) changes: Vec<Replay>,
    /// The length of the header and the complete records; any bytes after it are a torn
    /// record, never acknowledged.
    pub(crate) good_len: usize,
}

/// Reads the header of `bytes`: the store file it extends, and the header's length.
pub(crate) fn parse_header(bytes: &[u8]) -> Result<(Option<FileId>, usize), Damage> {
    let damage = |reason: &str| Damage {
        offset: 0,
        line: 1,
        reason: format!("the header {reason}"),
    };
    let Some(end) = bytes.iter().position(|&b| b == b'\n') else {
        return Err(damage(
            "is incomplete: the journal is not one this version wrote",
        ));
    };
    let body = checked(&bytes[..end]).ok_or_else(|| damage("fails its checksum"))?;
    let header: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| damage("is not JSON"))?;
    if header["kv-journal"] != 1 {
        return Err(damage("is not a version 1 journal header"));
    }
    let extends = match &header["extends"] {
        serde_json::Value::Null => None,
        extends => {
            let bytes = extends["bytes"].as_u64();
            let crc32 = extends["crc32"]
                .as_str()
                .and_then(|c| u32::from_str_radix(c, 16).ok());
            match (bytes, crc32) {
                (Some(bytes), Some(crc32)) => Some(FileId { bytes, crc32 }),
                _ => return Err(damage("does not name the file it extends")),
            }
        }
    };
    Ok((extends, end + 1))
}

/// Reads a whole journal. A last record without its line feed, or whose checksum fails, was
/// torn by a crash while it was appended (never acknowledged) and is left out; any other
/// damage is an error at its byte offset.
pub(crate) fn parse(bytes: &[u8]) -> Result<Parsed, Damage> {
    let (_, header_len) = parse_header(bytes)?;
    let mut changes = Vec::new();
    let (mut at, mut line) = (header_len, 2);
    while at < bytes.len() {
        let damage = |reason: &str| Damage {
            offset: at,
            line,
            reason: reason.to_owned(),
        };
        let end = match line_feed(&bytes[at..]) {
            Some(len) => at + len,
            None if hides_a_record(&bytes[at..]) => return Err(damage(SEPARATOR)),
            None => break,
        };
        let Some(body) = checked(&bytes[at..end]) else {
            if end + 1 < bytes.len() {
                return Err(damage("its checksum does not match"));
            }
            if hides_a_record(&bytes[at..end]) {
                return Err(damage(SEPARATOR));
            }
            break;
        };
        read_ops(body, &mut changes).map_err(|reason| damage(&reason))?;
        at = end + 1;
        line += 1;
    }
    Ok(Parsed {
        header_len,
        changes,
        good_len: at,
    })
}

const SEPARATOR: &str = "the line feed that ends it is damaged";

/// The position of the first line feed in `bytes`. `BufRead::skip_until` searches with the
/// standard library's `memchr`, several bytes at a time; a journal of a million records is
/// about 46 MB to search at open.
fn line_feed(bytes: &[u8]) -> Option<usize> {
    let mut rest = bytes;
    let skipped = io::BufRead::skip_until(&mut rest, b'\n').ok()?;
    (skipped > 0 && bytes.get(skipped - 1) == Some(&b'\n')).then(|| skipped - 1)
}

/// Whether `line`, which fails its checksum, begins with a whole record whose line feed was
/// damaged into another byte, followed by the next record: damage to an acknowledged record,
/// which a torn append (the last record cut short) never looks like.
fn hides_a_record(line: &[u8]) -> bool {
    (10..line.len().saturating_sub(8)).any(|next| {
        let hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
        line[next..next + 8].iter().all(hex)
            && line[next + 8] == b' '
            && checked(&line[..next - 1]).is_some()
    })
}

/// The body of `CRC SP BODY`, if the line has that shape and its checksum matches.
fn checked(line: &[u8]) -> Option<&[u8]> {
    // Lowercase hex digits only, so that each checksum has one spelling.
    let hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
    if line.len() < 9 || line[8] != b' ' || !line[..8].iter().all(hex) {
        return None;
    }
    let crc = std::str::from_utf8(&line[..8]).ok()?;
    let crc = u32::from_str_radix(crc, 16).ok()?;
    let body = &line[9..];
    (crc32fast::hash(body) == crc).then_some(body)
}

/// Appends the operations of one record's body to `out`.
fn read_ops(body: &[u8], out: &mut Vec<Replay>) -> Result<(), String> {
    if let Some(set) = one_set(body) {
        out.push(set);
        return Ok(());
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    Ops(out)
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| format!("not an array of operations this version knows: {e}"))
}

/// The record `[["set",KEY,VALUE]]` (what a single write of one key appends, most records),
/// read without serde_json's deserializer, which is most of a replay's time: `None` for any
/// other body, which is then read the general way. KEY must hold no escape; VALUE must be
/// exactly one JSON value, which also proves the record holds no second operation.
fn one_set(body: &[u8]) -> Option<Replay> {
    let rest = body.strip_prefix(b"[[\"set\",\"")?.strip_suffix(b"]]")?;
    let end = rest
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    let key = std::str::from_utf8(rest.get(..end)?).ok()?;
    let value = rest.get(end..)?.strip_prefix(b"\",")?;
    let value = JsonText::new(std::str::from_utf8(value).ok()?).ok()?;
    Some(Replay::Put {
        key: key.to_owned(),
        value: value.as_str().as_bytes().to_vec(),
    })
}

/// A record's body, read straight into [`Replay`]s (one pass, no intermediate values: a
/// journal of a million records replays at open).
struct Ops<'o>(&'o mut Vec<Replay>);

impl<'de> DeserializeSeed<'de> for Ops<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Ops<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of operations")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut ops: A) -> Result<(), A::Error> {
        while let Some(op) = ops.next_element::<Operation>()? {
            self.0.push(op.0);
        }
        Ok(())
    }
}

/// One operation: `["set", KEY, VALUE]`, `["set-text", KEY, TEXT]`,
/// `["set-expiring", KEY, EXPIRES_MS, VALUE]`, `["set-expiring-text", KEY, EXPIRES_MS, TEXT]`,
/// `["delete", KEY]` or `["clear"]`.
struct Operation(Replay);

impl<'de> Deserialize<'de> for Operation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(OpVisitor)
    }
}

struct OpVisitor;

impl<'de> Visitor<'de> for OpVisitor {
    type Value = Operation;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "an operation: [\"set\", key, value], [\"set-expiring\", key, ms, value], \
             [\"delete\", key] or [\"clear\"]",
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Operation, A::Error> {
        let missing = || A::Error::custom("an operation is missing a part");
        let tag: &str = seq.next_element()?.ok_or_else(missing)?;
        let (expiring, text) = match tag {
            "clear" => (false, false),
            "delete" => (false, false),
            "set" => (false, false),
            "set-text" => (false, true),
            "set-expiring" => (true, false),
            "set-expiring-text" => (true, true),
            other => return Err(A::Error::custom(format!("unknown operation {other:?}"))),
        };
        let replay = match tag {
            "clear" => Replay::Clear,
            "delete" => Replay::Delete {
                key: seq.next_element()?.ok_or_else(missing)?,
            },
            _ => {
                let key: String = seq.next_element()?.ok_or_else(missing)?;
                let expires = if expiring {
                    let at: u64 = seq.next_element()?.ok_or_else(missing)?;
                    if at > MAX_EXPIRY_MS {
                        return Err(A::Error::custom(format!(
                            "the expiry {at} of key {key:?} is past 2^53 - 1 ms"
                        )));
                    }
                    Some(at)
                } else {
                    None
                };
                let value = if text {
                    let text: String = seq.next_element()?.ok_or_else(missing)?;
                    text.into_bytes()
                } else {
                    let value: &RawValue = seq.next_element()?.ok_or_else(missing)?;
                    value.get().as_bytes().to_vec()
                };
                let value = match expires {
                    // A `set-text` may carry a whole expiring record (U+0000, the expiry, a
                    // space, the JSON), as this release writes them; the core reads it.
                    None => value,
                    Some(at) => encode_record(&value, Some(at)),
                };
                Replay::Put { key, value }
            }
        };
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(A::Error::custom("an operation has too many parts"));
        }
        Ok(Operation(replay))
    }
}

/// What reading the store file and its journal found.
#[derive(Debug)]
pub(crate) struct Found {
    /// The state: the file, with the journal replayed over it when it extends the file.
    pub(crate) stored: Stored,
    /// The store file as read.
    pub(crate) file: Option<FileId>,
    /// The journal as read.
    pub(crate) journal: JournalFound,
}

/// The journal as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JournalFound {
    /// There is none.
    Absent,
    /// It extends another file than the one there now: a compaction folded it into the file
    /// and was cut short before the journal was reset. It holds nothing the file lacks.
    Stale,
    /// It extends the file: `good_len` bytes of header and complete records, of `len` bytes.
    Live {
        good_len: u64,
        len: u64,
        header_len: u64,
    },
}

/// How many times a read without the lock starts again when a compaction replaced the files
/// under it, before giving up.
const RETRIES: usize = 100;

/// Reads the store file at `path` and its journal, consistently, without the lock: while
/// another program writes the store. The file is read first, then the journal; a journal
/// whose header names another file means a compaction replaced both in between, and the read
/// starts again. A torn last record (an append in flight) is left out.
pub(crate) fn read_unlocked(path: &Path) -> Result<Stored, Error> {
    read(path, false).map(|found| found.stored)
}

/// Reads the store file at `path` and its journal. `locked`: the caller holds the store's
/// lock, so nothing changes under it, and a journal that names another file is stale.
pub(crate) fn read(path: &Path, locked: bool) -> Result<Found, Error> {
    let journal_path = journal_path(path);
    let mut file = read_file(path)?;
    for _ in 0..RETRIES {
        let file_id = file.as_deref().map(FileId::of);
        let Some(journal) = read_file(&journal_path)? else {
            return Ok(Found {
                stored: file.map_or(Stored::Nothing, Stored::Snapshot),
                file: file_id,
                journal: JournalFound::Absent,
            });
        };
        let corrupt = |damage: Damage| Error::Corrupt {
            path: journal_path.clone(),
            source: damage.into_corrupt(),
        };
        let (extends, _) = parse_header(&journal).map_err(corrupt)?;
        if extends == file_id {
            let parsed = parse(&journal).map_err(corrupt)?;
            return Ok(Found {
                file: file_id,
                journal: JournalFound::Live {
                    good_len: parsed.good_len as u64,
                    len: journal.len() as u64,
                    header_len: parsed.header_len as u64,
                },
                stored: Stored::Journaled {
                    snapshot: file,
                    changes: parsed.changes,
                },
            });
        }
        let again = if locked { None } else { read_file(path)? };
        if locked || again == file {
            return Ok(Found {
                stored: file.map_or(Stored::Nothing, Stored::Snapshot),
                file: file_id,
                journal: JournalFound::Stale,
            });
        }
        file = again;
    }
    Err(FileError::new(
        Op::Read,
        path,
        io::Error::other("the store kept being compacted while it was read"),
    )
    .into())
}

/// The bytes of the file at `path`; `None` if there is none.
fn read_file(path: &Path) -> Result<Option<Vec<u8>>, FileError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(FileError::new(Op::Read, path, e)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn record(changes: &[Change<'_>], clear: bool) -> Vec<u8> {
        let mut record = Record::new();
        record.push(clear, changes.iter().copied());
        record.finish()
    }

    /// The reading of a lone `set` without serde_json gives what serde_json's reading gives,
    /// and leaves every other body to it.
    #[test]
    fn a_lone_set_reads_as_the_general_reader_reads_it() {
        let general = |body: &[u8]| {
            let mut de = serde_json::Deserializer::from_slice(body);
            let mut out = Vec::new();
            Ops(&mut out)
                .deserialize(&mut de)
                .and_then(|()| de.end())
                .ok()
                .map(|()| out)
        };
        for body in [
            &br#"[["set","seen:1",1763700000]]"#[..],
            br#"[["set","k",{"a":[1,"]]"]}]]"#,
            br#"[["set","k",[1,2]]]"#,
            br#"[["set","k","x\"y"]]"#,
            br#"[["set","","v"]]"#,
            r#"[["set","é",1E5]]"#.as_bytes(),
        ] {
            let fast = one_set(body).map(|set| vec![set]);
            assert!(fast.is_some(), "{}", String::from_utf8_lossy(body));
            assert_eq!(fast, general(body), "{}", String::from_utf8_lossy(body));
        }
        for body in [
            &br#"[["set","a",1],["set","b",2]]"#[..],
            br#"[["set","a",[1],["set","b",2]]]"#,
            br#"[["set","k\"q",1]]"#,
            br#"[["delete","k"]]"#,
            br#"[["set-text","k","1"]]"#,
            br#"[["set","k",1,2]]"#,
            br#"[["set","k",]]"#,
        ] {
            assert_eq!(one_set(body), None, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn records_read_back_as_the_changes_they_carry() {
        let mut journal = header(Some(FileId::of(b"{}\n")));
        journal.extend(record(
            &[
                Change::Put {
                    key: "a\n\u{0}\"",
                    value: b"{\"x\":\n1}",
                },
                Change::Put {
                    key: "b",
                    value: b"[1,2]",
                },
                Change::Delete { key: "c" },
            ],
            true,
        ));
        let parsed = parse(&journal).unwrap();
        assert_eq!(parse_header(&journal).unwrap().0, Some(FileId::of(b"{}\n")));
        assert_eq!(parsed.good_len, journal.len());
        assert_eq!(
            parsed.changes,
            [
                Replay::Clear,
                Replay::Put {
                    key: "a\n\u{0}\"".into(),
                    value: b"{\"x\":\n1}".to_vec()
                },
                Replay::Put {
                    key: "b".into(),
                    value: b"[1,2]".to_vec()
                },
                Replay::Delete { key: "c".into() },
            ]
        );
    }

    #[test]
    fn every_line_is_text_with_one_line_feed_at_its_end() {
        let line = record(
            &[Change::Put {
                key: "k",
                value: b"[1,\n2]",
            }],
            false,
        );
        let text = std::str::from_utf8(&line).unwrap();
        assert_eq!(text.matches('\n').count(), 1);
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn an_expiring_record_travels_whole_as_text_and_reads_back_whole() {
        let plain = encode_record(b"[1,2]", Some(1_763_786_400_000));
        let text = encode_record(b"{\"x\":\n1}", Some(MAX_EXPIRY_MS));
        let line = record(
            &[
                Change::Put {
                    key: "\u{0}format",
                    value: b"2",
                },
                Change::Put {
                    key: "a",
                    value: &plain,
                },
                Change::Put {
                    key: "b",
                    value: &text,
                },
            ],
            false,
        );
        let body = std::str::from_utf8(&line[9..line.len() - 1]).unwrap();
        assert_eq!(
            body,
            r#"[["set","\u0000format",2],["set-text","a","\u00001763786400000 [1,2]"],["set-text","b","\u00009007199254740991 {\"x\":\n1}"]]"#
        );
        let mut journal = header(None);
        journal.extend(&line);
        assert_eq!(
            parse(&journal).unwrap().changes,
            [
                Replay::Put {
                    key: "\u{0}format".into(),
                    value: b"2".to_vec()
                },
                Replay::Put {
                    key: "a".into(),
                    value: plain
                },
                Replay::Put {
                    key: "b".into(),
                    value: text
                },
            ]
        );
    }

    #[test]
    fn an_expiring_operation_that_does_not_read_is_damage_not_a_torn_record() {
        for body in [
            r#"[["set-expiring","a",9007199254740992,1]]"#,
            r#"[["set-expiring","a",-1,1]]"#,
            r#"[["set-expiring","a",1.5,1]]"#,
            r#"[["set-expiring","a",1]]"#,
            r#"[["set-expiring","a",1,1,1]]"#,
            r#"[["set-later","a",1,1]]"#,
        ] {
            let mut journal = header(None);
            journal.extend(line(body.as_bytes()));
            let damage = parse(&journal).expect_err(body);
            assert_eq!(
                (damage.line, damage.offset),
                (2, header(None).len()),
                "{body}"
            );
        }
    }
}
