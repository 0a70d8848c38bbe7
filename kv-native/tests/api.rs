//! Small conveniences of the Rust API: what a new user writes first.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use kv_native::{Error, Kv, Lock, json};

#[test]
fn a_transaction_sets_anything_that_converts_into_a_value() {
    let dir = tempfile::tempdir().unwrap();
    let kv = Kv::open(dir.path().join("kv.json")).unwrap();
    kv.transaction(|tx| {
        tx.set("a", 1)?;
        tx.set("b", "two")?;
        tx.set("c", json!({"three": [3]}))?;
        Ok::<_, Error>(())
    })
    .unwrap();
    assert_eq!(
        serde_json::Value::Object(kv.get_all()),
        json!({"a": 1, "b": "two", "c": {"three": [3]}})
    );
}

#[test]
fn get_as_or_gives_the_fallback_for_a_missing_key_and_an_error_for_a_wrong_type() {
    let dir = tempfile::tempdir().unwrap();
    let kv = Kv::open(dir.path().join("kv.json")).unwrap();
    kv.set("n", 7).unwrap();
    kv.set("s", "text").unwrap();
    assert_eq!(kv.get_as_or("n", 0u32).unwrap(), 7);
    assert_eq!(kv.get_as_or("absent", 5u32).unwrap(), 5);
    assert!(matches!(
        kv.get_as_or("s", 0u32),
        Err(Error::Value { key, .. }) if key == "s"
    ));
}

#[test]
fn a_bounded_wait_for_the_lock_gives_up_with_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.json");
    let _holder = Kv::open(&path).unwrap();
    let waited = Kv::options()
        .lock(Lock::WaitUpTo(Duration::from_millis(50)))
        .open(&path);
    assert!(matches!(waited, Err(Error::Locked { .. })));
}

#[test]
fn a_bounded_wait_takes_the_lock_once_the_holder_closes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.json");
    let holder = Kv::open(&path).unwrap();
    let waiter = std::thread::spawn({
        let path = path.clone();
        move || {
            Kv::options()
                .lock(Lock::WaitUpTo(Duration::from_secs(600)))
                .open(&path)
                .map(drop)
        }
    });
    std::thread::sleep(Duration::from_millis(20));
    drop(holder);
    waiter.join().unwrap().unwrap();
}
