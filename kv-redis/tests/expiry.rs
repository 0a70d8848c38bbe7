//! Expiry and memoize on `Kv` against a real `redis-server`, on clocks set by hand: what Redis
//! holds, what other handles see, and that removing an expired key never deletes one another
//! process set again meanwhile.
#![allow(clippy::unwrap_used)]

mod server;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use kv_redis::{Error, ErrorKind, Kv, ManualClock, Ttl};
use serde_json::{Value, json};
use server::Server;

/// 2025-11-21T04:53:20Z, in unix seconds.
const NOW: u64 = 1_763_700_000;
/// Long enough for any announcement on a loaded machine; reached only when one is lost.
const PATIENCE: Duration = Duration::from_secs(30);

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn open(server: &Server, name: &str, clock: &Arc<ManualClock>) -> Kv {
    Kv::options()
        .clock(clock.clone())
        .open(&server.url(), name)
        .unwrap()
}

/// Waits until `kv`'s copy has `key` stored as `want` (expired or not), following
/// announcements: `stored` reads what the copy holds whatever its clock says.
fn wait_for(kv: &Kv, key: &str, want: Option<Value>) {
    let mut seen = kv.seq();
    while kv.get(key) != want {
        let now = kv.wait_past(seen, PATIENCE);
        assert!(
            now > seen,
            "no announcement within {PATIENCE:?}: {key} is {:?}",
            kv.get(key)
        );
        seen = now;
    }
}

/// Every field of the store's hash, as Redis holds it.
fn hash(server: &Server, name: &str) -> Vec<(String, Vec<u8>)> {
    let mut fields: Vec<(String, Vec<u8>)> = redis::cmd("HGETALL")
        .arg(format!("kv:{{{name}}}"))
        .query(&mut server.connection())
        .unwrap();
    fields.sort();
    fields
}

fn field(server: &Server, name: &str, key: &str) -> Option<Vec<u8>> {
    redis::cmd("HGET")
        .arg(format!("kv:{{{name}}}"))
        .arg(key)
        .query(&mut server.connection())
        .unwrap()
}

#[test]
fn an_expiring_record_is_the_cores_record_in_the_hash_and_every_handle_drops_it_on_time() {
    let server = Server::start();
    let clock = Arc::new(ManualClock::new(NOW));
    let a = open(&server, "seen", &clock);
    let b = open(&server, "seen", &clock);
    a.set_with_ttl("token", "abc", secs(90)).unwrap();
    a.set("plain", 1).unwrap();
    let at = NOW * 1000 + 90_000;
    assert_eq!(
        hash(&server, "seen"),
        [
            ("\0format".to_owned(), b"2".to_vec()),
            ("plain".to_owned(), b"1".to_vec()),
            ("token".to_owned(), format!("\0{at} \"abc\"").into_bytes()),
        ]
    );
    wait_for(&b, "plain", Some(json!(1)));
    for kv in [&a, &b] {
        assert_eq!(kv.ttl("token"), Ttl::Left(secs(90)));
        assert_eq!(kv.ttl("plain"), Ttl::Never);
        assert_eq!(kv.ttl("absent"), Ttl::Missing);
    }
    clock.advance_ms(89_999);
    assert_eq!(b.get("token"), Some(json!("abc")));
    assert_eq!(b.ttl("token"), Ttl::Left(Duration::from_millis(1)));
    clock.advance_ms(1);
    for kv in [&a, &b] {
        assert_eq!(kv.get("token"), None);
        assert_eq!(kv.get_or("token", 0), json!(0));
        assert!(!kv.contains("token"));
        assert_eq!(kv.ttl("token"), Ttl::Missing);
        assert_eq!((kv.len(), kv.keys()), (1, vec!["plain".to_owned()]));
        assert_eq!(Value::Object(kv.get_all()), json!({"plain": 1}));
    }
    // A read removes nothing; the next write does, and a new handle sees none of it.
    assert!(field(&server, "seen", "token").is_some());
    b.set("other", 2).unwrap();
    assert_eq!(field(&server, "seen", "token"), None);
    let reopened = open(&server, "seen", &clock);
    assert_eq!(
        Value::Object(reopened.get_all()),
        json!({"other": 2, "plain": 1})
    );
}

