//! Expiry on `Kv` and `ReadOnlyKv`: the calls with a ttl, memoization, group commit, and the
//! format on disk. Time moves by hand (`Options::clock`), never by sleeping.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use kv_native::{Error, Kv, ManualClock, Rejected, Ttl, json};

const NOW: u64 = 1_763_700_000;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn open(path: &Path, clock: &Arc<ManualClock>) -> Kv {
    Kv::options().clock(clock.clone()).open(path).unwrap()
}

#[test]
fn every_ttl_call_works_and_survives_the_journal_and_a_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.json");
    let clock = Arc::new(ManualClock::new(NOW));
    let kv = open(&path, &clock);
    kv.set_with_ttl("a", 1, secs(10)).unwrap();
    kv.set_as_with_ttl("list", &vec![1, 2], secs(20)).unwrap();
    assert_eq!(kv.touch_with_ttl("seen:1", secs(30)).unwrap(), NOW);
    assert!(kv.set_if_absent_with_ttl("once", "x", secs(40)).unwrap());
    assert!(!kv.set_if_absent_with_ttl("once", "y", secs(40)).unwrap());
    assert!(kv.touch_if_absent_with_ttl("seen:2", secs(50)).unwrap());
    assert!(!kv.touch_if_absent_with_ttl("seen:2", secs(50)).unwrap());
    kv.set_many_with_ttl([("m1", 1), ("m2", 2)], secs(60))
        .unwrap();
    kv.set("plain", "forever").unwrap();
    assert!(kv.expire("plain", Some(secs(70))).unwrap());
    assert!(!kv.expire("missing", Some(secs(70))).unwrap());
    assert_eq!(kv.ttl("a"), Ttl::Left(secs(10)));
    assert_eq!(kv.ttl("missing"), Ttl::Missing);

    // Reopened from the journal (a crash: no compaction at close), then from the compacted
    // file: every expiry to the millisecond.
    let journal = format!("{}.journal", path.display());
    let text = fs::read_to_string(&journal).unwrap();
    assert!(
        text.contains(r#"["set","\u0000format",2],["set-text","a","\u00001763700010000 1"]"#),
        "{text}"
    );
    assert!(!path.exists());
    let (copy, copy_journal) = (
        dir.path().join("copy.json"),
        dir.path().join("copy.json.journal"),
    );
    fs::copy(&journal, &copy_journal).unwrap();
    let replayed = open(&copy, &clock);
    assert_eq!(replayed.len(), 8);
    assert_eq!(replayed.ttl("m2"), Ttl::Left(secs(60)));
    assert_eq!(replayed.export(), kv.export());
    drop(replayed);
    drop(kv);
    let kv = open(&path, &clock);
    kv.set("other", 0).unwrap();
    drop(kv);
    let file = fs::read_to_string(&path).unwrap();
    assert!(
        file.starts_with(&format!(
            "{{\"\\u0000expires\":{{\"a\":{},\"list\":{},",
            (NOW + 10) * 1000,
            (NOW + 20) * 1000
        )),
        "{file}"
    );
    let kv = open(&path, &clock);
    for (key, left) in [("a", 10), ("list", 20), ("seen:1", 30), ("once", 40)] {
        assert_eq!(kv.ttl(key), Ttl::Left(secs(left)), "{key}");
    }
    assert_eq!(kv.ttl("plain"), Ttl::Left(secs(70)));
    assert_eq!(kv.ttl("other"), Ttl::Never);
    assert_eq!(kv.get("once"), Some(json!("x")));

    clock.advance(45);
    assert_eq!(kv.get("a"), None);
    assert!(!kv.contains("once"));
    assert_eq!(kv.get_as::<Vec<u8>>("list").unwrap(), None);
    assert_eq!(kv.len(), 5);
    let mut keys = kv.keys();
    keys.sort();
    assert_eq!(keys, ["m1", "m2", "other", "plain", "seen:2"]);
    assert!(!kv.get_all().contains_key("seen:1"));
    assert!(!String::from_utf8(kv.export()).unwrap().contains("\"a\""));
    // An expired key may be claimed again.
    assert!(!kv.touch_if_absent_with_ttl("seen:2", secs(5)).unwrap());
    assert!(kv.touch_if_absent_with_ttl("seen:1", secs(5)).unwrap());
    assert_eq!(kv.ttl("seen:1"), Ttl::Left(secs(5)));
}

