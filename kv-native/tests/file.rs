//! What opening, locking and writing a store file promise, seen through `Kv`.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use kv_native::{Error, Kv, Limits, Lock, Op};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tempfile::TempDir;

fn store() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.json");
    (dir, path)
}

/// Every file name in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn kv_is_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Kv>();
}

#[test]
fn a_second_open_in_the_same_process_is_locked_and_names_the_file() {
    let (_dir, path) = store();
    let first = Kv::open(&path).unwrap();
    match Kv::open(&path) {
        Err(e @ Error::Locked { .. }) => {
            assert_eq!(e.path(), Some(first.path()));
            assert!(e.to_string().contains("kv.json"), "{e}");
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    first.set("still", "works").unwrap();
}

#[test]
fn the_lock_is_released_when_the_store_is_dropped() {
    let (_dir, path) = store();
    let first = Kv::open(&path).unwrap();
    first.set("a", 1).unwrap();
    drop(first);
    let second = Kv::open(&path).unwrap();
    assert_eq!(second.get("a"), Some(json!(1)));
}

#[test]
fn opening_with_lock_wait_succeeds_once_the_holder_closes() {
    let (_dir, path) = store();
    let holder = Kv::open(&path).unwrap();
    holder.set("from", "holder").unwrap();
    let waiter = std::thread::spawn({
        let path = path.clone();
        move || Kv::options().lock(Lock::Wait).open(&path)
    });
    drop(holder);
    let kv = waiter.join().unwrap().unwrap();
    assert_eq!(kv.get("from"), Some(json!("holder")));
}

#[test]
fn parent_directories_are_created() {
    let (dir, _) = store();
    let path = dir.path().join("a/b/c/state.json");
    Kv::open(&path).unwrap().set("k", true).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "{\"k\":true}\n");
}

#[test]
fn opening_writes_nothing_until_the_first_write() {
    let (dir, path) = store();
    let kv = Kv::open(&path).unwrap();
    assert!(!path.exists());
    kv.set("k", 1).unwrap();
    assert_eq!(listing(dir.path()), ["kv.json.journal", "kv.json.lock"]);
    drop(kv);
    assert_eq!(
        listing(dir.path()),
        ["kv.json", "kv.json.journal", "kv.json.lock"]
    );
}

#[cfg(unix)]
mod permissions {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_new_store_file_is_readable_by_its_owner_alone() {
        let (_dir, path) = store();
        Kv::open(&path).unwrap().set("secret", "token").unwrap();
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn the_mode_option_sets_a_new_files_permission_bits_past_the_umask() {
        let (_dir, path) = store();
        let kv = Kv::options().mode(0o666).open(&path).unwrap();
        kv.set("shared", 1).unwrap();
        drop(kv);
        assert_eq!(mode(&path), 0o666);
        assert_eq!(
            mode(Path::new(&format!("{}.journal", path.display()))),
            0o666
        );
    }

    #[test]
    fn a_write_keeps_the_existing_files_permission_bits() {
        let (_dir, path) = store();
        fs::write(&path, "{}").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o664)).unwrap();
        let kv = Kv::open(&path).unwrap();
        kv.set("a", 1).unwrap();
        assert_eq!(mode(&path), 0o664);
        kv.set("b", 2).unwrap();
        assert_eq!(mode(&path), 0o664);
    }

    #[test]
    fn writes_through_a_symbolic_link_replace_the_file_it_points_to() {
        let (dir, path) = store();
        let link = dir.path().join("link.json");
        fs::write(&path, "{}").unwrap();
        std::os::unix::fs::symlink(&path, &link).unwrap();
        Kv::open(&link).unwrap().set("via", "link").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"via\":\"link\"}\n");
    }
}

