//! Random operation sequences against the store and a `BTreeMap` model, with storage that
//! fails at random commits, and a clock that moves forward between steps so that keys written
//! with a time to live expire. After every step, memory, storage and the model agree (the live
//! keys, and what storage holds of expired ones): for stores that hold `Value`s and stores that
//! hold `JsonText`.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    /// The clock moves forward this many milliseconds.
    Tick(u64),
    SetTtl(String, Value, u64),
    SetIfAbsentTtl(String, Value, u64),
    TouchTtl(String, u64),
    /// A new time to live in ms, or none.
    Expire(String, Option<u64>),
    Purge,
}

/// A time to live in ms: about as long as a few ticks.
fn ttl() -> impl Strategy<Value = u64> {
    1u64..3_000
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
        3 => (0u64..1_500).prop_map(Op::Tick),
        3 => (key(), value(), ttl()).prop_map(|(k, v, t)| Op::SetTtl(k, v, t)),
        2 => (key(), value(), ttl()).prop_map(|(k, v, t)| Op::SetIfAbsentTtl(k, v, t)),
        1 => (key(), ttl()).prop_map(|(k, t)| Op::TouchTtl(k, t)),
        2 => (key(), prop::option::of(ttl())).prop_map(|(k, t)| Op::Expire(k, t)),
        1 => Just(Op::Purge),
    ]
}

/// The store's rules, restated over a `BTreeMap`: what each operation should leave behind,
/// or which limit it should be rejected for.
///
/// `map` is what storage holds, expired keys not yet removed included: each key's value and
/// expiry (unix ms). A write that stages anything also removes the expired keys it did not
/// write (up to 16, more than the model's keys), so the model removes all of them.
#[derive(Debug, Default, Clone, PartialEq)]
struct Model {
    map: BTreeMap<String, (Value, Option<u64>)>,
    now_ms: u64,
}

/// One operation's effect as it is staged: the model's next state, which keys it staged, and
/// whether it cleared.
struct Step {
    next: Model,
    staged: std::collections::BTreeSet<String>,
    cleared: bool,
}

impl Step {
    fn live(&self, key: &str) -> Option<&(Value, Option<u64>)> {
        let now = self.next.now_ms;
        self.next
            .map
            .get(key)
            .filter(|(_, at)| at.is_none_or(|at| at > now))
    }

    fn put(&mut self, key: &str, value: Value, at: Option<u64>) -> Result<(), Limit> {
        if key.len() > LIMITS.max_key_bytes {
            return Err(Limit::KeyBytes);
        }
        if serde_json::to_vec(&value).unwrap().len() > LIMITS.max_value_bytes {
            return Err(Limit::ValueBytes);
        }
        self.next.map.insert(key.into(), (value, at));
        self.staged.insert(key.into());
        Ok(())
    }

    fn delete(&mut self, key: &str, stored_before: bool) {
        self.next.map.remove(key);
        if stored_before && !self.cleared {
            self.staged.insert(key.into());
        } else {
            self.staged.remove(key);
        }
    }

    fn clear(&mut self) {
        self.next.map.clear();
        self.staged.clear();
        self.cleared = true;
    }

    fn purge(&mut self) {
        let now = self.next.now_ms;
        let expired: Vec<String> = self
            .next
            .map
            .iter()
            .filter(|(k, (_, at))| at.is_some_and(|at| at <= now) && !self.staged.contains(*k))
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            self.next.map.remove(&key);
            self.staged.insert(key);
        }
    }
}

impl Model {
    /// The keys that exist now, with their values.
    fn live(&self) -> BTreeMap<String, Value> {
        self.map
            .iter()
            .filter(|(_, (_, at))| at.is_none_or(|at| at > self.now_ms))
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect()
    }

