//! `cargo bench -p kv-redis --bench round_trip`: kv-redis beside bare `redis` commands on
//! the same `redis-server` (started here on 127.0.0.1, append-only file synced on every
//! write), on stores of 1,000 and 100,000 keys.
//!
//! Durable set and set-if-absent round trips against a bare HSET (and HSETNX), and a set with
//! a ttl against one without, taking turns in rounds so that all see the same disk and
//! machine; get from the copy against HGET, and on a store where half the keys have expired;
//! the time to open a store. Prints a table and writes `target/bench-redis.json`.
#![allow(clippy::unwrap_used)]

#[path = "../tests/server/mod.rs"]
mod server;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kv_redis::Kv;
use serde_json::{Value, json};
use server::Server;

const SIZES: [usize; 2] = [1_000, 100_000];
const ROUNDS: usize = 20;
const PER_ROUND: usize = 50;
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
        "writes_per_contender": ROUNDS * PER_ROUND,
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

    let mut times: [Vec<Duration>; 5] = Default::default();
    let mut next = size;
    for _ in 0..ROUNDS {
        for (contender, times) in times.iter_mut().enumerate() {
            for _ in 0..PER_ROUND {
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
                    _ => assert!(
                        kv.set_if_absent(k, json!(1_763_700_000 + next as u64))
                            .unwrap()
                    ),
                }
                times.push(started.elapsed());
            }
        }
    }
    let [hset, hsetnx, set, set_with_ttl, set_if_absent] = times.map(percentiles);

    let keys: Vec<String> = (0..1024).map(|i| key(i * size / 1024)).collect();
    let gets_per_s = gets(&kv, &keys);
    let half_expired = half_expired_store(server, size);
    let half_expired_gets_per_s = gets(&half_expired, &keys);
    let mut hget = Vec::new();
    for k in keys.iter().cycle().take(ROUNDS * PER_ROUND) {
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
        row("redis (bare)", "HGET", hget),
        json!({"keys": size, "store": "kv-redis", "call": "get (copy)", "gets_per_s": gets_per_s,
               "us_p50": 1e6 / gets_per_s}),
        json!({"keys": size, "store": "kv-redis", "call": "get (copy, half expired)",
               "gets_per_s": half_expired_gets_per_s, "us_p50": 1e6 / half_expired_gets_per_s}),
        row("kv-redis", "open (subscribe + HGETALL)", open),
    ]
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
            "  {size} keys: set_with_ttl {:.2}x set (target <= 1.1x); get on a store where half the keys have expired {:.2}x get where none has (target <= 1.2x)",
            p50("set_with_ttl") / p50("set"),
            p50("get (copy, half expired)") / p50("get (copy)"),
        );
    }
}
