//! `cargo bench -p kv-redis --bench round_trip`: kv-redis beside bare `redis` commands on
//! the same `redis-server` (started here on 127.0.0.1, append-only file synced on every
//! write), on stores of 1,000 and 100,000 keys.
//!
//! Durable set and set-if-absent round trips against a bare HSET (and HSETNX), and a set with
//! a ttl against one without, taking turns of two calls (the second timed) so that all see
//! the same disk and machine; beside them the floor of the design: kv-redis's commit script
//! sent bare (the arguments a `set` sends, one subscriber on its channel, as every open store
//! has), without kv-redis's client. Get from the copy against HGET, and on a store where half
//! the keys have expired; the time to open a store. Prints a table and writes `target/bench-redis.json`.
#![allow(clippy::unwrap_used)]

#[path = "../tests/server/mod.rs"]
mod server;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kv_redis::Kv;
use serde_json::{Value, json};
use server::Server;

const SIZES: [usize; 2] = [1_000, 100_000];
/// Each round gives every contender a turn of two calls, the second timed: a slow moment of
/// the disk or the machine falls on all of them alike.
const ROUNDS: usize = 1000;
const GETS: usize = 2_000_000;
const OPENS: usize = 5;
/// The ttl of the set measured against a set without one: long enough that nothing expires
/// during the run (so no write removes expired keys).
const TTL: Duration = Duration::from_secs(86_400);

fn key(i: usize) -> String {
    format!("seen:{i:08}")
}

/// The latencies' median and 99th percentile, in microseconds.
fn percentiles(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort_unstable();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e6;
    (at(0.5), at(0.99))
}

fn main() {
    let server = Server::start();
    let mut results = Vec::new();
    for size in SIZES {
        results.extend(run(&server, size));
    }
    print_table(&results);
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&target).unwrap();
    let out = target.join("bench-redis.json");
    let report = json!({
        "benchmark": "kv-redis round trips",
        "server": "redis-server on 127.0.0.1, appendonly yes, appendfsync always",
        "writes_per_contender": 2 * ROUNDS,
        "timed_per_contender": ROUNDS,
        "gets_per_run": GETS,
        "results": results,
    });
    std::fs::write(&out, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    println!("\nwritten to {}", out.display());
}

