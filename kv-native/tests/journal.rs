//! The journal beside the store file: recovery from a torn last record, refusal of any other
//! damage, and injected failures at every step a journaled commit or a compaction takes.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use kv_native::fault::Step;
use kv_native::{Error, Kv, Map, Op, StorageError, StorageErrorKind, Value};
use serde_json::json;
use tempfile::TempDir;

fn store() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.json");
    (dir, path)
}

fn journal_of(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.journal", path.display()))
}

/// The store file's and the journal's bytes (`None`: no such file).
fn files(path: &Path) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    (fs::read(path).ok(), fs::read(journal_of(path)).ok())
}

/// A store made of `file` and `journal`, in a directory of its own.
fn copy(file: Option<&[u8]>, journal: Option<&[u8]>) -> (TempDir, PathBuf) {
    let (dir, path) = store();
    if let Some(file) = file {
        fs::write(&path, file).unwrap();
    }
    if let Some(journal) = journal {
        fs::write(journal_of(&path), journal).unwrap();
    }
    (dir, path)
}

/// Opens a store made of `file` and `journal` in a directory of its own.
fn open_copy(file: Option<&[u8]>, journal: Option<&[u8]>) -> (TempDir, Result<Kv, Error>) {
    let (dir, path) = copy(file, journal);
    let kv = Kv::open(&path);
    (dir, kv)
}

/// What a new process opening the store at `path` finds, while `path` stays open here.
fn storage(path: &Path) -> Map<String, Value> {
    let (file, journal) = files(path);
    let (_dir, kv) = open_copy(file.as_deref(), journal.as_deref());
    kv.unwrap().get_all()
}

fn map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// A store with three records in its journal; returns the state before the last one.
fn three_records(path: &Path) -> (Kv, Map<String, Value>) {
    let kv = Kv::open(path).unwrap();
    kv.set("a", 1).unwrap();
    kv.set_many([("b", json!(2)), ("c", json!("three\nlines"))])
        .unwrap();
    let before = kv.get_all();
    kv.transaction(|tx| {
        tx.delete("a");
        tx.set("d", json!({"x": [1, 2]}))?;
        Ok::<_, Error>(())
    })
    .unwrap();
    (kv, before)
}

/// Where the journal's last record begins.
fn last_record_start(journal: &[u8]) -> usize {
    let body = &journal[..journal.len() - 1];
    body.iter().rposition(|&b| b == b'\n').unwrap() + 1
}

#[test]
fn every_commit_appends_one_checksummed_text_line_to_the_journal() {
    let (_dir, path) = store();
    let (kv, _) = three_records(&path);
    let (file, journal) = files(&path);
    assert_eq!(
        file, None,
        "no compaction yet: the file is written when the store closes"
    );
    let journal = String::from_utf8(journal.unwrap()).unwrap();
    let lines: Vec<&str> = journal.lines().collect();
    assert_eq!(lines.len(), 4, "a header and three records: {journal}");
    assert!(
        lines[0].ends_with(" {\"kv-journal\":1,\"extends\":null}"),
        "{}",
        lines[0]
    );
    assert!(lines[1].ends_with(" [[\"set\",\"a\",1]]"), "{}", lines[1]);
    assert!(
        lines[2].ends_with(" [[\"set\",\"b\",2],[\"set\",\"c\",\"three\\nlines\"]]"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].ends_with(" [[\"delete\",\"a\"],[\"set\",\"d\",{\"x\":[1,2]}]]"),
        "{}",
        lines[3]
    );
    for line in &lines {
        let (crc, body) = line.split_once(' ').unwrap();
        assert_eq!(crc.len(), 8);
        assert_eq!(
            u32::from_str_radix(crc, 16).unwrap(),
            crc32(body.as_bytes())
        );
    }
    assert_eq!(storage(&path), kv.get_all());
}

/// CRC-32 (IEEE), bit by bit: the test's own, to check the journal against.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn a_journal_cut_anywhere_in_its_last_record_opens_to_the_state_before_that_record() {
    let (_dir, path) = store();
    let (kv, before) = three_records(&path);
    let after = kv.get_all();
    let (file, journal) = files(&path);
    let journal = journal.unwrap();
    let start = last_record_start(&journal);
    for cut in start..journal.len() {
        let (dir, opened) = open_copy(file.as_deref(), Some(&journal[..cut]));
        let opened = opened.unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        assert_eq!(opened.get_all(), before, "cut at {cut}");
        drop(opened);
        let copy = dir.path().join("kv.json");
        assert_eq!(
            storage(&copy),
            before,
            "cut at {cut}: closing the store kept the state"
        );
    }
    let (_copy, whole) = open_copy(file.as_deref(), Some(&journal));
    assert_eq!(whole.unwrap().get_all(), after);
}