#[test]
fn set_removes_an_expiry_update_keeps_it_and_a_bad_ttl_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let kv = open(&dir.path().join("kv.json"), &clock);
    kv.set_with_ttl("n", 1, secs(10)).unwrap();
    clock.advance(4);
    let bump = |v: Option<&kv_native::Value>| Some(json!(v.unwrap().as_u64().unwrap() + 1));
    assert_eq!(kv.update("n", bump).unwrap(), Some(json!(2)));
    assert_eq!(kv.ttl("n"), Ttl::Left(secs(6)));
    kv.set("n", 3).unwrap();
    assert_eq!(kv.ttl("n"), Ttl::Never);
    for ttl in [Duration::ZERO, Duration::from_micros(999), Duration::MAX] {
        let e = kv.set_with_ttl("n", 4, ttl).unwrap_err();
        assert!(matches!(e, Error::Rejected(Rejected::Ttl(_))), "{e}");
        assert!(e.to_string().contains("ttl of"), "{e}");
        assert!(kv.expire("n", Some(ttl)).is_err());
        assert!(kv.set_many_with_ttl([("n", 5), ("m", 5)], ttl).is_err());
    }
    assert_eq!(kv.get("n"), Some(json!(3)));
    assert!(!kv.contains("m"));
    assert_eq!(kv.ttl("n"), Ttl::Never);
}

#[test]
fn purge_removes_every_expired_key_and_the_file_is_the_plain_json_object_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.json");
    let clock = Arc::new(ManualClock::new(NOW));
    let kv = open(&path, &clock);
    kv.set("keep", json!({"b": [1, 2.50, 18446744073709551616_u128]}))
        .unwrap();
    kv.set("a", "plain").unwrap();
    kv.compact().unwrap();
    let before = fs::read(&path).unwrap();
    // Expiring keys come and go: deleted, purged, and one whose expiry is removed.
    kv.set_many_with_ttl((0..40).map(|i| (format!("t{i}"), i)), secs(1))
        .unwrap();
    kv.set_with_ttl("gone", 1, secs(100)).unwrap();
    kv.set_with_ttl("a", "plain", secs(100)).unwrap();
    kv.compact().unwrap();
    assert!(
        fs::read_to_string(&path)
            .unwrap()
            .contains("\\u0000expires")
    );
    assert!(kv.delete("gone").unwrap());
    assert!(kv.expire("a", None).unwrap());
    clock.advance(1);
    assert_eq!(kv.purge().unwrap(), 40);
    assert_eq!(kv.purge().unwrap(), 0);
    kv.compact().unwrap();
    assert_eq!(fs::read(&path).unwrap(), before);
    drop(kv);
    assert_eq!(fs::read(&path).unwrap(), before);
    let plain: serde_json::Value = serde_json::from_slice(&before).unwrap();
    assert_eq!(plain["a"], json!("plain"));
}

/// What Python's aiokv (or any program following docs/design.md) writes for a store with
/// expiring keys: `json.dump` of the object with its `"\u0000expires"` member.
const PYTHON_FILE: &str = "{\"\\u0000expires\": {\"old\": 1000, \"later\": 9007199254740991}, \
     \"later\": [1, 2], \"old\": \"stale\", \"plain\": 1.0}";

#[test]
fn a_store_file_with_an_expired_key_opens_and_hides_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.json");
    fs::write(&path, PYTHON_FILE).unwrap();

    let read_only = Kv::open_read_only(&path).unwrap();
    assert_eq!(read_only.get("old"), None);
    assert!(!read_only.contains("old"));
    assert_eq!(read_only.ttl("old"), Ttl::Missing);
    assert_eq!(read_only.ttl("plain"), Ttl::Never);
    assert!(matches!(read_only.ttl("later"), Ttl::Left(_)));
    assert_eq!(read_only.len(), 2);
    assert_eq!(
        String::from_utf8(read_only.export()).unwrap(),
        "{\"\\u0000expires\":{\"later\":9007199254740991},\"later\":[1,2],\"plain\":1.0}\n"
    );

    let kv = Kv::open(&path).unwrap();
    assert_eq!(kv.get("old"), None);
    assert_eq!(kv.get("plain"), Some(json!(1.0)));
    assert_eq!(kv.keys().len(), 2);
    assert_eq!(kv.purge().unwrap(), 1);
    assert!(kv.expire("later", None).unwrap());
    kv.compact().unwrap();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "{\"later\":[1,2],\"plain\":1.0}\n"
    );
}

