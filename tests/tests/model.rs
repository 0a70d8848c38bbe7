//! Random operation sequences against the store and a `BTreeMap` model, with storage that
//! fails at random commits. After every step, memory, storage and the model agree: for stores
//! that hold `Value`s and stores that hold `JsonText`.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use kv_core::{
    Commit, Error, ErrorKind, Json, JsonText, Limit, Limits, ManualClock, Persist, Rejected, Store,
    Stored, Value,
};
use kv_tests::{Faults, FaultyPersist, Harness, MemoryHarness, TestValue, run_sync};
use proptest::prelude::*;
use serde_json::json;

const LIMITS: Limits = Limits::DEFAULT
    .max_key_bytes(4)
    .max_value_bytes(12)
    .max_entries(6);

#[derive(Debug, Clone)]
enum Op {
    Set(String, Value),
    Touch(String),
    SetIfAbsent(String, Value),
    TouchIfAbsent(String),
    Delete(String),
    SetMany(Vec<(String, Value)>),
    DeleteMany(Vec<String>),
    Increment(String),
    Transaction {
        sets: Vec<(String, Value)>,
        deletes: Vec<String>,
        clear: bool,
        abort: bool,
    },
    Clear,
    Tick(u64),
}

fn key() -> impl Strategy<Value = String> {
    // Mostly a few short keys, so operations collide; sometimes one over the 4-byte limit.
    prop_oneof![
        8 => prop::sample::select(vec!["a", "b", "c", "d", "e", "f", "g", "h"]).prop_map(String::from),
        1 => "[a-z]{5,6}",
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        "[a-z]{0,12}".prop_map(Value::from),
        prop::collection::vec(0u8..10, 0..5).prop_map(Value::from),
    ]
}

/// Up to 60 operations, each with whether its commit fails (a quarter of them do).
fn ops() -> impl Strategy<Value = Vec<(Op, bool)>> {
    prop::collection::vec((op(), prop::bool::weighted(0.25)), 1..60)
}

fn op() -> impl Strategy<Value = Op> {
    let pairs = || prop::collection::vec((key(), value()), 0..4);
    prop_oneof![
        4 => (key(), value()).prop_map(|(k, v)| Op::Set(k, v)),
        2 => key().prop_map(Op::Touch),
        2 => (key(), value()).prop_map(|(k, v)| Op::SetIfAbsent(k, v)),
        2 => key().prop_map(Op::TouchIfAbsent),
        3 => key().prop_map(Op::Delete),
        2 => pairs().prop_map(Op::SetMany),
        1 => prop::collection::vec(key(), 0..4).prop_map(Op::DeleteMany),
        2 => key().prop_map(Op::Increment),
        2 => (pairs(), prop::collection::vec(key(), 0..3), prop::bool::weighted(0.2), any::<bool>())
            .prop_map(|(sets, deletes, clear, abort)| Op::Transaction { sets, deletes, clear, abort }),
        1 => Just(Op::Clear),
        1 => (0u64..100).prop_map(Op::Tick),
    ]
}

/// The store's rules, restated over a `BTreeMap`: what each operation should leave behind,
/// or which limit it should be rejected for.
#[derive(Debug, Default, Clone, PartialEq)]
struct Model {
    map: BTreeMap<String, Value>,
    now: u64,
}

impl Model {
    fn set(&mut self, key: &str, value: Value) -> Result<(), Limit> {
        if key.len() > LIMITS.max_key_bytes {
            return Err(Limit::KeyBytes);
        }
        if serde_json::to_vec(&value).unwrap().len() > LIMITS.max_value_bytes {
            return Err(Limit::ValueBytes);
        }
        self.map.insert(key.into(), value);
        Ok(())
    }

