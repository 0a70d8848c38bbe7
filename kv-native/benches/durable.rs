//! `cargo bench -p kv-native --all-features --bench durable`: this crate beside pickledb-rs
//! (AutoDump), rustbreak (PathDatabase, a save per write) and the floor (write, fsync, rename,
//! fsync of the directory of the same bytes), on stores of 1,000, 100,000 and 1,000,000 keys;
//! then 8 threads (and, with feature `tokio`, 8 tasks) sharing one store against one, beside
//! the floor under them (bare appends and `fdatasync`s of the same lines, no store: one
//! thread against 8 sharing a group commit, and against 8 syncing each alone), a
//! compaction's cost, how fast a journal replays at open, and what expiry costs: a durable set
//! with a ttl against one without, and `get` on a store where half the keys have expired
//! against one where none has. `KV_BENCH_ONLY=expiry` runs the expiry rows alone,
//! `KV_BENCH_ONLY=concurrency` the threads and tasks sharing one store, and the floor.
//!
//! Each contender is loaded and read in a child process of its own, so that its peak memory
//! is its own; durable sets are measured in the parent, the contenders taking turns.
//! Prints a table and writes `target/bench-native.json`. `KV_BENCH_DIR` picks the directory
//! the stores live in (default: the system's temporary directory; it should be a real disk).
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kv_native::Kv;
use pickledb::{PickleDb, PickleDbDumpPolicy, SerializationMethod};
use rustbreak::PathDatabase;
use rustbreak::deser::Ron;
use serde_json::{Value, json};

const CHILD: &str = "KV_BENCH_CHILD";
const SIZES: [usize; 3] = [1_000, 100_000, 1_000_000];
const CONTENDERS: [&str; 4] = ["kv-native", "pickledb", "rustbreak", "floor"];
const GETS: usize = 2_000_000;
const LOADS: usize = 5;

/// Values as `u64`, not `Value`: kv-native builds serde_json with `arbitrary_precision`, under
/// which a `Value`'s numbers go through RON as a private struct that RON does not read back.
type RustbreakDb = PathDatabase<HashMap<String, u64>, Ron>;

/// Durable sets per run: fewer on the large stores, where the others rewrite megabytes per
/// set. At 1,000 keys enough that kv-native's journal is compacted twice among them.
fn sets_for(size: usize) -> usize {
    if size <= 1_000 {
        2_000
    } else if size <= 100_000 {
        25
    } else {
        12
    }
}

/// kv-native's durable sets measured alone, back to back, at each size.
const SETS_ALONE: usize = 300;

/// Durable sets per thread or task in the concurrency runs, and how many share the store.
const CONCURRENT_SETS: usize = 400;
const WRITERS: usize = 8;
/// Journal records replayed at open, in the replay run.
const REPLAYED: usize = 1_000_000;

/// The stored data: seen-ID records, a key and the unix time it was first seen.
fn entries(size: usize) -> impl Iterator<Item = (String, Value)> {
    (0..size).map(|i| (key(i), json!(1_763_700_000 + i as u64)))
}

fn key(i: usize) -> String {
    format!("seen:{i:08}")
}

fn main() {
    match std::env::var(CHILD) {
        Ok(spec) => child(&spec),
        Err(_) => parent(),
    }
}

fn file_of(dir: &Path, contender: &str, size: usize) -> PathBuf {
    dir.join(format!("{contender}-{size}.db"))
}

/// Writes each contender's store file, in its own format, outside the measured children.
fn prepare(dir: &Path, size: usize) {
    let kv = Kv::options()
        .limits(kv_native::Limits::NONE)
        .open(file_of(dir, "kv-native", size))
        .unwrap();
    kv.set_many(entries(size)).unwrap();
    kv.compact().unwrap();
    fs::copy(kv.path(), file_of(dir, "floor", size)).unwrap();

    let path = file_of(dir, "pickledb", size);
    let mut db = PickleDb::new(
        &path,
        PickleDbDumpPolicy::DumpUponRequest,
        SerializationMethod::Json,
    );
    for (k, v) in entries(size) {
        db.set(&k, &v).unwrap();
    }
    db.dump().unwrap();

    let path = file_of(dir, "rustbreak", size);
    let numbers = entries(size).map(|(k, v)| (k, v.as_u64().unwrap()));
    let db = RustbreakDb::create_at_path(path, numbers.collect()).unwrap();
    db.save().unwrap();
}