#[test]
fn a_corrupt_file_fails_to_open_names_its_path_and_stays_byte_identical() {
    let cases: [(&str, &[u8]); 7] = [
        ("truncated", b"{\"a\": 1, \"b\": [1, 2"),
        ("empty", b""),
        ("whitespace", b" \n"),
        ("array", b"[1, 2, 3]"),
        ("string", b"\"just a string\""),
        ("null", b"null"),
        ("binary", &[0xff, 0xfe, 0x00, 0x7b]),
    ];
    for (name, bytes) in cases {
        let (dir, path) = store();
        fs::write(&path, bytes).unwrap();
        for attempt in ["first", "second"] {
            match Kv::open(&path) {
                Err(e @ Error::Corrupt { .. }) => {
                    assert_eq!(e.path(), Some(fs::canonicalize(&path).unwrap().as_path()));
                    assert!(e.to_string().contains("kv.json"), "{name}: {e}");
                }
                other => panic!("{name}, {attempt} open: expected Corrupt, got {other:?}"),
            }
            assert_eq!(fs::read(&path).unwrap(), bytes, "{name}: the file changed");
            assert_eq!(listing(dir.path()), ["kv.json", "kv.json.lock"], "{name}");
        }
    }
}

#[test]
fn a_corrupt_error_says_where_decoding_stopped() {
    let (_dir, path) = store();
    fs::write(&path, "{\n  \"a\": 1,\n  \"b\": x\n}").unwrap();
    let e = Kv::open(&path).unwrap_err();
    assert!(e.to_string().contains("line 3"), "{e}");
}

#[test]
fn a_file_written_by_python_aiokv_opens_unchanged() {
    // What `json.dump` writes: spaces after separators, keys in insertion order, no newline.
    let python = r#"{"last_command": "ping", "seen:1": 1763700800, "rate:alice": [1763700800.5, 1763700801.25], "cfg": {"z": null, "a": true}, "unicode": "caf\u00e9"}"#;
    let (_dir, path) = store();
    fs::write(&path, python).unwrap();
    let kv = Kv::open(&path).unwrap();
    assert_eq!(
        serde_json::Value::Object(kv.get_all()),
        json!({
            "last_command": "ping",
            "seen:1": 1_763_700_800,
            "rate:alice": [1_763_700_800.5, 1_763_700_801.25],
            "cfg": {"z": null, "a": true},
            "unicode": "café",
        })
    );
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        python,
        "opening rewrote the file"
    );
    kv.set("new", 1).unwrap();
    drop(kv);
    let reread: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    assert_eq!(reread.len(), 6);
}

#[test]
fn leftover_temporary_files_are_removed_on_open_and_never_promoted() {
    let (dir, path) = store();
    fs::write(&path, "{\"a\":1}\n").unwrap();
    let leftovers = [".kv.json.4242.1f3a.tmp", ".kv.json.7.0.tmp"];
    for name in leftovers {
        fs::write(dir.path().join(name), "{\"half\":\"written\"}").unwrap();
    }
    let unrelated = [".kv.json.bak", "kv.json.tmp", ".other.json.1.2.tmp"];
    for name in unrelated {
        fs::write(dir.path().join(name), "keep me").unwrap();
    }
    let kv = Kv::open(&path).unwrap();
    assert_eq!(kv.get_all().len(), 1);
    assert_eq!(kv.get("a"), Some(json!(1)));
    let mut expected = vec!["kv.json", "kv.json.lock"];
    expected.extend(unrelated);
    expected.sort_unstable();
    assert_eq!(listing(dir.path()), expected);
}

#[test]
fn a_leftover_without_a_store_file_still_opens_an_empty_store() {
    let (dir, path) = store();
    fs::write(dir.path().join(".kv.json.99.ab.tmp"), "{\"x\":1}").unwrap();
    let kv = Kv::open(&path).unwrap();
    assert!(kv.is_empty());
    assert!(!path.exists());
}

#[test]
fn writes_leave_no_temporary_file_behind() {
    let (dir, path) = store();
    let kv = Kv::open(&path).unwrap();
    for i in 0..20 {
        kv.set(format!("k{i}"), i).unwrap();
    }
    kv.delete("k3").unwrap();
    kv.clear().unwrap();
    assert_eq!(listing(dir.path()), ["kv.json.journal", "kv.json.lock"]);
    kv.compact().unwrap();
    assert_eq!(
        listing(dir.path()),
        ["kv.json", "kv.json.journal", "kv.json.lock"]
    );
}

