//! Crash test: a child process makes durable writes and prints each one it saw acknowledged;
//! the parent kills it with SIGKILL at random moments, then checks that the store opens (the
//! file decodes, the journal reads) and holds every acknowledged key, and that no temporary
//! file survives the next open. Run on a journaled store (appends, and compactions both
//! automatic and explicit) and on one that rewrites its file on every write.
//!
//! This is one binary playing both parts (`harness = false`): run with `KV_CRASH_CHILD` set,
//! it is the child. `KV_CRASH_KILLS` (default 200 on the journaled store,
//! half as many on the rewriting one) and `KV_CRASH_SEED` tune
//! the parent.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use std::{env, fs, thread};

use kv_native::Kv;
use serde_json::json;

const CHILD: &str = "KV_CRASH_CHILD";

fn main() -> ExitCode {
    match env::var_os(CHILD) {
        Some(path) => child(
            Path::new(&path),
            env::var("KV_CRASH_RUN").unwrap(),
            env::var_os("KV_CRASH_REWRITE").is_none(),
        ),
        None => {
            let kills: u64 = env::var("KV_CRASH_KILLS").map_or(200, |k| k.parse().unwrap());
            parent(true, kills);
            // The rewriting store's protocol is older and unchanged: half as many kills.
            parent(false, kills.div_ceil(2));
            ExitCode::SUCCESS
        }
    }
}

/// How the child opens the store: journaled, compacting as soon as the journal passes 8 KiB
/// (the default minimum is 64 KiB, which a killed child would rarely reach), or rewriting.
fn open(path: &Path, journal: bool) -> Kv {
    Kv::options()
        .journal(journal)
        .compact_min(8 * 1024)
        .open(path)
        .unwrap()
}

/// Writes until killed: new keys, overwrites, and now and then a delete of its own older key.
/// A line `ack KEY` is printed only after the write of `KEY` returned `Ok`; every 8 writes
/// a journaled child compacts explicitly, between the lines `compact` and `compacted`.
fn child(path: &Path, run: String, journal: bool) -> ExitCode {
    let kv = open(path, journal);
    let mut out = std::io::stdout().lock();
    writeln!(out, "open").unwrap();
    for n in 0u64.. {
        let key = format!("{run}:{n}");
        kv.set_many([
            (key.as_str(), json!({"n": n, "pad": "x".repeat(64)})),
            ("last", json!(key)),
        ])
        .unwrap();
        writeln!(out, "ack {key}").unwrap();
        if journal && n % 8 == 7 {
            writeln!(out, "compact").unwrap();
            out.flush().unwrap();
            kv.compact().unwrap();
            writeln!(out, "compacted").unwrap();
        }
        out.flush().unwrap();
    }
    ExitCode::SUCCESS
}

/// splitmix64: a seeded generator for the kill delays, so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn leftovers(dir: &Path) -> usize {
    fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            let name = name.to_string_lossy();
            name.starts_with(".kv.json.") && name.ends_with(".tmp")
        })
        .count()
}

fn parent(journal: bool, kills: u64) {
    let seed: u64 = env::var("KV_CRASH_SEED").map_or_else(
        |_| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        },
        |s| s.parse().unwrap(),
    );
    let kind = if journal { "journaled" } else { "rewriting" };
    println!("crash test, {kind} store: {kills} kills, KV_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.json");
    let me = env::current_exe().unwrap();
    let mut acknowledged: BTreeSet<String> = BTreeSet::new();
    let (mut mid_run_kills, mut leftovers_swept, mut mid_compaction) = (0, 0, 0);

    for run in 0..kills {
        let mut command = Command::new(&me);
        if !journal {
            command.env("KV_CRASH_REWRITE", "1");
        }
        let mut child = command
            .env(CHILD, &path)
            .env("KV_CRASH_RUN", run.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Wait until the child holds the store, then let it write for 0 to 40 ms.
        assert_eq!(
            lines.next().unwrap().unwrap(),
            "open",
            "run {run}: the child failed"
        );
        thread::sleep(Duration::from_micros(rng.next() % 40_000));
        child.kill().unwrap();
        child.wait().unwrap();
        let before = acknowledged.len();
        let mut compacting = false;
        for line in lines {
            // A line cut short by the kill has no newline and is not read as an ack.
            let line = line.unwrap();
            if let Some(key) = line.strip_prefix("ack ") {
                acknowledged.insert(key.to_owned());
            }
            compacting = line == "compact";
        }
        mid_compaction += u64::from(compacting);
        if acknowledged.len() > before {
            mid_run_kills += 1;
        }

        leftovers_swept += leftovers(dir.path());
        let bytes = fs::read(&path).unwrap_or_default();
        let kv = match Kv::options().journal(journal).open(&path) {
            Ok(kv) => kv,
            Err(e) => panic!("run {run} (seed {seed}): the store does not open: {e}"),
        };
        assert_eq!(
            leftovers(dir.path()),
            0,
            "run {run}: a temporary file survived open"
        );
        assert!(
            bytes.is_empty() || serde_json::from_slice::<serde_json::Value>(&bytes).is_ok(),
            "run {run} (seed {seed}): the file does not decode"
        );
        for key in &acknowledged {
            assert!(
                kv.contains(key),
                "run {run} (seed {seed}): acknowledged key {key} is missing"
            );
        }
    }
    println!(
        "crash test, {kind} store: {kills} SIGKILLs ({mid_run_kills} after at least one \
         acknowledged write, {mid_compaction} during an explicit compaction), {} acknowledged \
         keys all present, {leftovers_swept} leftover temporary files swept",
        acknowledged.len()
    );
}