fn parent() {
    let dir = std::env::var_os("KV_BENCH_DIR").map_or_else(
        || tempfile::tempdir().unwrap(),
        |d| tempfile::tempdir_in(d).unwrap(),
    );
    match std::env::var("KV_BENCH_ONLY").as_deref() {
        Ok("expiry") => return print_expiry(&expiry(dir.path())),
        Ok("concurrency") => return print_concurrency(&concurrency(dir.path())),
        _ => {}
    }
    let me = std::env::current_exe().unwrap();
    let mut results = Vec::new();
    for size in SIZES {
        prepare(dir.path(), size);
        for contender in CONTENDERS {
            let out = Command::new(&me)
                .env(
                    CHILD,
                    format!("{contender}:{size}:{}", dir.path().display()),
                )
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{contender} at {size}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let result: Value = serde_json::from_slice(&out.stdout).unwrap();
            results.push(result);
        }
        let (mut latencies, compaction_ms) = interleaved_sets(dir.path(), size);
        let (alone_p50, alone_p99, alone_max) = latencies.pop().unwrap();
        for (result, (p50, p99, max)) in results.iter_mut().rev().take(4).rev().zip(latencies) {
            result["set_ms_p50"] = json!(p50);
            result["set_ms_p99"] = json!(p99);
            result["set_ms_max"] = json!(max);
        }
        let kv = results.iter_mut().rev().nth(3).unwrap();
        kv["compaction_ms"] = json!(compaction_ms);
        kv["alone_set_ms"] = json!({"p50": alone_p50, "p99": alone_p99, "max": alone_max});
        for contender in CONTENDERS {
            let _ = fs::remove_file(file_of(dir.path(), contender, size));
        }
    }
    let concurrency = concurrency(dir.path());
    let replay = replay(dir.path(), &me);
    let expiry = expiry(dir.path());
    print_table(&results);
    print_extra(&results, &concurrency, &replay);
    print_expiry(&expiry);
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    fs::create_dir_all(&target).unwrap();
    let out = target.join("bench-native.json");
    let report = json!({
        "benchmark": "kv-native durable",
        "sets_per_run": {
            "1000": sets_for(1_000),
            "100000": sets_for(100_000),
            "1000000": sets_for(1_000_000),
        },
        "gets_per_run": GETS,
        "loads_per_run": LOADS,
        "results": results,
        "concurrency": concurrency,
        "replay": replay,
        "expiry": expiry,
    });
    fs::write(&out, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    println!("\nwritten to {}", out.display());
}

fn print_table(results: &[Value]) {
    println!(
        "\n{:<10} {:>9} {:>6} {:>11} {:>11} {:>11} {:>12} {:>10} {:>10} {:>10} {:>10}",
        "store",
        "keys",
        "fsync",
        "set p50 ms",
        "set p99 ms",
        "set max ms",
        "gets/s",
        "load ms",
        "peak MiB",
        "rss MiB",
        "file KiB"
    );
    for r in results {
        let mib = |k: &str| r[k].as_f64().unwrap_or(0.0) / 1024.0 / 1024.0;
        let gets = r["gets_per_second"]
            .as_f64()
            .map_or_else(|| "-".to_owned(), |g| format!("{:.1}M", g / 1e6));
        println!(
            "{:<10} {:>9} {:>6} {:>11.3} {:>11.3} {:>11.3} {:>12} {:>10.2} {:>10.1} {:>10.1} {:>10.1}",
            r["store"].as_str().unwrap_or(""),
            r["keys"],
            r["fsync"].as_str().unwrap_or(""),
            r["set_ms_p50"].as_f64().unwrap_or(0.0),
            r["set_ms_p99"].as_f64().unwrap_or(0.0),
            r["set_ms_max"].as_f64().unwrap_or(0.0),
            gets,
            r["load_ms"].as_f64().unwrap_or(0.0),
            mib("peak_bytes"),
            mib("resident_bytes"),
            r["file_bytes"].as_f64().unwrap_or(0.0) / 1024.0,
        );
    }
}

fn find(results: &[Value], store: &str, keys: u64) -> Value {
    results
        .iter()
        .find(|r| r["store"] == store && r["keys"] == keys)
        .unwrap()
        .clone()
}

/// The rows of threads and tasks sharing one store, and the floor's, each against one writer.
fn print_concurrency(concurrency: &Value) {
    println!(
        "durable sets per second on one store of 1,000 keys, {CONCURRENT_SETS} sets per writer:"
    );
    for row in concurrency.as_array().unwrap() {
        let (one, many) = (row["one"].as_f64().unwrap(), row["many"].as_f64().unwrap());
        let rounds = row["ratios"].as_array().map_or_else(String::new, |ratios| {
            let ratios: Vec<f64> = ratios.iter().map(|r| r.as_f64().unwrap()).collect();
            let (low, high) = ratios
                .iter()
                .fold((f64::MAX, f64::MIN), |(l, h), &r| (l.min(r), h.max(r)));
            format!(" (rounds {low:.2}-{high:.2}x)")
        });
        println!(
            "  {}: 1 -> {one:.0}/s, {WRITERS} -> {many:.0}/s: {:.2}x{rounds}{}\n    {}",
            row["row"].as_str().unwrap(),
            many / one,
            if row["floor"] == true {
                ""
            } else {
                " (target >= 5x)"
            },
            row["condition"].as_str().unwrap()
        );
    }
    let rows = concurrency.as_array().unwrap();
    let rate = |name: &str, k: &str| {
        rows.iter()
            .find(|r| r["row"] == name)
            .map(|r| r[k].as_f64().unwrap())
    };
    let floor = "floor: bare append + fdatasync, group commit, leader gathers";
    for name in ["threads on one Kv", "tokio tasks on one AsyncKv"] {
        if let (Some(one), Some(many)) = (rate(name, "one"), rate(name, "many")) {
            println!(
                "  {name} against the floor's group commit: 1 writer {:.2}x, {WRITERS} writers {:.2}x",
                one / rate(floor, "one").unwrap(),
                many / rate(floor, "many").unwrap()
            );
        }
    }
}

fn print_extra(results: &[Value], concurrency: &Value, replay: &Value) {
    let ratio = |a: &Value, b: &Value, k: &str| a[k].as_f64().unwrap() / b[k].as_f64().unwrap();
    let per_file = |r: &Value, k: &str| r[k].as_f64().unwrap() / r["file_bytes"].as_f64().unwrap();
    let (kv1, floor1) = (
        find(results, "kv-native", 1_000),
        find(results, "floor", 1_000),
    );
    let kv100 = find(results, "kv-native", 100_000);
    let (kv1m, floor1m) = (
        find(results, "kv-native", 1_000_000),
        find(results, "floor", 1_000_000),
    );
    println!(
        "\ncompaction (the most one set waits for): {}",
        [&kv1, &kv100, &kv1m]
            .iter()
            .map(|r| format!(
                "{:.1} ms at {} keys",
                r["compaction_ms"].as_f64().unwrap(),
                r["keys"]
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    print_concurrency(concurrency);
    println!(
        "journal replay at open: {} records in {:.1} ms: {:.2} M records/s (target >= 1 M/s)",
        replay["records"],
        replay["open_ms"].as_f64().unwrap(),
        replay["records_per_second"].as_f64().unwrap() / 1e6
    );
    println!(
        "kv-native durable sets alone, {SETS_ALONE} back to back (p50 / p99 / max ms): {}",
        [&kv1, &kv100, &kv1m]
            .iter()
            .map(|r| {
                let a = &r["alone_set_ms"];
                format!(
                    "{:.3} / {:.3} / {:.3} at {} keys",
                    a["p50"].as_f64().unwrap(),
                    a["p99"].as_f64().unwrap(),
                    a["max"].as_f64().unwrap(),
                    r["keys"]
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    let alone = |r: &Value| r["alone_set_ms"]["p50"].as_f64().unwrap();
    println!(
        "  alone: p50 at 100,000 keys {:.2}x and at 1,000,000 keys {:.2}x its 1,000-key cost",
        alone(&kv100) / alone(&kv1),
        alone(&kv1m) / alone(&kv1)
    );
    println!("\ntargets:");
    println!(
        "  durable set p50 at 100,000 keys {:.2}x and at 1,000,000 keys {:.2}x its 1,000-key \
         cost (target <= 1.5x); vs the 1,000-key floor {:.2}x and {:.2}x (target <= 1x)",
        ratio(&kv100, &kv1, "set_ms_p50"),
        ratio(&kv1m, &kv1, "set_ms_p50"),
        ratio(&kv100, &floor1, "set_ms_p50"),
        ratio(&kv1m, &floor1, "set_ms_p50"),
    );
    println!(
        "  durable set at 1,000 keys vs floor (p50): {:.2}x",
        ratio(&kv1, &floor1, "set_ms_p50")
    );
    println!(
        "  gets per second: {:.1}M at 1,000 keys, {:.1}M at 1,000,000 (target >= 10M)",
        kv1["gets_per_second"].as_f64().unwrap() / 1e6,
        kv1m["gets_per_second"].as_f64().unwrap() / 1e6
    );
    println!(
        "  open of 1,000,000 keys vs serde_json parse of the same file: {:.2}x (target <= 2x)",
        ratio(&kv1m, &floor1m, "load_ms")
    );
    println!(
        "  resident memory / file size at 1,000,000 keys: {:.2}x, peak {:.2}x (target < 3x)",
        per_file(&kv1m, "resident_bytes"),
        per_file(&kv1m, "peak_bytes")
    );
    println!(
        "fsync: kv-native appends to its journal and fdatasyncs it (compactions: file + dir); \
         the floor syncs the file and the directory; rustbreak syncs the file but not the \
         directory; pickledb syncs neither."
    );
}

/// Resident and peak resident memory of this process, in bytes (Linux; 0 elsewhere).
fn memory() -> (u64, u64) {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The latencies' median, 99th percentile and maximum, in milliseconds.
fn percentiles(mut times: Vec<Duration>) -> (f64, f64, f64) {
    times.sort_unstable();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.99), at(1.0))
}

/// One contender. Measured alone in a child process: its memory after a first load, its load
/// time, gets per second. Its durable sets are measured in turns with the others.
trait Contender: Sized {
    const FSYNC: &'static str;
    fn load(path: &Path) -> Self;
    fn get(&self, key: &str) -> Option<Value>;
    fn durable_set(&mut self, key: &str, value: Value);
}

impl Contender for Kv {
    const FSYNC: &'static str = "journal";
    fn load(path: &Path) -> Self {
        Kv::options()
            .limits(kv_native::Limits::NONE)
            .open(path)
            .unwrap()
    }
    fn get(&self, key: &str) -> Option<Value> {
        Kv::get(self, key)
    }
    fn durable_set(&mut self, key: &str, value: Value) {
        self.set(key, value).unwrap();
    }
}

impl Contender for PickleDb {
    const FSYNC: &'static str = "none";
    fn load(path: &Path) -> Self {
        PickleDb::load_json(path, PickleDbDumpPolicy::AutoDump).unwrap()
    }
    fn get(&self, key: &str) -> Option<Value> {
        PickleDb::get(self, key)
    }
    fn durable_set(&mut self, key: &str, value: Value) {
        self.set(key, &value).unwrap();
    }
}

struct Rustbreak(RustbreakDb);

impl Contender for Rustbreak {
    const FSYNC: &'static str = "file";
    fn load(path: &Path) -> Self {
        Self(RustbreakDb::load_from_path(path.to_path_buf()).unwrap())
    }
    fn get(&self, key: &str) -> Option<Value> {
        self.0
            .read(|data| data.get(key).map(|&n| Value::from(n)))
            .unwrap()
    }
    fn durable_set(&mut self, key: &str, value: Value) {
        self.0
            .write(|data| {
                data.insert(key.to_owned(), value.as_u64().unwrap());
            })
            .unwrap();
        self.0.save().unwrap();
    }
}

/// The physical floor: the same bytes replaced durably, without a store around them. Its
/// load is a plain `serde_json` parse of the file; it has no gets.
struct Floor {
    path: PathBuf,
    bytes: Vec<u8>,
    _parsed: Value,
}

impl Contender for Floor {
    const FSYNC: &'static str = "f+dir";
    fn load(path: &Path) -> Self {
        let bytes = fs::read(path).unwrap();
        let parsed = serde_json::from_slice(&bytes).unwrap();
        Self {
            path: path.to_path_buf(),
            bytes,
            _parsed: parsed,
        }
    }
    fn get(&self, _: &str) -> Option<Value> {
        None
    }
    fn durable_set(&mut self, _: &str, _: Value) {
        let temp = self.path.with_extension("floor.tmp");
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .unwrap();
        file.write_all(&self.bytes).unwrap();
        file.sync_all().unwrap();
        drop(file);
        fs::rename(&temp, &self.path).unwrap();
        File::open(self.path.parent().unwrap())
            .unwrap()
            .sync_all()
            .unwrap();
    }
}

/// Durable-set latencies of the four contenders in `CONTENDERS` order, measured in turns (one
/// set each, the starting contender rotating), so that all of them meet the same disk: another
/// process's writeback slows every contender alike instead of whichever ran at that moment,
/// and `sync` before each set, so that none pays for another's unsynced writes. Then the time of one explicit compaction of kv-native's store.
fn interleaved_sets(dir: &Path, size: usize) -> (Vec<(f64, f64, f64)>, f64) {
    let mut kv = <Kv as Contender>::load(&file_of(dir, "kv-native", size));
    let mut pickle = <PickleDb as Contender>::load(&file_of(dir, "pickledb", size));
    let mut rust = Rustbreak::load(&file_of(dir, "rustbreak", size));
    let mut floor = Floor::load(&file_of(dir, "floor", size));
    let sets = sets_for(size);
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(sets); CONTENDERS.len()];
    for i in 0..sets {
        let key = key(i * 31 % size);
        for turn in 0..CONTENDERS.len() {
            let which = (i + turn) % CONTENDERS.len();
            let value = json!(1_800_000_000 + i as u64);
            // Outside the timing: no contender's set pays for another's unsynced writes
            // (ext4 flushes them with the next fsync).
            Command::new("sync").status().unwrap();
            let start = Instant::now();
            match which {
                0 => kv.durable_set(&key, value),
                1 => pickle.durable_set(&key, value),
                2 => rust.durable_set(&key, value),
                _ => floor.durable_set(&key, value),
            }
            times[which].push(start.elapsed());
        }
    }
    let start = Instant::now();
    kv.compact().unwrap();
    let compaction_ms = start.elapsed().as_secs_f64() * 1e3;
    drop((pickle, rust, floor));
    // kv-native alone, back to back: its own cost at this size, with no other contender's
    // writes on the disk.
    let alone: Vec<Duration> = (0..SETS_ALONE)
        .map(|i| {
            let start = Instant::now();
            kv.durable_set(&key(i * 17 % size), json!(1_900_000_000 + i as u64));
            start.elapsed()
        })
        .collect();
    times.push(alone);
    (times.into_iter().map(percentiles).collect(), compaction_ms)
}

/// Durable sets per second of one writer and of `WRITERS` sharing one store: threads on one
/// `Kv`, the floor under them (no store, see [`floor`]) and (feature `tokio`) tasks on one
/// `AsyncKv`. Each row: its name, what it measures, and the two rates.
fn concurrency(dir: &Path) -> Value {
    let path = dir.join("concurrent.db");
    let kv = std::sync::Arc::new(Kv::open(&path).unwrap());
    kv.set_many(entries(1_000)).unwrap();
    let threads = |writers: usize| {
        let start = Instant::now();
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                let kv = std::sync::Arc::clone(&kv);
                std::thread::spawn(move || {
                    for i in 0..CONCURRENT_SETS {
                        kv.set(format!("w{w}:{i}"), i).unwrap();
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        (writers * CONCURRENT_SETS) as f64 / start.elapsed().as_secs_f64()
    };
    let measured: Vec<(f64, f64)> = (0..ROUNDS_OF_WRITERS)
        .map(|_| (threads(1), threads(WRITERS)))
        .collect();
    let (one, many, ratios) = summary(&measured);
    let mut rows = vec![json!({
        "row": "threads on one Kv",
        "condition": format!(
            "Kv::set on one store of 1,000 keys: one journal record and fdatasync per group, a \
             compaction when the journal outgrows the file; medians of {ROUNDS_OF_WRITERS} \
             rounds of 1 then {WRITERS} writers"
        ),
        "one": one,
        "many": many,
        "ratios": ratios,
    })];
    drop(kv);
    rows.extend(floor(dir));
    #[cfg(feature = "tokio")]
    rows.push(tasks(&path));
    let _ = fs::remove_file(&path);
    Value::Array(rows)
}

/// How many times the rows of one writer and of `WRITERS` writers on a store alternate: the
/// disk's speed drifts over seconds, and a ratio of two phases measured once each moves with
/// it.
const ROUNDS_OF_WRITERS: usize = 3;

/// Rounds of (one writer's rate, `WRITERS` writers' rate): the median of each, and each
/// round's ratio.
fn summary(measured: &[(f64, f64)]) -> (f64, f64, Vec<f64>) {
    (
        median(measured.iter().map(|m| m.0).collect()),
        median(measured.iter().map(|m| m.1).collect()),
        measured.iter().map(|(one, many)| many / one).collect(),
    )
}

/// The median of `rates` (the upper one of an even count).
fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

/// The floor under group commit on this disk, in the same directory: no store, only one file
/// opened for append and records of a set's journal line (`CRC [["set","w3:123",123]]`). One
/// thread writes and `fdatasync`s each record; then `WRITERS` threads share a group commit,
/// without and then with the leader waiting, briefly, for the writers of the last group to
/// queue again (as kv-native's does); then `WRITERS` threads each write and sync their own
/// records, ungrouped (what the disk itself gives under concurrency); then one thread writes `WRITERS` records per write
/// and sync (every group full, no hand-off between threads: the ceiling of any group commit).
///
/// The group commit is written here by hand rather than taken from the crate: it is the
/// simplest correct shape (a `Mutex` over the queued bytes, a `Condvar`; a caller whose
/// record is not yet durable waits while a leader writes, or leads: it takes everything
/// queued, one write, one `fdatasync`, wakes the others), so it has none of kv-native's own
/// costs (deciding against memory, the record's JSON, outcomes per caller, compaction).
/// What kv-native's rows lose against it is the store's.
fn floor(dir: &Path) -> Vec<Value> {
    use std::sync::{Arc, Condvar, Mutex};

    #[derive(Default)]
    struct Queue {
        /// Records waiting for the next group, in ticket order, and their writers (bit `w`).
        bytes: Vec<u8>,
        writers: u64,
        /// The writers of the last group and of the one before it; those of the last that
        /// wrote in one of the two before too and have not queued since; whether a leader
        /// waits for them; how long the last write and sync took.
        last_group: u64,
        earlier_group: u64,
        awaited: u64,
        gathering: bool,
        last_write: Duration,
        /// The last ticket handed out, and the last one durable (tickets start at 1).
        last: u64,
        durable: u64,
        writing: bool,
        groups: u64,
    }
    struct Shared {
        file: File,
        queue: Mutex<Queue>,
        done: Condvar,
        arrived: Condvar,
    }
    impl Shared {
        /// Appends writer `w`'s `record` durably, in a group. With `gather`, a new leader
        /// first waits while an awaited writer of the last group has nothing queued, for at
        /// most a quarter of the last write's time (500 µs at most), woken by the last one
        /// back, as kv-native's does.
        fn commit(&self, w: usize, record: &[u8], gather: bool) {
            let mut q = self.queue.lock().unwrap();
            q.bytes.extend_from_slice(record);
            q.writers |= 1 << w;
            q.last += 1;
            let was_awaited = q.awaited & (1 << w) != 0;
            q.awaited &= !(1 << w);
            if was_awaited && q.gathering && q.awaited == 0 {
                self.arrived.notify_one();
            }
            let ticket = q.last;
            while q.durable < ticket {
                if q.writing {
                    q = self.done.wait(q).unwrap();
                    continue;
                }
                q.writing = true;
                if gather {
                    let limit = (q.last_write / 4).min(Duration::from_micros(500));
                    let deadline = Instant::now() + limit;
                    while q.awaited != 0 {
                        let left = deadline.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            break;
                        }
                        q.gathering = true;
                        q = self.arrived.wait_timeout(q, left).unwrap().0;
                        q.gathering = false;
                    }
                }
                let (bytes, upto) = (std::mem::take(&mut q.bytes), q.last);
                let group = std::mem::take(&mut q.writers);
                q.awaited = group & (q.last_group | q.earlier_group);
                q.earlier_group = q.last_group;
                q.last_group = group;
                drop(q);
                let started = Instant::now();
                (&self.file).write_all(&bytes).unwrap();
                self.file.sync_data().unwrap();
                let took = started.elapsed();
                q = self.queue.lock().unwrap();
                q.last_write = took;
                q.durable = upto;
                q.writing = false;
                q.groups += 1;
                self.done.notify_all();
            }
        }
    }

    /// The journal line of the set `Kv` rows make: key `w{w}:{i}`, value `i`.
    fn record(w: usize, i: usize) -> Vec<u8> {
        line(format!("[[\"set\",\"w{w}:{i}\",{i}]]").as_bytes())
    }
    /// One writer's sets, each written and synced alone.
    fn alone(mut file: &File, w: usize) {
        for i in 0..CONCURRENT_SETS {
            file.write_all(&record(w, i)).unwrap();
            file.sync_data().unwrap();
        }
    }
    let path = dir.join("floor-concurrent.journal");
    let shared = Arc::new(Shared {
        file: OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap(),
        queue: Mutex::default(),
        done: Condvar::new(),
        arrived: Condvar::new(),
    });
    // `Some(gather)`: a group commit; `None`: each thread syncs its own records.
    let run = |grouped: Option<bool>| {
        shared.queue.lock().unwrap().groups = 0;
        let start = Instant::now();
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || match grouped {
                    Some(gather) => {
                        for i in 0..CONCURRENT_SETS {
                            shared.commit(w, &record(w, i), gather);
                        }
                    }
                    None => alone(&shared.file, w),
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        let rate = (WRITERS * CONCURRENT_SETS) as f64 / start.elapsed().as_secs_f64();
        let groups = shared.queue.lock().unwrap().groups;
        (
            rate,
            (WRITERS * CONCURRENT_SETS) as f64 / groups.max(1) as f64,
        )
    };
    let one_writer = || {
        let start = Instant::now();
        alone(&shared.file, 0);
        CONCURRENT_SETS as f64 / start.elapsed().as_secs_f64()
    };
    // The gathering group commit, the one kv-native's rows compare with, alternates with one
    // writer as they do; the other rows are measured once, against the median one writer.
    let measured: Vec<(f64, (f64, f64))> = (0..ROUNDS_OF_WRITERS)
        .map(|_| (one_writer(), run(Some(true))))
        .collect();
    let rates: Vec<(f64, f64)> = measured
        .iter()
        .map(|&(one, (many, _))| (one, many))
        .collect();
    let (one, gathering, gathering_ratios) = summary(&rates);
    let per_group_gathering = measured
        .iter()
        .map(|(_, (_, per_group))| per_group)
        .sum::<f64>()
        / measured.len() as f64;
    let (grouped, per_group) = run(Some(false));
    let (ungrouped, _) = run(None);
    // The ceiling of any group commit here: one thread, `WRITERS` lines per write and sync,
    // no hand-off between threads at all.
    let start = Instant::now();
    for i in 0..CONCURRENT_SETS {
        let batch: Vec<u8> = (0..WRITERS).flat_map(|w| record(w, i)).collect();
        (&shared.file).write_all(&batch).unwrap();
        shared.file.sync_data().unwrap();
    }
    let batched = (WRITERS * CONCURRENT_SETS) as f64 / start.elapsed().as_secs_f64();
    drop(shared);
    let _ = fs::remove_file(&path);
    let bytes = record(3, 123).len();
    vec![
        json!({
            "floor": true,
            "row": "floor: bare append + fdatasync, group commit",
            "condition": format!(
                "no store: a {bytes}-byte line per set appended to one file; the leader takes \
                 every line queued, one write, one fdatasync ({per_group:.1} sets per group)"
            ),
            "one": one,
            "many": grouped,
        }),
        json!({
            "floor": true,
            "row": "floor: bare append + fdatasync, group commit, leader gathers",
            "condition": format!(
                "the same, a new leader waiting up to a quarter of the last sync for the last \
                 group's writers to queue again, as kv-native's does ({per_group_gathering:.1} \
                 sets per group); medians of {ROUNDS_OF_WRITERS} rounds of 1 then {WRITERS} writers"
            ),
            "one": one,
            "many": gathering,
            "ratios": gathering_ratios,
        }),
        json!({
            "floor": true,
            "row": "floor: bare append + fdatasync, no grouping",
            "condition": format!(
                "no store: each thread writes its own {bytes}-byte lines to the same file and \
                 fdatasyncs each"
            ),
            "one": one,
            "many": ungrouped,
        }),
        json!({
            "floor": true,
            "row": "floor: bare append + fdatasync, 8 lines per sync from one thread",
            "condition": format!(
                "no store, no threads: one thread writes {WRITERS} lines at a time, one write \
                 and one fdatasync each: every group full, no hand-off (the ceiling)"
            ),
            "one": one,
            "many": batched,
        }),
    ]
}

#[cfg(feature = "tokio")]
fn tasks(path: &Path) -> Value {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let kv = kv_native::AsyncKv::open(path).await.unwrap();
        let mut rates = Vec::new();
        let pattern = [1, WRITERS].repeat(ROUNDS_OF_WRITERS);
        for (round, writers) in pattern.into_iter().enumerate() {
            let start = Instant::now();
            let tasks: Vec<_> = (0..writers)
                .map(|w| {
                    let kv = kv.clone();
                    tokio::spawn(async move {
                        for i in 0..CONCURRENT_SETS {
                            kv.set(format!("task{round}:{w}:{i}"), i).await.unwrap();
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            rates.push((writers * CONCURRENT_SETS) as f64 / start.elapsed().as_secs_f64());
        }
        let pairs: Vec<(f64, f64)> = rates.chunks(2).map(|pair| (pair[0], pair[1])).collect();
        let (one, many, ratios) = summary(&pairs);
        json!({
            "row": "tokio tasks on one AsyncKv",
            "condition": format!(
                "AsyncKv::set (Kv::set on the blocking pool), a multi-thread runtime; medians of \
                 {ROUNDS_OF_WRITERS} rounds of 1 then {WRITERS} writers"
            ),
            "one": one,
            "many": many,
            "ratios": ratios,
        })
    })
}

/// How fast a journal of `REPLAYED` one-key records (over no file) opens. The journal is
/// written here in its documented format, since a million durable sets would take minutes;
/// the open runs in a child process.
fn replay(dir: &Path, me: &Path) -> Value {
    let path = file_of(dir, "replay", REPLAYED);
    let mut journal = line(br#"{"kv-journal":1,"extends":null}"#);
    for (key, value) in entries(REPLAYED) {
        let body = format!("[[\"set\",{},{value}]]", json!(key));
        journal.extend(line(body.as_bytes()));
    }
    let journal_path = PathBuf::from(format!("{}.journal", path.display()));
    fs::write(&journal_path, &journal).unwrap();
    let out = Command::new(me)
        .env(CHILD, format!("replay:{REPLAYED}:{}", dir.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "replay: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = fs::remove_file(&path);
    let _ = fs::remove_file(&journal_path);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// One journal line: `CRC SP BODY LF`.
fn line(body: &[u8]) -> Vec<u8> {
    let mut out = format!("{:08x} ", crc32fast::hash(body)).into_bytes();
    out.extend_from_slice(body);
    out.push(b'\n');
    out
}

/// Opens the replay store once (its journal is compacted when it closes, outside the timing).
fn measure_replay(path: &Path, records: usize) -> Value {
    let start = Instant::now();
    let kv = Kv::options()
        .limits(kv_native::Limits::NONE)
        .open(path)
        .unwrap();
    let open = start.elapsed();
    assert_eq!(kv.len(), records);
    drop(kv);
    json!({
        "records": records,
        "open_ms": open.as_secs_f64() * 1e3,
        "records_per_second": records as f64 / open.as_secs_f64(),
    })
}

fn child(spec: &str) {
    let mut parts = spec.splitn(3, ':');
    let (contender, size, dir) = (
        parts.next().unwrap(),
        parts.next().unwrap().parse::<usize>().unwrap(),
        PathBuf::from(parts.next().unwrap()),
    );
    let path = file_of(&dir, contender, size);
    let result = match contender {
        "replay" => {
            println!("{}", measure_replay(&path, size));
            return;
        }
        "kv-native" => measure::<Kv>(&path, size),
        "pickledb" => measure::<PickleDb>(&path, size),
        "rustbreak" => measure::<Rustbreak>(&path, size),
        _ => measure::<Floor>(&path, size),
    };
    let mut result = result;
    result["store"] = json!(contender);
    println!("{result}");
}

fn measure<C: Contender>(path: &Path, size: usize) -> Value {
    let (base, _) = memory();
    let first = C::load(path);
    let (loaded, peak) = memory();
    let mut loads = Vec::new();
    drop(first);
    for _ in 0..LOADS {
        let start = Instant::now();
        let store = black_box(C::load(path));
        loads.push(start.elapsed());
        drop(store);
    }
    let store = C::load(path);

    let keys: Vec<String> = (0..1024).map(|i| key(i * 7919 % size)).collect();
    let start = Instant::now();
    let mut found = 0usize;
    for i in 0..GETS {
        found += usize::from(black_box(store.get(&keys[i % keys.len()])).is_some());
    }
    let elapsed = start.elapsed();
    let gets_per_second = (found > 0).then(|| GETS as f64 / elapsed.as_secs_f64());
    drop(store);

    json!({
        "keys": size,
        "fsync": C::FSYNC,
        "gets_per_second": gets_per_second,
        "load_ms": percentiles(loads).0,
        "peak_bytes": peak.saturating_sub(base),
        "resident_bytes": loaded.saturating_sub(base),
        "file_bytes": fs::metadata(path).unwrap().len(),
    })
}

/// Durable sets per condition in the expiry run, on a store of `TTL_STORE` keys.
const TTL_SETS: usize = 1_000;
const TTL_STORE: usize = 1_000;
/// Keys of the stores `get` is measured on in the expiry run, and rounds per condition.
const EXPIRY_KEYS: usize = 100_000;
const EXPIRY_ROUNDS: usize = 5;

/// What expiry costs: durable sets with a ttl against sets without, taking turns on one
/// store, and gets on stores of `EXPIRY_KEYS` keys where no key has an expiry, half expire
/// later, or half have expired (by the system clock: they were written as a file in the
/// documented format, with expiries in the past, as another program would leave them).
fn expiry(dir: &Path) -> Value {
    let path = dir.join("expiry-sets.db");
    let kv = Kv::open(&path).unwrap();
    kv.set_many(entries(TTL_STORE)).unwrap();
    kv.compact().unwrap();
    let day = Duration::from_secs(86_400);
    let mut times = [Vec::new(), Vec::new()];
    for i in 0..TTL_SETS {
        let key = key(i * 31 % TTL_STORE);
        for turn in 0..2 {
            let with_ttl = (i + turn) % 2;
            let value = json!(1_800_000_000 + i as u64);
            let start = Instant::now();
            match with_ttl {
                0 => kv.set(&key, value),
                _ => kv.set_with_ttl(&key, value, day),
            }
            .unwrap();
            times[with_ttl].push(start.elapsed());
        }
    }
    drop(kv);
    let _ = fs::remove_file(&path);
    let _ = fs::remove_file(format!("{}.journal", path.display()));
    let [plain, timed] = times.map(percentiles);

    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let conditions = [
        ("get, no key has an expiry", None),
        (
            "get, half the keys expire later (none expired)",
            Some(now_ms + 86_400_000),
        ),
        ("get, half the keys have expired", Some(1_000)),
    ];
    let stores: Vec<Kv> = conditions
        .iter()
        .enumerate()
        .map(|(n, (_, at))| {
            let path = dir.join(format!("expiry-gets-{n}.db"));
            fs::write(&path, expiring_file(EXPIRY_KEYS, *at)).unwrap();
            let kv = Kv::open(&path).unwrap();
            let live = if at == &Some(1_000) {
                EXPIRY_KEYS / 2
            } else {
                EXPIRY_KEYS
            };
            assert_eq!(kv.len(), live);
            kv
        })
        .collect();
    let keys: Vec<String> = (0..1024).map(|i| key(i * 7919 % EXPIRY_KEYS)).collect();
    let mut rates = vec![Vec::new(); stores.len()];
    for round in 0..EXPIRY_ROUNDS {
        for turn in 0..stores.len() {
            let which = (round + turn) % stores.len();
            let store = &stores[which];
            let start = Instant::now();
            let mut found = 0usize;
            for i in 0..GETS {
                found += usize::from(black_box(store.get(&keys[i % keys.len()])).is_some());
            }
            black_box(found);
            rates[which].push(GETS as f64 / start.elapsed().as_secs_f64());
        }
    }
    drop(stores);
    let gets: Vec<Value> = conditions
        .iter()
        .zip(rates)
        .map(|((condition, _), r)| json!({"condition": condition, "gets_per_second": median(r)}))
        .collect();
    json!({
        "sets": {
            "keys": TTL_STORE,
            "per_condition": TTL_SETS,
            "without a ttl": {"p50": plain.0, "p99": plain.1, "max": plain.2},
            "with a ttl (1 day)": {"p50": timed.0, "p99": timed.1, "max": timed.2},
        },
        "gets": {"keys": EXPIRY_KEYS, "per_round": GETS, "rounds": EXPIRY_ROUNDS, "conditions": gets},
    })
}

/// A store file of `size` seen-ID keys, every second one expiring at `at` (unix ms), as
/// docs/design.md draws it: the `"\u0000expires"` member first.
fn expiring_file(size: usize, at: Option<u64>) -> Vec<u8> {
    let all: serde_json::Map<String, Value> = entries(size).collect();
    let mut text = Value::Object(all).to_string();
    if let Some(at) = at {
        let expiries: serde_json::Map<String, Value> = (0..size)
            .filter(|i| i % 2 == 1)
            .map(|i| (key(i), json!(at)))
            .collect();
        let member = format!("{{\"\\u0000expires\":{},", Value::Object(expiries));
        text.replace_range(..1, &member);
    }
    text.into_bytes()
}

fn print_expiry(expiry: &Value) {
    let sets = &expiry["sets"];
    println!(
        "\n{:<48} {:>8} {:>11} {:>11} {:>11} {:>10}",
        "expiry", "keys", "set p50 ms", "set p99 ms", "set max ms", "gets/s"
    );
    for condition in ["without a ttl", "with a ttl (1 day)"] {
        let row = &sets[condition];
        println!(
            "{:<48} {:>8} {:>11.3} {:>11.3} {:>11.3} {:>10}",
            format!("durable set, {condition}"),
            sets["keys"],
            row["p50"].as_f64().unwrap(),
            row["p99"].as_f64().unwrap(),
            row["max"].as_f64().unwrap(),
            "-"
        );
    }
    let gets = expiry["gets"]["conditions"].as_array().unwrap();
    for row in gets {
        println!(
            "{:<48} {:>8} {:>11} {:>11} {:>11} {:>9.1}M",
            row["condition"].as_str().unwrap(),
            expiry["gets"]["keys"],
            "-",
            "-",
            "-",
            row["gets_per_second"].as_f64().unwrap() / 1e6
        );
    }
    let p50 = |c: &str| sets[c]["p50"].as_f64().unwrap();
    let rate = |i: usize| gets[i]["gets_per_second"].as_f64().unwrap();
    println!(
        "  targets: a durable set with a ttl {:.2}x one without (p50; target <= 1.1x); get with \
         half the keys expired {:.2}x slower than with none expired and no expiries, {:.2}x \
         than with half expiring later (target <= 1.2x)",
        p50("with a ttl (1 day)") / p50("without a ttl"),
        rate(0) / rate(2),
        rate(1) / rate(2),
    );
}
