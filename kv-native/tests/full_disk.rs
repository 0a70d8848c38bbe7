//! A write on a really full filesystem: a 256 KiB tmpfs mounted for the test. Mounting needs
//! root on Linux; elsewhere the test says it was skipped (the injected faults in `faults.rs`
//! cover the same paths everywhere).
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use kv_native::{Error, Kv, Op, StorageError, StorageErrorKind, Value};
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

#[test]
fn a_write_on_a_full_filesystem_fails_as_quota_exceeded_and_changes_nothing() {
    let Some(fs) = SmallFs::mount() else {
        println!("skipped: cannot mount a tmpfs here (needs root on Linux)");
        return;
    };
    let path: PathBuf = fs.path().join("kv.json");
    let kv = Kv::open(&path).unwrap();
    kv.set("small", "x".repeat(1_000)).unwrap();
    let before = fs::read(&path).unwrap();
    fs::write(fs.path().join("filler"), vec![0u8; 150 * 1024]).unwrap();

    match kv.set("big", "y".repeat(100 * 1024)) {
        Err(Error::Io(e)) => {
            assert_eq!(e.op(), Op::Write, "{e}");
            assert_eq!(e.kind(), StorageErrorKind::QuotaExceeded, "{e}");
        }
        other => panic!("expected a full-disk error, got {other:?}"),
    }
    assert_eq!(fs::read(&path).unwrap(), before, "the store file changed");
    let on_disk: Value = serde_json::from_slice(&before).unwrap();
    assert_eq!(
        Value::Object(kv.get_all()),
        on_disk,
        "memory differs from disk"
    );
    let names: Vec<_> = fs::read_dir(fs.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 3, "a temporary file was left: {names:?}");

    fs::remove_file(fs.path().join("filler")).unwrap();
    kv.set("big", "y".repeat(100 * 1024)).unwrap();
    drop(kv);
    let kv = Kv::open(&path).unwrap();
    assert_eq!(kv.get("small"), Some(json!("x".repeat(1_000))));
    assert_eq!(kv.len(), 2);
}