#[test]
fn a_store_path_that_is_a_directory_is_a_read_error_naming_it() {
    let (_dir, path) = store();
    fs::create_dir(&path).unwrap();
    match Kv::open(&path) {
        Err(Error::Io(e)) => {
            assert_eq!(e.op(), Op::Read);
            assert!(e.to_string().contains("kv.json"), "{e}");
        }
        other => panic!("expected a read error, got {other:?}"),
    }
}

#[test]
fn without_the_journal_the_file_is_the_canonical_snapshot_after_every_write() {
    let (_dir, path) = store();
    let kv = Kv::options().journal(false).open(&path).unwrap();
    kv.set_many([("b", json!([1, {"y": 2, "x": 1}])), ("a", json!("é"))])
        .unwrap();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "{\"a\":\"é\",\"b\":[1,{\"x\":1,\"y\":2}]}\n"
    );
}

#[test]
fn limits_from_the_options_reject_writes_and_change_nothing() {
    let (_dir, path) = store();
    let kv = Kv::options()
        .limits(Limits::DEFAULT.max_entries(1))
        .open(&path)
        .unwrap();
    kv.set("one", 1).unwrap();
    assert!(matches!(kv.set("two", 2), Err(Error::Rejected(_))));
    drop(kv);
    assert_eq!(fs::read_to_string(&path).unwrap(), "{\"one\":1}\n");
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Window {
    start: u64,
    hits: Vec<u64>,
}

#[test]
fn typed_values_round_trip_through_serde() {
    let (_dir, path) = store();
    let kv = Kv::open(&path).unwrap();
    let window = Window {
        start: 1_763_700_000,
        hits: vec![1, 2, 3],
    };
    kv.set_as("rate:alice", &window).unwrap();
    drop(kv);
    let kv = Kv::open(&path).unwrap();
    assert_eq!(kv.get_as::<Window>("rate:alice").unwrap(), Some(window));
    assert_eq!(kv.get_as::<Window>("absent").unwrap(), None);
}

#[test]
fn a_value_of_another_shape_is_a_value_error_naming_the_key() {
    let (_dir, path) = store();
    let kv = Kv::open(&path).unwrap();
    kv.set("rate:bob", "not a window").unwrap();
    match kv.get_as::<Window>("rate:bob") {
        Err(e @ Error::Value { .. }) => assert!(e.to_string().contains("rate:bob"), "{e}"),
        other => panic!("expected a value error, got {other:?}"),
    }
    assert_eq!(kv.get("rate:bob"), Some(json!("not a window")));
}

#[test]
fn a_panic_inside_update_leaves_the_store_usable_and_unchanged() {
    let (_dir, path) = store();
    let kv = Kv::open(&path).unwrap();
    kv.set("n", 1).unwrap();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        kv.update("n", |_| panic!("caller's bug"))
    }));
    assert!(panicked.is_err());
    assert_eq!(kv.get("n"), Some(json!(1)));
    kv.update("n", |v| {
        Some(json!(v.and_then(|v| v.as_u64()).unwrap_or(0) + 1))
    })
    .unwrap();
    assert_eq!(kv.get("n"), Some(json!(2)));
}

#[test]
fn a_transaction_that_fails_writes_nothing_and_returns_the_callers_error() {
    let (_dir, path) = store();
    let kv = Kv::open(&path).unwrap();
    kv.set("kept", 1).unwrap();
    let result: Result<(), Error> = kv.transaction(|tx| {
        tx.delete("kept");
        tx.set("new", json!(2))?;
        Err(Error::Incomplete)
    });
    assert!(matches!(result, Err(Error::Incomplete)));
    assert_eq!(kv.len(), 1);
    drop(kv);
    assert_eq!(fs::read_to_string(&path).unwrap(), "{\"kept\":1}\n");
}