#[test]
fn a_flipped_byte_in_the_last_record_is_a_torn_write_and_drops_only_that_record() {
    let (_dir, path) = store();
    let (_kv, before) = three_records(&path);
    let (file, journal) = files(&path);
    let journal = journal.unwrap();
    for at in last_record_start(&journal)..journal.len() {
        let mut damaged = journal.clone();
        damaged[at] ^= 0x20;
        let (_copy, opened) = open_copy(file.as_deref(), Some(&damaged));
        assert_eq!(opened.unwrap().get_all(), before, "flip at {at}");
    }
}

#[test]
fn a_write_after_a_torn_record_replaces_it() {
    let (_dir, path) = store();
    let (_kv, before) = three_records(&path);
    let (file, journal) = files(&path);
    let journal = journal.unwrap();
    let cut = last_record_start(&journal) + 5;
    let (dir, opened) = open_copy(file.as_deref(), Some(&journal[..cut]));
    let opened = opened.unwrap();
    opened.set("e", 5).unwrap();
    let mut expected = before;
    expected.insert("e".into(), json!(5));
    let copy = dir.path().join("kv.json");
    assert_eq!(storage(&copy), expected);
    assert_eq!(opened.get_all(), expected);
}

#[test]
fn a_flipped_byte_mid_journal_is_corrupt_naming_the_journal_and_offset_and_changes_nothing() {
    let (_dir, path) = store();
    let (_kv, _) = three_records(&path);
    let (file, journal) = files(&path);
    let journal = journal.unwrap();
    let lines: Vec<usize> = std::iter::once(0)
        .chain(
            journal
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect();
    // The second record (line 3) runs from lines[2] to lines[3].
    let (start, end) = (lines[2], lines[3]);
    for at in start..end {
        let mut damaged = journal.clone();
        damaged[at] ^= 0x01;
        let (_dir, copy) = copy(file.as_deref(), Some(&damaged));
        for attempt in ["first", "second"] {
            match Kv::open(&copy) {
                Err(e @ Error::Corrupt { .. }) => {
                    assert_eq!(e.path(), Some(journal_of(&copy).as_path()), "{e}");
                    let message = e.to_string();
                    assert!(
                        message.contains(&format!("byte offset {start}")),
                        "{message}"
                    );
                    assert!(message.contains("line 3"), "{message}");
                }
                other => panic!("flip at {at}, {attempt} open: expected Corrupt, got {other:?}"),
            }
            assert_eq!(
                files(&copy),
                (file.clone(), Some(damaged.clone())),
                "flip at {at}"
            );
        }
    }
}

#[test]
fn a_journal_whose_header_names_another_file_was_compacted_already_and_is_ignored() {
    // A crash between the file's rename and the journal's reset leaves the old journal beside
    // the new file; the new file holds all of it.
    let (_dir, path) = store();
    let (kv, _) = three_records(&path);
    let (_, old_journal) = files(&path);
    kv.compact().unwrap();
    kv.set("e", 5).unwrap();
    kv.compact().unwrap();
    let (file, _) = files(&path);
    let (dir, opened) = open_copy(file.as_deref(), old_journal.as_deref());
    let opened = opened.unwrap();
    assert_eq!(opened.get_all(), kv.get_all());
    opened.set("f", 6).unwrap();
    let copy = dir.path().join("kv.json");
    assert_eq!(
        storage(&copy),
        opened.get_all(),
        "the stale journal was reset first"
    );
}

/// A store whose writes fail at `step` while `armed` is set, compacting after every commit
/// when `compact_always`.
fn faulty(path: &Path, step: Step, compact_always: bool) -> (Kv, Arc<AtomicBool>) {
    let armed = Arc::new(AtomicBool::new(false));
    let switch = Arc::clone(&armed);
    let mut options = Kv::options().fault_hook(move |at| {
        if at == step && switch.swap(false, Ordering::SeqCst) {
            Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "injected: disk full",
            ))
        } else {
            Ok(())
        }
    });
    if compact_always {
        options = options.compact_min(0);
    }
    (options.open(path).unwrap(), armed)
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn a_failed_append_or_journal_sync_fails_the_write_and_leaves_the_journal_byte_identical() {
    for (step, op) in [
        (Step::Append, Op::Append),
        (Step::SyncJournal, Op::SyncJournal),
    ] {
        let (dir, path) = store();
        let (kv, armed) = faulty(&path, step, false);
        kv.set_many([("a", 1), ("b", 2)]).unwrap();
        let before = files(&path);
        armed.store(true, Ordering::SeqCst);
        match kv.set("a", 100) {
            Err(Error::Io(e)) => {
                assert_eq!(e.op(), op, "{step:?}: {e}");
                assert_eq!(e.kind(), StorageErrorKind::QuotaExceeded, "{step:?}");
            }
            other => panic!("{step:?}: expected an I/O error, got {other:?}"),
        }
        assert_eq!(files(&path), before, "{step:?}: storage changed");
        assert_eq!(kv.get_all(), storage(&path), "{step:?}: memory");
        kv.set("c", 3).unwrap();
        assert_eq!(
            kv.get_all(),
            map(json!({"a": 1, "b": 2, "c": 3})),
            "{step:?}"
        );
        assert_eq!(storage(&path), kv.get_all(), "{step:?}: after the fault");
        assert_eq!(
            names(dir.path()),
            ["kv.json.journal", "kv.json.lock"],
            "{step:?}"
        );
    }
}