#[test]
fn an_expiry_reads_back_to_the_millisecond_in_a_new_handle() {
    let server = Server::start();
    let clock = Arc::new(ManualClock::new(NOW));
    let kv = open(&server, "s", &clock);
    kv.set_with_ttl("a", json!([1, 2]), Duration::from_millis(1500))
        .unwrap();
    kv.set_as_with_ttl("b", &vec!["x"], secs(3)).unwrap();
    let at = kv.touch_with_ttl("seen:1", secs(30 * 86_400)).unwrap();
    assert_eq!(at, NOW);
    assert!(kv.set_if_absent_with_ttl("c", 3, secs(5)).unwrap());
    assert!(!kv.set_if_absent_with_ttl("c", 4, secs(50)).unwrap());
    kv.set_many_with_ttl([("d", 4), ("e", 5)], secs(7)).unwrap();
    clock.advance_ms(500);
    let other = open(&server, "s", &clock);
    assert_eq!(other.ttl("a"), Ttl::Left(Duration::from_millis(1000)));
    assert_eq!(other.ttl("b"), Ttl::Left(Duration::from_millis(2500)));
    assert_eq!(other.ttl("c"), Ttl::Left(Duration::from_millis(4500)));
    assert_eq!(other.get("c"), Some(json!(3)));
    assert_eq!(other.ttl("e"), Ttl::Left(Duration::from_millis(6500)));
    assert_eq!(
        other.ttl("seen:1"),
        Ttl::Left(Duration::from_millis(30 * 86_400_000 - 500))
    );
    clock.advance_ms(1000);
    assert_eq!(other.get("a"), None);
    assert_eq!(other.get("b"), Some(json!(["x"])));
}

#[test]
fn update_keeps_the_expiry_set_removes_it_and_expire_changes_it() {
    let server = Server::start();
    let clock = Arc::new(ManualClock::new(NOW));
    let kv = open(&server, "s", &clock);
    kv.set_with_ttl("n", 1, secs(10)).unwrap();
    clock.advance(4);
    let two = kv.update("n", |v| v.map(|v| json!(v.as_u64().unwrap() + 1)));
    assert_eq!(two.unwrap(), Some(json!(2)));
    assert_eq!(kv.ttl("n"), Ttl::Left(secs(6)));
    let at = (NOW + 10) * 1000;
    assert_eq!(
        field(&server, "s", "n"),
        Some(format!("\0{at} 2").into_bytes())
    );
    assert!(kv.expire("n", Some(secs(100))).unwrap());
    assert_eq!(kv.ttl("n"), Ttl::Left(secs(100)));
    assert!(kv.expire("n", None).unwrap());
    assert_eq!(field(&server, "s", "n"), Some(b"2".to_vec()));
    kv.set_with_ttl("n", 3, secs(1)).unwrap();
    kv.set("n", 4).unwrap();
    assert_eq!(kv.ttl("n"), Ttl::Never);
    clock.advance(1000);
    assert_eq!(kv.get("n"), Some(json!(4)));
    assert!(!kv.expire("absent", Some(secs(1))).unwrap());
    assert!(!kv.contains("absent"));
}

#[test]
fn expire_answers_whether_redis_holds_the_key_not_the_copy() {
    let server = Server::start();
    let clock = Arc::new(ManualClock::new(NOW));
    let kv = open(&server, "s", &clock);
    kv.set("k", 1).unwrap();
    // Deleted behind the copy's back: no announcement.
    let () = redis::cmd("HDEL")
        .arg("kv:{s}")
        .arg("k")
        .query(&mut server.connection())
        .unwrap();
    assert!(!kv.expire("k", Some(secs(5))).unwrap());
    assert!(!kv.contains("k"));
    assert_eq!(field(&server, "s", "k"), None);
}

#[test]
fn a_ttl_the_store_cannot_hold_is_invalid_ttl_naming_it_and_nothing_changes() {
    let server = Server::start();
    let clock = Arc::new(ManualClock::new(NOW));
    let kv = open(&server, "s", &clock);
    kv.set("k", 1).unwrap();
    let before = hash(&server, "s");
    let seq = kv.seq();
    for e in [
        kv.set_with_ttl("k", 2, Duration::ZERO).unwrap_err(),
        kv.set_with_ttl("new", 2, Duration::from_micros(999))
            .unwrap_err(),
        kv.expire("k", Some(Duration::MAX)).unwrap_err(),
        kv.set_many_with_ttl([("x", 1)], Duration::ZERO)
            .unwrap_err(),
        kv.touch_with_ttl("t", Duration::ZERO).unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::InvalidTtl, "{e}");
        assert!(e.to_string().starts_with("ttl of "), "{e}");
    }
    let e = kv
        .set_with_ttl("k", 2, Duration::from_micros(999))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "ttl of 0.999 ms is under the shortest time to live, 1 ms"
    );
    assert_eq!(hash(&server, "s"), before);
    assert_eq!((kv.seq(), kv.get("k")), (seq, Some(json!(1))));
}

