//! A write respects what the user set on the store file: read-only stays unwritten, and the
//! owner and group stay.
#![allow(clippy::unwrap_used)]
#![cfg(unix)]

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use kv_native::{Error, Kv, Op};

fn running_as_root(dir: &std::path::Path) -> bool {
    let probe = dir.join("probe");
    fs::write(&probe, "").unwrap();
    let root = fs::metadata(&probe).unwrap().uid() == 0;
    fs::remove_file(probe).unwrap();
    root
}

#[test]
fn a_store_file_made_read_only_is_refused_for_writes_and_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.json");
    let kv = Kv::open(&path).unwrap();
    kv.set("k", 1).unwrap();
    // The write went to the journal; compacting puts it in the file.
    kv.compact().unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).unwrap();
    let before = fs::read(&path).unwrap();
    match kv.set("k", 2) {
        Err(Error::Io(e)) => {
            assert_eq!(e.op(), Op::Replace);
            assert!(e.to_string().contains("read-only"), "{e}");
        }
        other => panic!("a read-only file was written: {other:?}"),
    }
    assert_eq!(kv.get("k"), Some(1.into()));
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o444);
}

#[test]
fn a_write_by_root_keeps_the_files_owner_and_group() {
    let dir = tempfile::tempdir().unwrap();
    if !running_as_root(dir.path()) {
        eprintln!("not root: a write cannot keep another user's ownership; skipped");
        return;
    }
    let path = dir.path().join("kv.json");
    let kv = Kv::open(&path).unwrap();
    kv.set("k", 1).unwrap();
    kv.compact().unwrap();
    std::os::unix::fs::chown(&path, Some(1234), Some(5678)).unwrap();
    kv.set("k", 2).unwrap();
    // Compacting replaces the file: the replacement keeps the owner.
    kv.compact().unwrap();
    assert!(fs::read_to_string(&path).unwrap().contains("\"k\":2"));
    let metadata = fs::metadata(&path).unwrap();
    assert_eq!((metadata.uid(), metadata.gid()), (1234, 5678));
    assert_eq!(metadata.mode() & 0o777, 0o600);
}
