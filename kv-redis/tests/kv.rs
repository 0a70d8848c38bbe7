//! `Kv` against a real `redis-server`: decisions made by Redis, not by the copy; other
//! handles' writes arriving through announcements; names, passwords, foreign encodings.
#![allow(clippy::unwrap_used)]

mod server;

use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use kv_redis::{ErrorKind, Kv, StorageErrorKind};
use serde_json::json;
use server::Server;

/// Long enough for any announcement on a loaded machine; reached only when one is lost.
const PATIENCE: Duration = Duration::from_secs(30);

/// Waits until `kv`'s copy shows `want` under `key`, following announcements.
fn wait_for(kv: &Kv, key: &str, want: Option<serde_json::Value>) {
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

fn hset(server: &Server, hash: &str, field: &str, value: &str) {
    let () = redis::cmd("HSET")
        .arg(hash)
        .arg(field)
        .arg(value)
        .query(&mut server.connection())
        .unwrap();
}

#[test]
fn another_handles_write_reaches_get_without_reopening() {
    let server = Server::start();
    let reader = Kv::open(&server.url(), "shared").unwrap();
    let writer = Kv::open(&server.url(), "shared").unwrap();
    writer.set("greeting", "hello").unwrap();
    wait_for(&reader, "greeting", Some(json!("hello")));
    writer.set_many([("a", 1), ("b", 2)]).unwrap();
    writer.delete("greeting").unwrap();
    wait_for(&reader, "greeting", None);
    assert_eq!(reader.get_all(), writer.get_all());
    writer.clear().unwrap();
    wait_for(&reader, "a", None);
    assert!(reader.is_empty());
}

#[test]
fn set_if_absent_is_decided_by_redis_not_by_a_stale_copy() {
    let server = Server::start();
    let kv = Kv::open(&server.url(), "ids").unwrap();
    // Written behind the copy's back: no announcement.
    hset(&server, "kv:{ids}", "seen:1", "1763700000");
    assert!(!kv.set_if_absent("seen:1", 5).unwrap());
    assert_eq!(kv.get("seen:1"), Some(json!(1_763_700_000)));
    assert!(kv.touch_if_absent("seen:2").unwrap());
    let () = redis::cmd("HDEL")
        .arg("kv:{ids}")
        .arg("seen:2")
        .query(&mut server.connection())
        .unwrap();
    assert!(!kv.delete("seen:2").unwrap(), "Redis no longer held it");
    assert!(!kv.contains("seen:2"));
}

#[test]
fn update_reads_the_value_redis_holds() {
    let server = Server::start();
    let kv = Kv::open(&server.url(), "counter").unwrap();
    kv.set("hits", 1).unwrap();
    hset(&server, "kv:{counter}", "hits", "41");
    let bump =
        |v: Option<&serde_json::Value>| Some(json!(v.and_then(|v| v.as_u64()).unwrap_or(0) + 1));
    assert_eq!(kv.update("hits", bump).unwrap(), Some(json!(42)));
}

#[test]
fn a_value_another_program_wrote_in_another_spelling_does_not_stall_update() {
    let server = Server::start();
    let kv = Kv::open(&server.url(), "foreign").unwrap();
    kv.set("n", 0).unwrap();
    // Valid JSON whose text is not the core's encoding of its value (that is `100.0`).
    hset(&server, "kv:{foreign}", "n", "1e2");
    hset(&server, "kv:{foreign}", "o", "{ \"b\" : 1, \"a\" : 2 }");
    kv.reload().unwrap();
    let bump = |v: Option<&serde_json::Value>| {
        Some(json!(v.and_then(|v| v.as_f64()).unwrap_or(0.0) + 1.0))
    };
    assert_eq!(kv.update("n", bump).unwrap(), Some(json!(101.0)));
    assert!(!kv.set_if_absent("o", 1).unwrap());
    let swapped = kv
        .transaction(|tx| {
            let o = tx.get("o").cloned();
            tx.set("o2", o.clone().unwrap_or_default())?;
            tx.delete("o");
            Ok::<_, kv_redis::Error>(o.is_some())
        })
        .unwrap();
    assert!(swapped);
    assert_eq!(kv.get("o2"), Some(json!({"a": 2, "b": 1})));
}

#[test]
fn two_handles_updating_one_key_lose_nothing() {
    let server = Server::start();
    let url = server.url();
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let kv = Kv::open(&url, "count").unwrap();
            thread::spawn(move || {
                for _ in 0..100 {
                    kv.update("n", |v| {
                        Some(json!(v.and_then(|v| v.as_u64()).unwrap_or(0) + 1))
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let kv = Kv::open(&url, "count").unwrap();
    assert_eq!(kv.get("n"), Some(json!(200)));
}

#[test]
fn redis_unreachable_at_open_is_unavailable_naming_the_url_without_the_password() {
    // A port nothing listens on: bound, then closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://bot:hunter2@127.0.0.1:{port}/3");
    let e = Kv::open(&url, "x").unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Storage(StorageErrorKind::Unavailable),
        "{e}"
    );
    let message = e.to_string();
    assert!(
        message.contains(&format!("redis://bot:***@127.0.0.1:{port}/3")),
        "{message}"
    );
    assert!(
        !message.contains("hunter2") && !format!("{e:?}").contains("hunter2"),
        "{e:?}"
    );
}

#[test]
fn a_password_protected_redis_opens_with_the_password_and_never_shows_it() {
    let server = Server::start_with(&["--requirepass", "s3cret-pw"]);
    let port = server.port();
    let kv = Kv::open(
        &format!("redis://default:s3cret-pw@127.0.0.1:{port}/0"),
        "p",
    )
    .unwrap();
    kv.set("k", 1).unwrap();
    assert!(!format!("{kv:?}").contains("s3cret"), "{kv:?}");
    assert_eq!(kv.url(), format!("redis://default:***@127.0.0.1:{port}/0"));
    let e = Kv::open(&format!("redis://default:wrong-pw@127.0.0.1:{port}/0"), "p").unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(
        !shown.contains("wrong-pw") && shown.contains(":***@"),
        "{shown}"
    );
}

#[test]
fn a_bad_url_or_name_is_refused_before_connecting() {
    let e = Kv::open("http://u:pw1234@127.0.0.1/", "x").unwrap_err();
    assert!(
        matches!(e, kv_redis::Error::Invalid(_)) && !e.to_string().contains("pw1234"),
        "{e}"
    );
    assert!(matches!(
        Kv::open("redis://127.0.0.1:1/", ""),
        Err(kv_redis::Error::Invalid(_))
    ));
}

#[test]
fn store_names_cannot_reach_each_others_keys_or_channel() {
    let server = Server::start();
    let names = ["a", "a}", "a}:seq", "{a}", "a%7D", "a*", "a\n"];
    let stores: Vec<Kv> = names
        .iter()
        .map(|n| Kv::open(&server.url(), n).unwrap())
        .collect();
    for (i, kv) in stores.iter().enumerate() {
        kv.set("who", names[i]).unwrap();
    }
    // A second handle on each store follows only its own channel.
    for (i, name) in names.iter().enumerate() {
        let again = Kv::open(&server.url(), name).unwrap();
        assert_eq!(again.get_all().len(), 1, "{name:?}");
        assert_eq!(again.get("who"), Some(json!(names[i])), "{name:?}");
        assert_eq!(stores[i].get("who"), Some(json!(names[i])), "{name:?}");
    }
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query(&mut server.connection())
        .unwrap();
    assert_eq!(
        keys.len(),
        2 * names.len(),
        "one hash and one counter each: {keys:?}"
    );
}

#[test]
fn a_store_of_100000_keys_opens_whole_and_follows_commits() {
    let server = Server::start();
    let writer = Kv::open(&server.url(), "big").unwrap();
    writer
        .set_many((0..100_000).map(|i| (format!("seen:{i:08}"), 1_763_700_000 + i)))
        .unwrap();
    let reader = Kv::open(&server.url(), "big").unwrap();
    assert_eq!(reader.len(), 100_000);
    assert_eq!(reader.get("seen:00099999"), Some(json!(1_763_799_999)));
    assert!(writer.touch_if_absent("seen:00100000").unwrap());
    assert!(!writer.touch_if_absent("seen:00000007").unwrap());
    wait_for(&reader, "seen:00100000", writer.get("seen:00100000"));
    assert_eq!(reader.len(), 100_001);
}

#[test]
fn a_kv_is_shared_between_threads() {
    let server = Server::start();
    let kv = Arc::new(Kv::open(&server.url(), "threads").unwrap());
    let claims: usize = (0..4)
        .map(|_| {
            let kv = kv.clone();
            thread::spawn(move || {
                (0..50)
                    .filter(|i| kv.touch_if_absent(format!("id:{i}")).unwrap())
                    .count()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .sum();
    assert_eq!(claims, 50);
}

#[test]
fn a_counter_another_program_broke_fails_the_write_before_anything_is_written() {
    let server = Server::start();
    let kv = Kv::open(&server.url(), "broken").unwrap();
    let () = redis::cmd("SET")
        .arg("kv:{broken}:seq")
        .arg("not a number")
        .query(&mut server.connection())
        .unwrap();
    let e = kv.set("k", 1).unwrap_err();
    assert!(e.to_string().contains("not an integer"), "{e}");
    assert_eq!(kv.get("k"), None);
    let stored: Vec<String> = redis::cmd("HKEYS")
        .arg("kv:{broken}")
        .query(&mut server.connection())
        .unwrap();
    assert!(stored.is_empty(), "{stored:?}");
}