    /// Applies `op` to a copy; returns the copy, or the limit that rejects the whole op.
    fn apply(&self, op: &Op) -> Result<Self, Limit> {
        let mut next = self.clone();
        let now = Value::from(self.now);
        match op {
            Op::Set(k, v) => next.set(k, v.clone())?,
            Op::Touch(k) => next.set(k, now)?,
            Op::SetIfAbsent(k, v) if !next.map.contains_key(k) => next.set(k, v.clone())?,
            Op::TouchIfAbsent(k) if !next.map.contains_key(k) => next.set(k, now)?,
            Op::SetIfAbsent(..) | Op::TouchIfAbsent(_) => {}
            Op::Delete(k) => drop(next.map.remove(k)),
            Op::SetMany(pairs) => {
                for (k, v) in pairs {
                    next.set(k, v.clone())?;
                }
            }
            Op::DeleteMany(keys) => keys.iter().for_each(|k| drop(next.map.remove(k))),
            Op::Increment(k) => {
                let n = next.map.get(k).and_then(Value::as_i64).unwrap_or(0);
                next.set(k, Value::from(n.saturating_add(1)))?;
            }
            Op::Transaction {
                sets,
                deletes,
                clear,
                abort,
            } => {
                if *clear {
                    next.map.clear();
                }
                for (k, v) in sets {
                    next.set(k, v.clone())?;
                }
                deletes.iter().for_each(|k| drop(next.map.remove(k)));
                if *abort {
                    return Ok(self.clone());
                }
            }
            Op::Clear => next.map.clear(),
            Op::Tick(s) => next.now += s,
        }
        if next.map.len() > LIMITS.max_entries && next.map.len() > self.map.len() {
            return Err(Limit::Entries);
        }
        Ok(next)
    }
}

/// How a transaction closure ends early: aborted by its caller, or failed.
enum TxEnd {
    Aborted,
    Failed(ErrorKind),
}

impl<E: kv_core::StorageError> From<Error<E>> for TxEnd {
    fn from(e: Error<E>) -> Self {
        Self::Failed(e.kind())
    }
}

impl From<Rejected> for TxEnd {
    fn from(e: Rejected) -> Self {
        Self::Failed(Error::<Infallible>::Rejected(e).kind())
    }
}

/// Runs `op` on the store; `Err` carries the kind of error.
async fn run<P: Persist, V: TestValue>(
    store: &mut Store<P, ManualClock, V>,
    op: &Op,
) -> Result<(), ErrorKind> {
    let kind = |e: Error<P::Error>| e.kind();
    let v = |value: &Value| V::from_json(value.clone());
    match op {
        Op::Set(k, value) => store.set(k, v(value)).await.map_err(kind),
        Op::Touch(k) => store.touch(k).await.map(drop).map_err(kind),
        Op::SetIfAbsent(k, value) => store
            .set_if_absent(k, v(value))
            .await
            .map(drop)
            .map_err(kind),
        Op::TouchIfAbsent(k) => store.touch_if_absent(k).await.map(drop).map_err(kind),
        Op::Delete(k) => store.delete(k).await.map(drop).map_err(kind),
        Op::SetMany(pairs) => store
            .set_many(pairs.iter().map(|(k, value)| (k.as_str(), v(value))))
            .await
            .map_err(kind),
        Op::DeleteMany(keys) => store
            .delete_many(keys.iter().map(String::as_str))
            .await
            .map(drop)
            .map_err(kind),
        Op::Increment(k) => store
            .update(k, |current| {
                let n = current.and_then(|c| c.to_json().as_i64()).unwrap_or(0);
                Some(v(&Value::from(n.saturating_add(1))))
            })
            .await
            .map(drop)
            .map_err(kind),
        Op::Transaction {
            sets,
            deletes,
            clear,
            abort,
        } => {
            let result = store
                .transaction(|tx| {
                    if *clear {
                        tx.clear();
                    }
                    for (k, value) in sets {
                        tx.set(k, v(value))?;
                    }
                    for k in deletes {
                        tx.delete(k);
                    }
                    if *abort { Err(TxEnd::Aborted) } else { Ok(()) }
                })
                .await;
            // Aborting is the caller's choice, not a failure: the model expects no change.
            match result {
                Ok(()) | Err(TxEnd::Aborted) => Ok(()),
                Err(TxEnd::Failed(kind)) => Err(kind),
            }
        }
        Op::Clear => store.clear().await.map_err(kind),
        Op::Tick(s) => {
            store.clock().advance(*s);
            Ok(())
        }
    }
}