#[test]
fn writes_remove_up_to_16_expired_keys_from_redis_and_purge_the_rest() {
    let server = Server::start();
    let clock = Arc::new(ManualClock::new(NOW));
    let kv = open(&server, "s", &clock);
    let follower = open(&server, "s", &clock);
    kv.set_many_with_ttl((0..20).map(|i| (format!("k{i:02}"), i)), secs(1))
        .unwrap();
    kv.set("live", true).unwrap();
    assert_eq!(hash(&server, "s").len(), 22);
    clock.advance(1);
    assert_eq!(kv.len(), 1);
    assert_eq!(hash(&server, "s").len(), 22, "reads remove nothing");
    kv.set("x", 1).unwrap();
    assert_eq!(hash(&server, "s").len(), 22 - 16 + 1);
    assert_eq!(kv.purge().unwrap(), 4);
    assert_eq!(kv.purge().unwrap(), 0);
    let fields: Vec<String> = hash(&server, "s").into_iter().map(|(k, _)| k).collect();
    assert_eq!(fields, ["\0format", "live", "x"]);
    // The removals were announced: the follower's copy holds only the live keys.
    wait_for(&follower, "x", Some(json!(1)));
    follower.wait_past(kv.seq() - 1, PATIENCE);
    clock.set(NOW);
    assert_eq!(follower.len(), 2, "{:?}", follower.keys());
}