#[test]
fn get_or_insert_with_runs_f_once_and_again_after_the_value_expires() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.json");
    let clock = Arc::new(ManualClock::new(NOW));
    let kv = open(&path, &clock);
    let calls = AtomicUsize::new(0);
    let fetch = || {
        calls.fetch_add(1, Ordering::SeqCst);
        vec!["eu".to_owned(), "us".to_owned()]
    };
    let hour = Some(secs(3600));
    let first: Vec<String> = kv.get_or_insert_with("regions", hour, fetch).unwrap();
    let again: Vec<String> = kv.get_or_insert_with("regions", hour, fetch).unwrap();
    assert_eq!((first, again.len()), (vec!["eu".into(), "us".into()], 2));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(kv.ttl("regions"), Ttl::Left(secs(3600)));
    drop(kv);
    let kv = open(&path, &clock);
    let _: Vec<String> = kv.get_or_insert_with("regions", hour, fetch).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1, "kept across a reopen");
    clock.advance(3600);
    let _: Vec<String> = kv.get_or_insert_with("regions", hour, fetch).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2, "expired: computed again");

    // Without a ttl it never expires; a failing f stores nothing; a wrong type is an error.
    let n: u32 = kv.get_or_insert_with("n", None, || 7).unwrap();
    assert_eq!((n, kv.ttl("n")), (7, Ttl::Never));
    let failed: Result<u32, Fetch> = kv.try_get_or_insert_with("f", None, || Err(Fetch::Offline));
    assert_eq!(failed, Err(Fetch::Offline));
    assert!(!kv.contains("f"));
    let wrong: Result<Vec<u8>, Error> = kv.get_or_insert_with("n", None, || unreachable!());
    assert!(matches!(wrong, Err(Error::Value { key, .. }) if key == "n"));
    // A write that would be refused is refused before f runs: f's side effects never happen.
    let refused: Result<u32, Error> =
        kv.get_or_insert_with("zero", Some(Duration::ZERO), || unreachable!());
    assert!(
        matches!(refused, Err(Error::Rejected(Rejected::Ttl(_)))),
        "{refused:?}"
    );
    let long = "k".repeat(2000);
    let refused: Result<u32, Error> = kv.get_or_insert_with(long, None, || unreachable!());
    assert!(
        matches!(refused, Err(Error::Rejected(Rejected::Limit(_)))),
        "{refused:?}"
    );
}

/// A caller's own error type, as `try_get_or_insert_with` takes.
#[derive(Debug, PartialEq)]
enum Fetch {
    Offline,
    Store(String),
}

impl From<Error> for Fetch {
    fn from(e: Error) -> Self {
        Self::Store(e.to_string())
    }
}

#[test]
fn ttl_writes_from_many_threads_share_group_commits_and_all_survive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.json");
    let clock = Arc::new(ManualClock::new(NOW));
    let kv = Arc::new(open(&path, &clock));
    let start = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (kv, start) = (Arc::clone(&kv), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                for i in 0..50 {
                    let ttl = secs(100 + t * 50 + i);
                    if i % 2 == 0 {
                        kv.set_with_ttl(format!("t{t}:{i}"), i, ttl).unwrap();
                    } else {
                        assert!(
                            kv.touch_if_absent_with_ttl(format!("t{t}:{i}"), ttl)
                                .unwrap()
                        );
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // What the journal holds (as a crash would leave it), then what the close compacted.
    let copy = dir.path().join("copy.json");
    if path.exists() {
        fs::copy(&path, &copy).unwrap();
    }
    let journal = |p: &Path| format!("{}.journal", p.display());
    fs::copy(journal(&path), journal(&copy)).unwrap();
    let replayed = open(&copy, &clock);
    assert_eq!(replayed.export(), kv.export());
    drop(replayed);
    drop(Arc::try_unwrap(kv).unwrap());
    let kv = open(&path, &clock);
    assert_eq!(kv.len(), 400);
    for t in 0..8 {
        for i in 0..50 {
            assert_eq!(
                kv.ttl(&format!("t{t}:{i}")),
                Ttl::Left(secs(100 + t * 50 + i))
            );
        }
    }
    clock.advance(100 + 7 * 50 + 49);
    assert!(kv.is_empty());
    assert_eq!(kv.purge().unwrap(), 400);
}
