//! Eight threads sharing one `Kv`, whose commits share appends and syncs (group commit):
//! every update lands, and the final state equals what a sequential model of each thread's
//! operations predicts; a failed sync fails its whole group and nothing else, and memory
//! equals storage afterwards.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use std::{io, thread};

use kv_native::fault::Step;
use kv_native::{Error, Kv, Op, Value};
use serde_json::json;

const THREADS: usize = 8;
const OPS: usize = 10_000;
const KEYS_PER_THREAD: u64 = 16;
const SHARED_IDS: u64 = 64;

/// A small deterministic generator (xorshift64*), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// A directory on tmpfs where there is one: this test is about lost updates, not about the
/// disk, and 80,000 fsyncs on a real disk take minutes.
fn scratch_dir() -> tempfile::TempDir {
    let shm = PathBuf::from("/dev/shm");
    match tempfile::tempdir_in(&shm) {
        Ok(dir) if shm.is_dir() => dir,
        _ => tempfile::tempdir().unwrap(),
    }
}

/// What one thread expects its own keys to hold, and what it did to the shared ones.
struct Outcome {
    own: BTreeMap<String, Value>,
    /// Calls that always write (sets and updates): each needs a sync, unless it shares one.
    writes: u64,
    increments: u64,
    first_sightings: u64,
}

fn worker(kv: &Kv, id: usize) -> Outcome {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (id as u64 + 1));
    let mut own = BTreeMap::new();
    let (mut increments, mut first_sightings, mut writes) = (0, 0, 0);
    for op in 0..OPS {
        let key = format!("t{id}:k{}", rng.below(KEYS_PER_THREAD));
        match rng.below(8) {
            0 | 1 => {
                let value = json!([id, op]);
                kv.set(key.as_str(), value.clone()).unwrap();
                own.insert(key, value);
                writes += 1;
            }
            2 => {
                assert_eq!(kv.delete(&key).unwrap(), own.remove(&key).is_some());
            }
            3 => {
                let set = kv.set_if_absent(key.as_str(), op).unwrap();
                assert_eq!(set, !own.contains_key(&key));
                own.entry(key).or_insert(json!(op));
            }
            4 => {
                let bump =
                    |v: Option<&Value>| Some(json!(v.and_then(Value::as_u64).unwrap_or(0) + 1));
                kv.update("shared:counter", bump).unwrap();
                increments += 1;
                writes += 1;
            }
            5 => {
                let seen = format!("seen:{}", rng.below(SHARED_IDS));
                if kv.touch_if_absent(seen).unwrap() {
                    first_sightings += 1;
                }
            }
            _ => assert_eq!(kv.get(&key).as_ref(), own.get(&key), "read your own write"),
        }
    }
    Outcome {
        own,
        writes,
        increments,
        first_sightings,
    }
}

#[test]
fn eight_threads_lose_no_update_and_end_where_a_sequential_model_does() {
    let dir = scratch_dir();
    let path = dir.path().join("kv.json");
    let syncs = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&syncs);
    // Each sync takes a little longer than tmpfs's, so that calls queue up behind it.
    let kv = Kv::options()
        .fault_hook(move |step| {
            if step == Step::SyncJournal {
                counted.fetch_add(1, Ordering::Relaxed);
                thread::sleep(Duration::from_micros(50));
            }
            Ok(())
        })
        .open(&path)
        .unwrap();
    let kv = Arc::new(kv);
    let outcomes: Vec<Outcome> = (0..THREADS)
        .map(|id| {
            let kv = Arc::clone(&kv);
            thread::spawn(move || worker(&kv, id))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|handle| handle.join().unwrap())
        .collect();

    let increments: u64 = outcomes.iter().map(|o| o.increments).sum();
    let first_sightings: u64 = outcomes.iter().map(|o| o.first_sightings).sum();
    let mut expected: BTreeMap<String, Value> = BTreeMap::new();
    for outcome in &outcomes {
        expected.extend(outcome.own.clone());
    }
    expected.insert("shared:counter".into(), json!(increments));

    let all = kv.get_all();
    let seen = all.keys().filter(|k| k.starts_with("seen:")).count() as u64;
    assert_eq!(
        first_sightings, seen,
        "each ID is first seen by exactly one thread"
    );
    let rest: BTreeMap<String, Value> = all
        .into_iter()
        .filter(|(k, _)| !k.starts_with("seen:"))
        .collect();
    assert_eq!(rest, expected, "memory");

    let in_memory = kv.get_all();
    drop(kv);
    let reopened = Kv::open(&path).unwrap();
    assert_eq!(reopened.get_all(), in_memory, "disk");
    let writes: u64 = outcomes.iter().map(|o| o.writes).sum();
    let syncs = syncs.load(Ordering::Relaxed);
    println!(
        "{THREADS} threads x {OPS} operations: {increments} increments, {seen} IDs, {} keys; \
         {writes} writes in {syncs} syncs",
        in_memory.len()
    );
    assert!(
        0 < syncs && syncs < writes,
        "calls shared syncs: {writes} writes in {syncs} syncs"
    );
}

#[test]
fn a_failed_sync_fails_every_call_of_its_group_and_memory_equals_storage() {
    const WRITES: u64 = 300;
    let dir = scratch_dir();
    let path = dir.path().join("kv.json");
    let syncs = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&syncs);
    let kv = Kv::options()
        .fault_hook(move |step| {
            if step != Step::SyncJournal {
                return Ok(());
            }
            thread::sleep(Duration::from_micros(50));
            match counted.fetch_add(1, Ordering::Relaxed) % 5 {
                3 => Err(io::Error::new(io::ErrorKind::StorageFull, "injected")),
                _ => Ok(()),
            }
        })
        .open(&path)
        .unwrap();
    let kv = Arc::new(kv);
    let acknowledged: Vec<Vec<(String, bool)>> = (0..THREADS)
        .map(|id| {
            let kv = Arc::clone(&kv);
            thread::spawn(move || {
                (0..WRITES)
                    .map(|n| {
                        let key = format!("t{id}:{n}");
                        let ok = match kv.set(key.as_str(), n) {
                            Ok(()) => true,
                            Err(Error::Io(e)) => {
                                assert_eq!(e.op(), Op::SyncJournal, "{e}");
                                false
                            }
                            Err(e) => panic!("{e}"),
                        };
                        assert_eq!(kv.contains(&key), ok, "{key}: memory follows storage");
                        (key, ok)
                    })
                    .collect()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|handle| handle.join().unwrap())
        .collect();
    let failed = acknowledged.iter().flatten().filter(|(_, ok)| !ok).count();
    for (key, ok) in acknowledged.iter().flatten() {
        assert_eq!(kv.contains(key), *ok, "{key}");
    }
    let in_memory = kv.get_all();
    drop(kv);
    assert_eq!(Kv::open(&path).unwrap().get_all(), in_memory, "disk");
    let failed_syncs = syncs.load(Ordering::Relaxed).div_ceil(5);
    println!(
        "{failed} of {} writes failed, in about {failed_syncs} failed syncs",
        WRITES * 8
    );
    assert!(failed > 0, "some syncs failed");
}