#[test]
fn a_failed_compaction_step_keeps_the_write_in_the_journal_and_memory_equal_to_storage() {
    for step in [
        Step::CreateTemp,
        Step::Write,
        Step::Sync,
        Step::Rename,
        Step::SyncDir,
        Step::ResetJournal,
    ] {
        let (dir, path) = store();
        let (kv, armed) = faulty(&path, step, true);
        kv.set("a", 1).unwrap();
        armed.store(true, Ordering::SeqCst);
        // The commit is durable in the journal before the compaction after it fails.
        kv.set("b", 2).unwrap();
        assert_eq!(kv.get_all(), map(json!({"a": 1, "b": 2})), "{step:?}");
        assert_eq!(
            storage(&path),
            kv.get_all(),
            "{step:?}: memory equals storage"
        );
        assert_eq!(
            names(dir.path()),
            ["kv.json", "kv.json.journal", "kv.json.lock"],
            "{step:?}: a temporary file was left"
        );
        kv.set("c", 3).unwrap();
        assert_eq!(storage(&path), kv.get_all(), "{step:?}: after the fault");
        drop(kv);
        assert_eq!(
            Kv::open(&path).unwrap().get_all(),
            map(json!({"a": 1, "b": 2, "c": 3})),
            "{step:?}: reopened"
        );
    }
}

#[test]
fn a_failed_explicit_compaction_reports_the_step_and_loses_nothing() {
    for (step, op) in [
        (Step::Write, Op::Write),
        (Step::Rename, Op::Rename),
        (Step::ResetJournal, Op::ResetJournal),
    ] {
        let (_dir, path) = store();
        let (kv, armed) = faulty(&path, step, false);
        kv.set_many([("a", 1), ("b", 2)]).unwrap();
        armed.store(true, Ordering::SeqCst);
        match kv.compact() {
            Err(Error::Io(e)) => assert_eq!(e.op(), op, "{step:?}: {e}"),
            other => panic!("{step:?}: expected an I/O error, got {other:?}"),
        }
        assert_eq!(storage(&path), kv.get_all(), "{step:?}");
        kv.set("c", 3).unwrap();
        assert_eq!(storage(&path), kv.get_all(), "{step:?}: after the fault");
    }
}

#[test]
fn a_failed_first_journal_leaves_no_file_at_all() {
    let (dir, path) = store();
    let (kv, armed) = faulty(&path, Step::ResetJournal, false);
    armed.store(true, Ordering::SeqCst);
    match kv.set("a", 1) {
        Err(Error::Io(e)) => assert_eq!(e.op(), Op::ResetJournal, "{e}"),
        other => panic!("expected an I/O error, got {other:?}"),
    }
    assert!(kv.is_empty());
    assert_eq!(names(dir.path()), ["kv.json.lock"]);
}

