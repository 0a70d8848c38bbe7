//! A write whose file operation fails, on a store that rewrites its file on every write (the
//! journal's steps are in `journal.rs`): the error reaches the caller, the old file is intact,
//! and memory equals disk. Faults are injected through the hidden `fault_hook` seam, which
//! runs before each step of the durable replace.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use kv_native::fault::Step;
use kv_native::{Error, Kv, Op, Value};
use serde_json::json;

/// A store whose next write fails at `step` while `armed` is set.
fn faulty_store(path: &Path, step: Step) -> (Kv, Arc<AtomicBool>) {
    let armed = Arc::new(AtomicBool::new(false));
    let switch = Arc::clone(&armed);
    let kv = Kv::options()
        .journal(false)
        .fault_hook(move |at| {
            if at == step && switch.swap(false, Ordering::SeqCst) {
                Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    "injected: disk full",
                ))
            } else {
                Ok(())
            }
        })
        .open(path)
        .unwrap();
    (kv, armed)
}

fn on_disk(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

fn files_in(dir: &Path) -> usize {
    fs::read_dir(dir).unwrap().count()
}

const STEPS: [(Step, Op); 5] = [
    (Step::CreateTemp, Op::CreateTemp),
    (Step::Write, Op::Write),
    (Step::Sync, Op::Sync),
    (Step::Rename, Op::Rename),
    (Step::SyncDir, Op::SyncDir),
];

#[test]
fn a_failed_step_reaches_the_caller_and_leaves_the_old_file_byte_identical() {
    for (step, op) in STEPS {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.json");
        let (kv, armed) = faulty_store(&path, step);
        kv.set_many([("a", json!(1)), ("b", json!("two"))]).unwrap();
        let before = fs::read(&path).unwrap();

        let writes: [&dyn Fn() -> Result<(), Error>; 5] = [
            &|| kv.set("a", 100),
            &|| kv.delete("b").map(drop),
            &|| kv.clear(),
            &|| kv.set_many([("c", 3), ("d", 4)]),
            &|| kv.touch_if_absent("e").map(drop),
        ];
        for write in writes {
            armed.store(true, Ordering::SeqCst);
            match write() {
                Err(Error::Io(e)) => {
                    assert_eq!(e.op(), op, "{step:?}");
                    assert_eq!(e.io_error().kind(), io::ErrorKind::StorageFull);
                }
                other => panic!("{step:?}: expected an I/O error, got {other:?}"),
            }
            assert_eq!(
                fs::read(&path).unwrap(),
                before,
                "{step:?}: the file changed"
            );
            assert_eq!(
                Value::Object(kv.get_all()),
                on_disk(&path),
                "{step:?}: memory"
            );
            assert_eq!(
                files_in(dir.path()),
                2,
                "{step:?}: a temporary file was left"
            );
        }

        kv.set("after", true).unwrap();
        drop(kv);
        let kv = Kv::open(&path).unwrap();
        assert_eq!(
            Value::Object(kv.get_all()),
            json!({"a": 1, "b": "two", "after": true}),
            "{step:?}: the store works after the fault"
        );
    }
}

#[test]
fn a_failed_first_write_leaves_no_file_at_all() {
    for (step, _) in STEPS {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.json");
        let (kv, armed) = faulty_store(&path, step);
        armed.store(true, Ordering::SeqCst);
        assert!(kv.set("a", 1).is_err(), "{step:?}");
        assert!(!path.exists(), "{step:?}: a store file appeared");
        assert!(kv.is_empty());
        assert_eq!(
            files_in(dir.path()),
            1,
            "{step:?}: only the lock file remains"
        );
    }
}