fn run(server: &Server, size: usize) -> Vec<Value> {
    let name = format!("bench-{size}");
    let bare_hash = format!("kv:{{bare-{size}}}");
    let value = |i: usize| json!(1_763_700_000 + i as u64).to_string();
    let setup = Kv::open(&server.url(), &name).unwrap();
    setup
        .set_many((0..size).map(|i| (key(i), json!(1_763_700_000 + i as u64))))
        .unwrap();
    drop(setup);
    let mut connection = server.connection();
    for chunk in (0..size).collect::<Vec<_>>().chunks(10_000) {
        let mut cmd = redis::cmd("HSET");
        cmd.arg(&bare_hash);
        for &i in chunk {
            cmd.arg(key(i)).arg(value(i));
        }
        let _: i64 = cmd.query(&mut connection).unwrap();
    }

    let mut opens = Vec::new();
    for _ in 0..OPENS {
        let started = Instant::now();
        let kv = Kv::open(&server.url(), &name).unwrap();
        opens.push(started.elapsed());
        assert_eq!(kv.len(), size);
    }
    let kv = Kv::open(&server.url(), &name).unwrap();

    let floor = Floor::new(server, size);

    let mut times: [Vec<Duration>; 6] = Default::default();
    let mut next = size;
    for _ in 0..ROUNDS {
        for (contender, times) in times.iter_mut().enumerate() {
            // Work a call leaves behind (the server writing its announcement to subscribers,
            // a listener decoding it) slows the next call: each contender's first call of its
            // turn pays the previous contender's, and only its second, which pays its own, is
            // timed.
            for timed in [false, true] {
                let (k, v) = (key(next), value(next));
                next += 1;
                let started = Instant::now();
                match contender {
                    0 => {
                        let _: i64 = redis::cmd("HSET")
                            .arg(&bare_hash)
                            .arg(&k)
                            .arg(&v)
                            .query(&mut connection)
                            .unwrap();
                    }
                    1 => {
                        let _: i64 = redis::cmd("HSETNX")
                            .arg(&bare_hash)
                            .arg(&k)
                            .arg(&v)
                            .query(&mut connection)
                            .unwrap();
                    }
                    2 => kv.set(k, json!(1_763_700_000 + next as u64)).unwrap(),
                    3 => kv
                        .set_with_ttl(k, json!(1_763_700_000 + next as u64), TTL)
                        .unwrap(),
                    4 => floor.commit(&mut connection, &k, &v),
                    _ => assert!(
                        kv.set_if_absent(k, json!(1_763_700_000 + next as u64))
                            .unwrap()
                    ),
                }
                if timed {
                    times.push(started.elapsed());
                }
            }
        }
    }
    drop(floor);
    let [hset, hsetnx, set, set_with_ttl, floor, set_if_absent] = times.map(percentiles);

    let keys: Vec<String> = (0..1024).map(|i| key(i * size / 1024)).collect();
    let gets_per_s = gets(&kv, &keys);
    let half_expired = half_expired_store(server, size);
    let half_expired_gets_per_s = gets(&half_expired, &keys);
    let mut hget = Vec::new();
    for k in keys.iter().cycle().take(ROUNDS) {
        let started = Instant::now();
        let _: Option<String> = redis::cmd("HGET")
            .arg(&bare_hash)
            .arg(k)
            .query(&mut connection)
            .unwrap();
        hget.push(started.elapsed());
    }
    let hget = percentiles(hget);
    let open = percentiles(opens);

    let row = |store: &str, op: &str, (p50, p99): (f64, f64)| json!({"keys": size, "store": store, "call": op, "us_p50": p50, "us_p99": p99});
    vec![
        row("redis (bare)", "HSET", hset),
        row("redis (bare)", "HSETNX", hsetnx),
        row("kv-redis", "set", set),
        row("kv-redis", "set_with_ttl", set_with_ttl),
        row("kv-redis", "set_if_absent", set_if_absent),
        row("redis (bare)", FLOOR, floor),
        row("redis (bare)", "HGET", hget),
        json!({"keys": size, "store": "kv-redis", "call": "get (copy)", "gets_per_s": gets_per_s,
               "us_p50": 1e6 / gets_per_s}),
        json!({"keys": size, "store": "kv-redis", "call": "get (copy, half expired)",
               "gets_per_s": half_expired_gets_per_s, "us_p50": 1e6 / half_expired_gets_per_s}),
        row("kv-redis", "open (subscribe + HGETALL)", open),
    ]
}

/// The floor row's call.
const FLOOR: &str = "EVALSHA commit.lua (a set's arguments, 1 subscriber)";

/// kv-redis's commit script on a bare hash of the same size, called with the arguments a `set`
/// of one new key sends (no reads, one put, the announcement), while one connection is
/// subscribed to its channel and receives every announcement, as each open store's listener
/// does: what the design costs on this server without kv-redis's client (its copy, its
/// listener's decoding).
struct Floor {
    script: redis::Script,
    hash: String,
    seq: String,
    stop: Arc<AtomicBool>,
    subscriber: Option<std::thread::JoinHandle<()>>,
}

impl Floor {
    fn new(server: &Server, size: usize) -> Self {
        let hash = format!("kv:{{floor-{size}}}");
        let mut connection = server.connection();
        for chunk in (0..size).collect::<Vec<_>>().chunks(10_000) {
            let mut cmd = redis::cmd("HSET");
            cmd.arg(&hash);
            for &i in chunk {
                cmd.arg(key(i))
                    .arg(json!(1_763_700_000 + i as u64).to_string());
            }
            let _: i64 = cmd.query(&mut connection).unwrap();
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (ready, subscribed) = std::sync::mpsc::channel();
        let subscriber = std::thread::spawn({
            let (url, channel, stop) = (server.url(), hash.clone(), stop.clone());
            move || {
                let mut connection = redis::Client::open(url).unwrap().get_connection().unwrap();
                let mut pubsub = connection.as_pubsub();
                pubsub.subscribe(&channel).unwrap();
                pubsub
                    .set_read_timeout(Some(Duration::from_millis(100)))
                    .unwrap();
                ready.send(()).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(message) = pubsub.get_message() {
                        black_box(message.get_payload_bytes());
                    }
                }
            }
        });
        subscribed.recv().unwrap();
        Self {
            script: redis::Script::new(include_str!("../src/commit.lua")),
            seq: format!("{hash}:seq"),
            hash,
            stop,
            subscriber: Some(subscriber),
        }
    }

