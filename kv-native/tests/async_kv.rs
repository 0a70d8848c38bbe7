//! `AsyncKv`: the same store as `async fn`, on tokio.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used)]

use kv_native::{AsyncKv, Error, Kv};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_works_and_survives_reopening() {
    every_call_works().await;
}

/// The same calls on the other kind of runtime.
#[tokio::test(flavor = "current_thread")]
async fn every_call_works_on_a_current_thread_runtime() {
    every_call_works().await;
}

/// Writes work wherever a multi-thread runtime runs futures without a worker: in `block_on`,
/// in a `LocalSet` (where `block_in_place` panics, so a write must not use it), several at
/// once in one task.
#[test]
fn writes_work_in_block_on_and_a_local_set_of_a_multi_thread_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.json");
    runtime.block_on(async {
        let kv = AsyncKv::open(&path).await.unwrap();
        let (a, b) = tokio::join!(kv.set("a", 1), kv.set_if_absent("b", 2));
        a.unwrap();
        assert!(b.unwrap());
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                kv.set("c", 3).await.unwrap();
                let kv = kv.clone();
                tokio::task::spawn_local(async move { kv.set("d", 4).await.unwrap() })
                    .await
                    .unwrap();
            })
            .await;
        assert_eq!(kv.len().await, 4);
    });
    drop(runtime);
    assert_eq!(Kv::open(&path).unwrap().len(), 4);
}

async fn every_call_works() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.json");
    let kv = AsyncKv::open(&path).await.unwrap();
    kv.set("last_command", "ping").await.unwrap();
    assert!(kv.touch_if_absent("seen:1").await.unwrap());
    assert!(!kv.touch_if_absent("seen:1").await.unwrap());
    assert!(kv.set_if_absent("once", 1).await.unwrap());
    kv.set_many([("a", 1), ("b", 2), ("c", 3)]).await.unwrap();
    assert_eq!(kv.delete_many(["a", "zz"]).await.unwrap(), 1);
    assert!(kv.delete("b").await.unwrap());
    let bump =
        |v: Option<&serde_json::Value>| Some(json!(v.and_then(|v| v.as_u64()).unwrap_or(0) + 1));
    assert_eq!(kv.update("n", bump).await.unwrap(), Some(json!(1)));
    kv.set_as("list", &vec![1u8, 2, 3]).await.unwrap();
    assert_eq!(
        kv.get_as::<Vec<u8>>("list").await.unwrap(),
        Some(vec![1, 2, 3])
    );
    let moved: Result<bool, Error> = kv
        .transaction(|tx| {
            let c = tx.get("c");
            tx.delete("c");
            tx.set("d", c.clone().unwrap_or_default())?;
            Ok(c.is_some())
        })
        .await;
    assert!(moved.unwrap());
    assert!(kv.touch("t").await.unwrap() > 1_700_000_000);
    assert_eq!(kv.get_or("absent", 7).await, json!(7));
    assert!(kv.contains("d").await);
    assert_eq!(kv.len().await, kv.keys().await.len());
    let all = kv.get_all().await;
    drop(kv);

    let kv = AsyncKv::open(&path).await.unwrap();
    assert_eq!(kv.get_all().await, all);
    assert_eq!(kv.get("d").await, Some(json!(3)));
    kv.clear().await.unwrap();
    assert!(kv.is_empty().await);
}

#[tokio::test(flavor = "current_thread")]
async fn a_second_open_is_locked_on_a_single_threaded_runtime_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.json");
    let _first = AsyncKv::open(&path).await.unwrap();
    assert!(matches!(
        AsyncKv::open(&path).await,
        Err(Error::Locked { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_tasks_lose_no_update() {
    let dir = tempfile::tempdir().unwrap();
    let kv = AsyncKv::from(Kv::open(dir.path().join("kv.json")).unwrap());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let kv = kv.clone();
            tokio::spawn(async move {
                for _ in 0..10 {
                    kv.update("hits", |v| {
                        Some(json!(
                            v.and_then(serde_json::Value::as_u64).unwrap_or(0) + 1
                        ))
                    })
                    .await
                    .unwrap();
                    // A read while other tasks write: answered, never lost.
                    assert!(kv.get("hits").await.is_some());
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(kv.get("hits").await, Some(json!(80)));
    assert_eq!(kv.blocking().get("hits"), Some(json!(80)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_calls_work_on_a_hand_set_clock() {
    use kv_native::{ManualClock, Ttl};
    use std::sync::Arc;
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_763_700_000));
    let options = Kv::options().clock(clock.clone());
    let kv = AsyncKv::open_with(dir.path().join("kv.json"), options)
        .await
        .unwrap();
    let s = Duration::from_secs;
    kv.set_with_ttl("a", 1, s(10)).await.unwrap();
    kv.set_as_with_ttl("b", &[1u8, 2], s(20)).await.unwrap();
    assert_eq!(kv.touch_with_ttl("c", s(30)).await.unwrap(), 1_763_700_000);
    assert!(kv.set_if_absent_with_ttl("d", 4, s(40)).await.unwrap());
    assert!(kv.touch_if_absent_with_ttl("e", s(50)).await.unwrap());
    kv.set_many_with_ttl([("f", 6), ("g", 7)], s(60))
        .await
        .unwrap();
    kv.set("h", 8).await.unwrap();
    assert!(kv.expire("h", Some(s(70))).await.unwrap());
    assert_eq!(kv.ttl("h").await, Ttl::Left(s(70)));
    let bump = |v: Option<&serde_json::Value>| Some(json!(v.unwrap().as_u64().unwrap() + 1));
    assert_eq!(kv.update("a", bump).await.unwrap(), Some(json!(2)));
    assert_eq!(kv.ttl("a").await, Ttl::Left(s(10)));
    clock.advance(35);
    assert_eq!(kv.get("a").await, None);
    assert_eq!(kv.len().await, 5);
    assert_eq!(kv.purge().await.unwrap(), 3);
    assert_eq!(kv.ttl("c").await, Ttl::Missing);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_memoized_calls_with_one_key_share_one_call() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let kv = AsyncKv::open(dir.path().join("kv.json")).await.unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let asked = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (kv, calls, asked) = (kv.clone(), Arc::clone(&calls), Arc::clone(&asked));
            tokio::spawn(async move {
                let waiting = Arc::clone(&asked);
                asked.fetch_add(1, Ordering::SeqCst);
                kv.get_or_insert_with("answer", Some(Duration::from_secs(60)), || async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    // The call stays open until every task has asked (and then some more
                    // turns of the scheduler), so they all ask while it runs.
                    while waiting.load(Ordering::SeqCst) < 8 {
                        tokio::task::yield_now().await;
                    }
                    for _ in 0..100 {
                        tokio::task::yield_now().await;
                    }
                    format!("computed by {i}")
                })
                .await
                .unwrap()
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(kv.get("answer").await, Some(json!(answers[0])));

    // A failed call stores nothing, and the next one runs its own.
    let failed: Result<String, Error> = kv
        .try_get_or_insert_with("flaky", None, || async { Err(Error::Incomplete) })
        .await;
    assert!(failed.is_err());
    assert!(!kv.contains("flaky").await);
    let ok: String = kv
        .get_or_insert_with("flaky", None, || async { "ok".to_owned() })
        .await
        .unwrap();
    assert_eq!(ok, "ok");
}