/// A snapshot adapter in memory, to check `Commit::snapshot` as the model test checks records.
#[derive(Debug, Default, Clone)]
struct SnapshotMemory(Arc<Mutex<Option<Vec<u8>>>>);

impl Persist for SnapshotMemory {
    type Error = Infallible;

    async fn load(&mut self) -> Result<Stored, Infallible> {
        Ok(match &*self.0.lock().unwrap() {
            Some(bytes) => Stored::Snapshot(bytes.clone()),
            None => Stored::Nothing,
        })
    }

    async fn commit(&mut self, commit: &Commit<'_, impl Json>) -> Result<(), Infallible> {
        *self.0.lock().unwrap() = Some(commit.snapshot());
        Ok(())
    }
}

fn check<V: TestValue, P: Persist + Clone>(
    storage: P,
    ops: &[(Op, bool)],
) -> Result<(), TestCaseError> {
    let faults = Faults::default();
    let faulty = FaultyPersist::new(storage.clone(), faults.clone());
    let clock = ManualClock::new(1_763_700_000);
    let mut store: Store<_, _, V> =
        run_sync(Store::open_with_limits(faulty, clock, LIMITS)).unwrap();
    let mut model = Model {
        now: 1_763_700_000,
        ..Model::default()
    };

    for (step, (op, fail)) in ops.iter().enumerate() {
        faults.fail_commits(usize::from(*fail));
        let expected = model.apply(op);
        let outcome = run_sync(run(&mut store, op));
        faults.fail_commits(0);
        match (&expected, outcome) {
            (Ok(next), Ok(())) => model = next.clone(),
            (Ok(_), Err(ErrorKind::Storage(_))) => {
                prop_assert!(*fail, "step {step}: {op:?} failed without a fault")
            }
            (Err(limit), Err(kind)) => prop_assert!(
                kind == ErrorKind::LimitExceeded,
                "step {step}: {op:?} should be rejected for {limit:?}, got {kind:?}"
            ),
            (expected, outcome) => prop_assert!(
                false,
                "step {step}: {op:?}: model {expected:?}, store {outcome:?}"
            ),
        }
        let in_memory: BTreeMap<String, Value> = V::all(&store).into_iter().collect();
        prop_assert_eq!(
            &in_memory,
            &model.map,
            "memory after step {}: {:?}",
            step,
            op
        );
        let reopened: Store<_, _, V> =
            run_sync(Store::open(storage.clone(), ManualClock::new(0))).unwrap();
        let stored: BTreeMap<String, Value> = V::all(&reopened).into_iter().collect();
        prop_assert_eq!(&stored, &model.map, "storage after step {}: {:?}", step, op);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_record_store_agrees_with_the_model_through_random_faults(
        ops in ops()
    ) {
        let storage = run_sync(MemoryHarness::default().fresh());
        check::<Value, _>(storage, &ops)?;
    }

    #[test]
    fn a_snapshot_store_agrees_with_the_model_through_random_faults(
        ops in ops()
    ) {
        check::<Value, _>(SnapshotMemory::default(), &ops)?;
    }

    #[test]
    fn a_json_text_record_store_agrees_with_the_model_through_random_faults(
        ops in ops()
    ) {
        let storage = run_sync(MemoryHarness::default().fresh());
        check::<JsonText, _>(storage, &ops)?;
    }

    #[test]
    fn a_json_text_snapshot_store_agrees_with_the_model_through_random_faults(
        ops in ops()
    ) {
        check::<JsonText, _>(SnapshotMemory::default(), &ops)?;
    }
}
