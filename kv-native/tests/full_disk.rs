//! A write on a really full filesystem: a 256 KiB tmpfs mounted for the test. Mounting needs
//! root on Linux; elsewhere the test says it was skipped (the injected faults in `faults.rs`
//! cover the same paths everywhere).
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kv_native::{Error, Kv, Lock, Op, StorageError, StorageErrorKind, Value};
use serde_json::json;

/// A tiny tmpfs, unmounted when dropped.
struct SmallFs {
    dir: tempfile::TempDir,
}

impl SmallFs {
    fn mount() -> Option<Self> {
        let dir = tempfile::tempdir().ok()?;
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then_some(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// On a full filesystem a write fails as `QuotaExceeded` at step `op`, leaving the file it
/// writes to (`written`: the store file, or the journal) byte-identical and memory equal to it;
/// once there is room again, writes go on.
fn full_disk_changes_nothing(journal: bool, op: Op) {
    let Some(fs) = SmallFs::mount() else {
        println!("skipped: cannot mount a tmpfs here (needs root on Linux)");
        return;
    };
    let path: PathBuf = fs.path().join("kv.json");
    let written = if journal {
        fs.path().join("kv.json.journal")
    } else {
        path.clone()
    };
    let kv = Kv::options().journal(journal).open(&path).unwrap();
    kv.set("small", "x".repeat(1_000)).unwrap();
    let before = fs::read(&written).unwrap();
    let names_before = fs::read_dir(fs.path()).unwrap().count();
    fs::write(fs.path().join("filler"), vec![0u8; 200 * 1024]).unwrap();

    match kv.set("big", "y".repeat(100 * 1024)) {
        Err(Error::Io(e)) => {
            assert_eq!(e.op(), op, "{e}");
            assert_eq!(e.kind(), StorageErrorKind::QuotaExceeded, "{e}");
        }
        other => panic!("expected a full-disk error, got {other:?}"),
    }
    assert_eq!(fs::read(&written).unwrap(), before, "{written:?} changed");
    assert_eq!(kv.len(), 1, "memory differs from disk");
    assert_eq!(kv.get("small"), Some(json!("x".repeat(1_000))));
    let names = fs::read_dir(fs.path()).unwrap().count();
    assert_eq!(names, names_before + 1, "a temporary file was left");

    fs::remove_file(fs.path().join("filler")).unwrap();
    kv.set("big", "y".repeat(100 * 1024)).unwrap();
    drop(kv);
    let on_disk: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        on_disk.as_object().map(|o| o.len()),
        Some(2),
        "the file after closing"
    );
    // The other test of this file runs on another thread and spawns `mount` and `umount`: a
    // child forked at the moment `drop(kv)` closed the lock file holds a copy of its
    // descriptor, and so the lock, until it execs. Waiting covers that instant (it is flock's
    // semantics, documented in the README); `Kv::open` would fail with `Locked` in it.
    let kv = Kv::options()
        .lock(Lock::WaitUpTo(Duration::from_secs(30)))
        .open(&path)
        .unwrap();
    assert_eq!(kv.get("small"), Some(json!("x".repeat(1_000))));
    assert_eq!(kv.len(), 2);
}

#[test]
fn an_append_on_a_full_filesystem_fails_as_quota_exceeded_and_changes_nothing() {
    full_disk_changes_nothing(true, Op::Append);
}

#[test]
fn a_rewrite_on_a_full_filesystem_fails_as_quota_exceeded_and_changes_nothing() {
    full_disk_changes_nothing(false, Op::Write);
}