/// Runs `write` as a transaction on `a` whose first attempt lets `b` set `key` again first:
/// `a`'s copy is held for the whole attempt, so it cannot follow `b`'s commit and decides
/// against the expired record it holds, as a process does when another's commit is still on
/// its way.
fn race<R>(
    a: &Kv,
    b: &Kv,
    set_again: impl Fn(&Kv),
    mut write: impl FnMut(&mut kv_redis::Transaction<'_>) -> Result<R, Error>,
) -> (R, usize) {
    let mut attempts = 0;
    let answer = a
        .transaction(|tx| {
            attempts += 1;
            if attempts == 1 {
                assert_eq!(tx.get("k"), None, "a's copy sees k expired");
                set_again(b);
            }
            write(tx)
        })
        .unwrap();
    (answer, attempts)
}

/// A named way for b to set `k` again.
type Case = (&'static str, fn(&Kv));

#[test]
fn removing_an_expired_key_never_deletes_the_value_another_process_set_again() {
    let server = Server::start();
    // a's clock is past k's expiry; b's is not.
    let a_clock = Arc::new(ManualClock::new(NOW));
    let b_clock = Arc::new(ManualClock::new(NOW));
    let a = open(&server, "s", &a_clock);
    let b = open(&server, "s", &b_clock);
    let cases: [Case; 2] = [
        ("set again with a ttl", |b| {
            b.set_with_ttl("k", "b's", secs(3600)).unwrap();
        }),
        ("set again without one", |b| b.set("k", "b's").unwrap()),
    ];
    for (case, set_again) in cases {
        for purging in [false, true] {
            // a's clock only moves forward (a store never goes back in time): each round
            // begins where the last one left it.
            a.set_with_ttl("k", "a's", secs(10)).unwrap();
            a.set_with_ttl("gone", 0, secs(10)).unwrap();
            wait_for(&b, "k", Some(json!("a's")));
            a_clock.advance(10);
            let (removed, attempts) = if purging {
                race(&a, &b, set_again, |tx| Ok(tx.purge()))
            } else {
                race(&a, &b, set_again, |tx| {
                    tx.set("other", 1)?;
                    Ok(0)
                })
            };
            let what = format!(
                "{case}, then a {}",
                if purging { "purges" } else { "writes" }
            );
            assert_eq!(attempts, 2, "{what}: Redis refused the first decision");
            if purging {
                assert_eq!(removed, 1, "{what}: only the other expired key");
            }
            let held = field(&server, "s", "k").unwrap_or_else(|| panic!("{what}: k is gone"));
            assert!(
                held.ends_with(b" \"b's\"") || held == b"\"b's\"",
                "{what}: {held:?}"
            );
            assert_eq!(field(&server, "s", "gone"), None, "{what}");
            assert_eq!(a.get("k"), Some(json!("b's")), "{what}");
            wait_for(&b, "k", Some(json!("b's")));
            let c = open(&server, "s", &b_clock);
            assert_eq!(c.get("k"), Some(json!("b's")), "{what}");
        }
    }
}

#[test]
fn get_or_insert_with_computes_once_stores_with_the_ttl_and_again_after_expiry() {
    let server = Server::start();
    let clock = Arc::new(ManualClock::new(NOW));
    let kv = open(&server, "memo", &clock);
    let calls = AtomicUsize::new(0);
    let square = |n: u64| {
        calls.fetch_add(1, Ordering::Relaxed);
        n * n
    };
    assert_eq!(
        kv.get_or_insert_with("sq:3", Some(secs(60)), || square(3))
            .unwrap(),
        9
    );
    assert_eq!(
        kv.get_or_insert_with("sq:3", Some(secs(60)), || square(3))
            .unwrap(),
        9
    );
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert_eq!(kv.ttl("sq:3"), Ttl::Left(secs(60)));
    let other = open(&server, "memo", &clock);
    assert_eq!(
        other
            .get_or_insert_with("sq:3", None, || square(3))
            .unwrap(),
        9
    );
    assert_eq!(
        calls.load(Ordering::Relaxed),
        1,
        "another handle finds it in Redis"
    );
    clock.advance(60);
    assert_eq!(
        kv.get_or_insert_with("sq:3", None, || square(3)).unwrap(),
        9
    );
    assert_eq!(calls.load(Ordering::Relaxed), 2);
    assert_eq!(kv.ttl("sq:3"), Ttl::Never);
    // A stored value that is not the type asked for: an error naming the key, f not called.
    kv.set("text", "not a number").unwrap();
    let e = kv
        .get_or_insert_with("text", None, || -> u64 { panic!("computed") })
        .unwrap_err();
    assert!(
        matches!(&e, Error::Value { key, .. } if key == "text"),
        "{e}"
    );
    assert_eq!(kv.get("text"), Some(json!("not a number")));
}

#[test]
fn touch_if_absent_with_a_ttl_claims_an_id_until_it_expires() {
    let server = Server::start();
    let clock = Arc::new(ManualClock::new(NOW));
    let a = open(&server, "seen", &clock);
    let b = open(&server, "seen", &clock);
    let month = secs(30 * 86_400);
    assert!(a.touch_if_absent_with_ttl("seen:1", month).unwrap());
    assert!(!b.touch_if_absent_with_ttl("seen:1", month).unwrap());
    assert_eq!(b.get("seen:1"), Some(json!(NOW)));
    clock.advance(30 * 86_400);
    assert!(b.touch_if_absent_with_ttl("seen:1", month).unwrap());
    assert_eq!(b.get("seen:1"), Some(json!(NOW + 30 * 86_400)));
    let e = a
        .touch_if_absent_with_ttl("seen:2", Duration::ZERO)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidTtl);
}

#[test]
fn get_or_insert_with_returns_the_value_another_process_stored_first() {
    let server = Server::start();
    let clock = Arc::new(ManualClock::new(NOW));
    let a = open(&server, "memo", &clock);
    let b = open(&server, "memo", &clock);
    let got = a
        .get_or_insert_with("k", Some(secs(5)), || {
            b.set("k", "b's").unwrap();
            "a's".to_owned()
        })
        .unwrap();
    assert_eq!(got, "b's");
    assert_eq!(a.get("k"), Some(json!("b's")));
    assert_eq!(field(&server, "memo", "k"), Some(b"\"b's\"".to_vec()));
}

#[test]
fn try_get_or_insert_with_stores_nothing_on_error_and_refuses_a_bad_ttl_before_computing() {
    let server = Server::start();
    let clock = Arc::new(ManualClock::new(NOW));
    let kv = open(&server, "memo", &clock);
    #[derive(Debug)]
    enum Failed {
        Fetch,
        Store(Error),
    }
    impl From<Error> for Failed {
        fn from(e: Error) -> Self {
            Self::Store(e)
        }
    }
    let failed = kv.try_get_or_insert_with("k", None, || Err::<u8, _>(Failed::Fetch));
    assert!(matches!(failed, Err(Failed::Fetch)));
    assert_eq!(field(&server, "memo", "k"), None);
    let bad = kv.try_get_or_insert_with("k", Some(Duration::ZERO), || -> Result<u8, Failed> {
        panic!("computed for a ttl that is refused")
    });
    match bad {
        Err(Failed::Store(e)) => assert_eq!(e.kind(), ErrorKind::InvalidTtl),
        other => panic!("{other:?}"),
    }
    let e = kv
        .get_or_insert_with("k", Some(Duration::ZERO), || -> u8 { panic!("computed") })
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidTtl);
    let ok = kv.try_get_or_insert_with("k", None, || Ok::<_, Failed>(7));
    assert_eq!(ok.unwrap(), 7);
    assert_eq!(kv.get("k"), Some(json!(7)));
}