    /// One commit of `key` = `value` (the value's JSON text).
    fn commit(&self, connection: &mut redis::Connection, key: &str, value: &str) {
        let tail = format!(
            ",false,{},{}]",
            serde_json::to_string(key).unwrap(),
            serde_json::to_string(value).unwrap()
        );
        let reply: Vec<i64> = self
            .script
            .key(&self.hash)
            .key(&self.seq)
            .arg(&self.hash)
            .arg("0")
            .arg(0)
            .arg(1)
            .arg(key)
            .arg("p")
            .arg(value)
            .arg(tail)
            .invoke(connection)
            .unwrap();
        assert_eq!(reply[0], 1, "the floor's commit was not made");
    }
}

impl Drop for Floor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(subscriber) = self.subscriber.take() {
            subscriber.join().unwrap();
        }
    }
}

/// Gets per second from `kv`'s copy, cycling through `keys`.
fn gets(kv: &Kv, keys: &[String]) -> f64 {
    let started = Instant::now();
    for i in 0..GETS {
        black_box(kv.get(&keys[i % keys.len()]));
    }
    GETS as f64 / started.elapsed().as_secs_f64()
}

/// A store of `size` keys in which every other key has expired (by the system clock).
fn half_expired_store(server: &Server, size: usize) -> Kv {
    let kv = Kv::open(&server.url(), &format!("bench-{size}-half-expired")).unwrap();
    let value = |i: usize| json!(1_763_700_000 + i as u64);
    kv.set_many((0..size).step_by(2).map(|i| (key(i), value(i))))
        .unwrap();
    kv.set_many_with_ttl(
        (1..size).step_by(2).map(|i| (key(i), value(i))),
        Duration::from_millis(1),
    )
    .unwrap();
    // Expiry is not a timing under measure: wait until the system clock passed it.
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(kv.len(), size.div_ceil(2));
    kv
}

fn print_table(results: &[Value]) {
    println!("\n| keys | store | call | p50 | p99 |");
    println!("|---:|---|---|---:|---:|");
    for r in results {
        let p99 = r["us_p99"]
            .as_f64()
            .map_or("—".to_owned(), |v| format!("{v:.0} µs"));
        let p50 = match r["gets_per_s"].as_f64() {
            Some(rate) => format!("{:.1} M/s", rate / 1e6),
            None => format!("{:.0} µs", r["us_p50"].as_f64().unwrap()),
        };
        println!(
            "| {} | {} | {} | {p50} | {p99} |",
            r["keys"],
            r["store"].as_str().unwrap(),
            r["call"].as_str().unwrap()
        );
    }
    for size in SIZES {
        let p50 = |call: &str| {
            results
                .iter()
                .find(|r| r["keys"] == size && r["call"] == call)
                .and_then(|r| r["us_p50"].as_f64())
                .unwrap()
        };
        println!(
            "  {size} keys: set {:.2}x HSET, set_if_absent {:.2}x HSET (target <= 1.3x); get from the copy {:.0}x faster than HGET",
            p50("set") / p50("HSET"),
            p50("set_if_absent") / p50("HSET"),
            p50("HGET") / p50("get (copy)"),
        );
        println!(
            "  {size} keys: the floor (commit script sent bare, one subscriber) {:.2}x HSET; set {:.2}x the floor (kv-redis's client: deciding, its copy, its listener)",
            p50(FLOOR) / p50("HSET"),
            p50("set") / p50(FLOOR),
        );
        println!(
            "  {size} keys: set_with_ttl {:.2}x set (target <= 1.1x); get on a store where half the keys have expired {:.2}x get where none has (target <= 1.2x)",
            p50("set_with_ttl") / p50("set"),
            p50("get (copy, half expired)") / p50("get (copy)"),
        );
    }
}
