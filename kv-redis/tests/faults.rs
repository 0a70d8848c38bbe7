//! `redis-server` killed (SIGKILL) in the middle of a run: every call succeeds or fails with
//! `Unavailable`, after a restart every acknowledged write is there, the handle reconnects by
//! itself, and its copy equals what Redis holds.
#![allow(clippy::unwrap_used)]

mod server;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use kv_redis::{ErrorKind, Kv, StorageErrorKind};
use serde_json::{Value, json};
use server::Server;

enum Event {
    Acked,
    Failed,
}

/// What Redis holds for the store `name`, decoded.
fn stored(server: &Server, name: &str) -> (u64, BTreeMap<String, Value>) {
    let mut connection = server.connection();
    let fields: BTreeMap<String, String> = redis::cmd("HGETALL")
        .arg(format!("kv:{{{name}}}"))
        .query(&mut connection)
        .unwrap();
    let seq: Option<u64> = redis::cmd("GET")
        .arg(format!("kv:{{{name}}}:seq"))
        .query(&mut connection)
        .unwrap();
    let values = fields
        .into_iter()
        .map(|(k, v)| (k, serde_json::from_str(&v).unwrap()))
        .collect();
    (seq.unwrap_or(0), values)
}

#[test]
fn redis_killed_mid_run_loses_no_acknowledged_write_and_the_handle_reconnects() {
    let mut server = Server::start();
    let kv = Arc::new(Kv::open(&server.url(), "crash").unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let (events, seen) = mpsc::channel();
    let writer = {
        let (kv, stop) = (kv.clone(), stop.clone());
        thread::spawn(move || {
            let mut acked = Vec::new();
            for i in 0u64.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let key = format!("id:{i}");
                let outcome = if i % 2 == 0 {
                    kv.set_many([(key.as_str(), json!(i)), ("last", json!(i))])
                } else {
                    kv.touch_if_absent(key.as_str())
                        .map(|claimed| assert!(claimed))
                };
                match outcome {
                    Ok(()) => {
                        acked.push(key);
                        events.send(Event::Acked).unwrap();
                    }
                    Err(e) => {
                        assert_eq!(
                            e.kind(),
                            ErrorKind::Storage(StorageErrorKind::Unavailable),
                            "{e}"
                        );
                        events.send(Event::Failed).unwrap();
                        // Pacing while Redis is down, not an assertion.
                        thread::sleep(Duration::from_millis(5));
                    }
                }
            }
            acked
        })
    };
    let wait_for = |event: fn(&Event) -> bool, count: usize| {
        let mut n = 0;
        while n < count {
            if event(&seen.recv().unwrap()) {
                n += 1;
            }
        }
    };
    wait_for(|e| matches!(e, Event::Acked), 300);
    server.kill();
    wait_for(|e| matches!(e, Event::Failed), 3);
    server.restart();
    wait_for(|e| matches!(e, Event::Acked), 100);
    stop.store(true, Ordering::Relaxed);
    let acked = writer.join().unwrap();

    let (seq, values) = stored(&server, "crash");
    for key in &acked {
        assert!(
            values.contains_key(key),
            "acknowledged {key} is missing after the restart"
        );
    }
    // The copy follows Redis again: once it reflects the last commit, it equals Redis.
    let mut now = kv.seq();
    while now < seq {
        let next = kv.wait_past(now, Duration::from_secs(30));
        assert!(
            next > now,
            "the copy stopped following at {now}, Redis is at {seq}"
        );
        now = next;
    }
    let copy: BTreeMap<String, Value> = kv.get_all().into_iter().collect();
    assert_eq!(copy, values);
    let reopened: BTreeMap<String, Value> = Kv::open(&server.url(), "crash")
        .unwrap()
        .get_all()
        .into_iter()
        .collect();
    assert_eq!(reopened, values);
}