    /// Applies `op` to a copy; returns the copy, or the limit that rejects the whole op.
    fn apply(&self, op: &Op) -> Result<Self, Limit> {
        let mut step = Step {
            next: self.clone(),
            staged: Default::default(),
            cleared: false,
        };
        let now = Value::from(self.now_ms / 1000);
        let at = |ttl: &u64| Some(self.now_ms + ttl);
        let stored = |k: &str| self.map.contains_key(k);
        match op {
            Op::Set(k, v) => step.put(k, v.clone(), None)?,
            Op::Touch(k) => step.put(k, now, None)?,
            Op::SetIfAbsent(k, v) if step.live(k).is_none() => step.put(k, v.clone(), None)?,
            Op::TouchIfAbsent(k) if step.live(k).is_none() => step.put(k, now, None)?,
            Op::SetIfAbsentTtl(k, v, t) if step.live(k).is_none() => {
                step.put(k, v.clone(), at(t))?;
            }
            Op::SetIfAbsent(..) | Op::TouchIfAbsent(_) | Op::SetIfAbsentTtl(..) => {}
            Op::SetTtl(k, v, t) => step.put(k, v.clone(), at(t))?,
            Op::TouchTtl(k, t) => step.put(k, now, at(t))?,
            Op::Expire(k, t) => {
                if let Some((v, old)) = step.live(k).cloned() {
                    let new = t.as_ref().and_then(at);
                    if new != old {
                        step.put(k, v, new)?;
                    }
                }
            }
            Op::Purge => step.purge(),
            Op::Delete(k) => step.delete(k, stored(k)),
            Op::SetMany(pairs) => {
                for (k, v) in pairs {
                    step.put(k, v.clone(), None)?;
                }
            }
            Op::DeleteMany(keys) => keys.iter().for_each(|k| step.delete(k, stored(k))),
            Op::Increment(k) => {
                let (n, at) = match step.live(k) {
                    Some((v, at)) => (v.as_i64().unwrap_or(0), *at),
                    None => (0, None),
                };
                step.put(k, Value::from(n.saturating_add(1)), at)?;
            }
            Op::Transaction {
                sets,
                deletes,
                clear,
                abort,
            } => {
                if *clear {
                    step.clear();
                }
                for (k, v) in sets {
                    step.put(k, v.clone(), None)?;
                }
                for k in deletes {
                    let stored_before = !step.cleared && stored(k);
                    step.delete(k, stored_before);
                }
                if *abort {
                    return Ok(self.clone());
                }
            }
            Op::Clear => step.clear(),
            Op::Tick(ms) => step.next.now_ms += ms,
        }
        if step.cleared || !step.staged.is_empty() {
            step.purge();
        }
        let next = step.next;
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
        Op::Tick(ms) => {
            store.clock().advance_ms(*ms);
            Ok(())
        }
        Op::SetTtl(k, value, t) => store
            .set_with_ttl(k, v(value), Duration::from_millis(*t))
            .await
            .map_err(kind),
        Op::SetIfAbsentTtl(k, value, t) => store
            .set_if_absent_with_ttl(k, v(value), Duration::from_millis(*t))
            .await
            .map(drop)
            .map_err(kind),
        Op::TouchTtl(k, t) => store
            .touch_with_ttl(k, Duration::from_millis(*t))
            .await
            .map(drop)
            .map_err(kind),
        Op::Expire(k, t) => store
            .expire(k, t.map(Duration::from_millis))
            .await
            .map(drop)
            .map_err(kind),
        Op::Purge => store.purge().await.map(drop).map_err(kind),
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
        now_ms: 1_763_700_000_000,
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
        let live = model.live();
        let in_memory: BTreeMap<String, Value> = V::all(&store).into_iter().collect();
        prop_assert_eq!(&in_memory, &live, "memory after step {}: {:?}", step, op);
        prop_assert_eq!(store.len(), live.len());
        let reopened: Store<_, _, V> =
            run_sync(Store::open(storage.clone(), ManualClock::new(0))).unwrap();
        reopened.clock().set_ms(model.now_ms);
        let stored: BTreeMap<String, Value> = V::all(&reopened).into_iter().collect();
        prop_assert_eq!(&stored, &live, "storage after step {}: {:?}", step, op);
        prop_assert_eq!(
            reopened.stored_len(),
            model.map.len(),
            "expired keys storage holds after step {}: {:?}",
            step,
            op
        );
        for (key, (_, at)) in &model.map {
            prop_assert_eq!(reopened.expires_at(key), *at, "expiry of {:?}", key);
            prop_assert_eq!(store.expires_at(key), *at, "expiry of {:?} in memory", key);
        }
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