#[test]
fn threads_asking_one_handle_for_the_same_key_share_one_call() {
    let server = Server::start();
    let clock = Arc::new(ManualClock::new(NOW));
    let kv = open(&server, "memo", &clock);
    let calls = AtomicUsize::new(0);
    let start = Barrier::new(8);
    let values: Vec<usize> = thread::scope(|s| {
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let (kv, calls, start) = (&kv, &calls, &start);
                s.spawn(move || {
                    start.wait();
                    kv.get_or_insert_with("slow", Some(secs(60)), || {
                        calls.fetch_add(1, Ordering::Relaxed);
                        // Widens the window in which the others ask; the result holds however
                        // the threads interleave (a late one finds the value stored).
                        thread::sleep(Duration::from_millis(100));
                        i
                    })
                    .unwrap()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert!(values.iter().all(|v| *v == values[0]), "{values:?}");
    assert_eq!(kv.get("slow"), Some(json!(values[0])));
}

#[test]
fn an_expiring_record_gets_the_format_marker_even_from_a_copy_that_missed_a_clear() {
    let server = Server::start();
    let clock = Arc::new(ManualClock::new(NOW));
    let a = open(&server, "s", &clock);
    let b = open(&server, "s", &clock);
    a.set_with_ttl("first", 1, secs(60)).unwrap();
    wait_for(&b, "first", Some(json!(1)));
    let mut attempts = 0;
    a.transaction(|tx| {
        attempts += 1;
        if attempts == 1 {
            // b clears the store (the marker with it) while a's copy is held: a still
            // believes the marker is there.
            b.clear().unwrap();
        }
        Ok::<_, Error>(tx.set_with_ttl("k", 2, secs(60))?)
    })
    .unwrap();
    assert_eq!(attempts, 1, "a blind write is not decided again");
    let fields: Vec<String> = hash(&server, "s").into_iter().map(|(k, _)| k).collect();
    assert_eq!(fields, ["\0format", "k"]);
    wait_for(&b, "k", Some(json!(2)));
    // Every copy still writes the marker whenever it thinks it missing: no harm done.
    b.set_with_ttl("other", 3, secs(60)).unwrap();
    assert_eq!(field(&server, "s", "\0format"), Some(b"2".to_vec()));
}

#[test]
fn an_expiring_value_another_program_spelled_its_own_way_does_not_stall_update() {
    let server = Server::start();
    let clock = Arc::new(ManualClock::new(NOW));
    let kv = open(&server, "s", &clock);
    kv.set_with_ttl("n", 1, secs(60)).unwrap();
    let at = (NOW + 30) * 1000;
    // `1e2` is 100, not the core's spelling; written behind the copy's back.
    let () = redis::cmd("HSET")
        .arg("kv:{s}")
        .arg("n")
        .arg(format!("\0{at} 1e2"))
        .query(&mut server.connection())
        .unwrap();
    let updated = kv.update("n", |v| v.map(|v| json!(v.as_f64().unwrap() as u64 + 1)));
    assert_eq!(updated.unwrap(), Some(json!(101)));
    assert_eq!(
        field(&server, "s", "n"),
        Some(format!("\0{at} 101").into_bytes())
    );
    assert_eq!(kv.ttl("n"), Ttl::Left(secs(30)));
}
