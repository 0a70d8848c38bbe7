//! `AsyncKv`: the same store as `async fn`, on tokio.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used)]

use kv_native::{AsyncKv, Error, Kv};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_works_and_survives_reopening() {
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
            let c = tx.get("c").cloned();
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
