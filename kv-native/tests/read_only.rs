//! `Kv::open_read_only`: no lock, nothing created, and it reads while another handle writes.
#![allow(clippy::unwrap_used)]

use std::fs;

use kv_native::{Error, Kv};

#[test]
fn a_read_only_open_reads_while_another_handle_holds_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.json");
    let writer = Kv::open(&path).unwrap();
    writer.set("k", 1).unwrap();
    let mut reader = Kv::open_read_only(&path).unwrap();
    assert_eq!(reader.get("k"), Some(1.into()));
    writer.set("k", 2).unwrap();
    assert_eq!(reader.get("k"), Some(1.into()), "a snapshot until reloaded");
    reader.reload().unwrap();
    assert_eq!(reader.get_as_or("k", 0u32).unwrap(), 2);
}

#[test]
fn a_read_only_open_of_a_missing_store_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/kv.json");
    let reader = Kv::open_read_only(&path).unwrap();
    assert!(reader.is_empty());
    assert!(!reader.exists());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_read_only_open_of_a_corrupt_store_fails_and_leaves_no_lock_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.json");
    fs::write(&path, "{\"a\": ").unwrap();
    assert!(matches!(
        Kv::open_read_only(&path),
        Err(Error::Corrupt { .. })
    ));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}