#[test]
fn closing_a_store_compacts_its_journal_into_the_file() {
    let (_dir, path) = store();
    let (kv, _) = three_records(&path);
    let state = kv.get_all();
    drop(kv);
    let (file, journal) = files(&path);
    let file: Value = serde_json::from_slice(&file.unwrap()).unwrap();
    assert_eq!(
        file,
        Value::Object(state),
        "the file is the plain JSON object"
    );
    let journal = String::from_utf8(journal.unwrap()).unwrap();
    assert_eq!(journal.lines().count(), 1, "only a header: {journal}");
}

#[test]
fn opening_without_the_journal_folds_a_journal_into_the_file_at_once() {
    let (_dir, path) = store();
    let (kv, _) = three_records(&path);
    let (file, journal) = files(&path);
    let state = kv.get_all();
    drop(kv);
    let (_dir, copy) = copy(file.as_deref(), journal.as_deref());
    let kv = Kv::options().journal(false).open(&copy).unwrap();
    assert_eq!(kv.get_all(), state);
    let on_disk: Value = serde_json::from_slice(&fs::read(&copy).unwrap()).unwrap();
    assert_eq!(
        on_disk,
        Value::Object(state.clone()),
        "the file holds everything"
    );
    assert!(!journal_of(&copy).exists(), "the journal is gone");
    kv.set("z", 0).unwrap();
    let on_disk: Value = serde_json::from_slice(&fs::read(&copy).unwrap()).unwrap();
    assert_eq!(
        on_disk,
        Value::Object(kv.get_all()),
        "every write rewrites the file"
    );
}

#[cfg(unix)]
#[test]
fn the_journal_is_readable_by_its_owner_alone() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path) = store();
    let kv = Kv::open(&path).unwrap();
    kv.set("secret", "token").unwrap();
    let mode = fs::metadata(journal_of(&path))
        .unwrap()
        .permissions()
        .mode()
        & 0o7777;
    assert_eq!(mode, 0o600);
    drop(kv);
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600);
}

#[test]
fn an_expiring_record_is_a_journal_line_of_text_and_a_cut_one_is_torn() {
    let (_dir, path) = store();
    let kv = Kv::open(&path).unwrap();
    kv.set("a", 1).unwrap();
    let before = kv.get_all();
    let day = std::time::Duration::from_secs(86_400);
    kv.set_many_with_ttl([("b", json!(2)), ("c", json!("three\nlines"))], day)
        .unwrap();
    let (file, journal) = files(&path);
    let journal = journal.unwrap();
    let text = String::from_utf8(journal.clone()).unwrap();
    let last = text.lines().last().unwrap();
    let (crc, body) = last.split_once(' ').unwrap();
    assert_eq!(
        u32::from_str_radix(crc, 16).unwrap(),
        crc32(body.as_bytes())
    );
    let ops: Value = serde_json::from_str(body).unwrap();
    let ops = ops.as_array().unwrap();
    assert_eq!(ops[0], json!(["set", "\u{0}format", 2]));
    // Each expiring record travels whole as text: U+0000, the expiry, a space, the JSON.
    let record = |op: &Value| {
        assert_eq!(op[0], "set-text");
        let text = op[2].as_str().unwrap().strip_prefix('\u{0}').unwrap();
        let (at, value) = text.split_once(' ').unwrap();
        (
            op[1].as_str().unwrap().to_owned(),
            at.parse::<u64>().unwrap(),
            value.to_owned(),
        )
    };
    let (b, c) = (record(&ops[1]), record(&ops[2]));
    assert_eq!((b.0.as_str(), b.2.as_str()), ("b", "2"));
    assert_eq!((c.0.as_str(), c.2.as_str()), ("c", r#""three\nlines""#));
    assert_eq!(b.1, c.1, "one expiry for the batch");
    let expires = b.1;

    let start = last_record_start(&journal);
    for cut in start..journal.len() {
        let (_copy, opened) = open_copy(file.as_deref(), Some(&journal[..cut]));
        let opened = opened.unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        assert_eq!(opened.get_all(), before, "cut at {cut}");
    }
    let (_copy, whole) = open_copy(file.as_deref(), Some(&journal));
    let whole = whole.unwrap();
    assert_eq!(whole.get_all(), kv.get_all());
    // The expiries too, to the millisecond.
    assert_eq!(whole.export(), kv.export());
    assert!(
        String::from_utf8(whole.export())
            .unwrap()
            .contains(&format!("\"c\":{expires}"))
    );
}
