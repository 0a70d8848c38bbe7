//! `AsyncKv` (feature `tokio`) against a real `redis-server`: many tasks on two handles claim
//! each ID once, count without losing an update, and see each other's writes.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used)]

mod server;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kv_redis::{AsyncKv, Error, ErrorKind, Kv, ManualClock, Ttl};
use serde_json::json;
use server::Server;

/// 2025-11-21T04:53:20Z, in unix seconds.
const NOW: u64 = 1_763_700_000;

async fn open(server: &Server, name: &str, clock: &Arc<ManualClock>) -> AsyncKv {
    let options = Kv::options().clock(clock.clone());
    AsyncKv::open_with(&server.url(), name, options)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_on_two_handles_claim_each_id_once_and_lose_no_update() {
    let server = Server::start();
    let a = AsyncKv::open(&server.url(), "tasks").await.unwrap();
    let b = AsyncKv::open(&server.url(), "tasks").await.unwrap();
    let mut tasks = Vec::new();
    for kv in [a.clone(), b.clone(), a.clone(), b.clone()] {
        tasks.push(tokio::spawn(async move {
            let mut claimed = 0;
            for i in 0..40 {
                claimed += usize::from(kv.touch_if_absent(format!("seen:{i}")).await.unwrap());
                kv.update("n", |v| {
                    Some(json!(v.and_then(|v| v.as_u64()).unwrap_or(0) + 1))
                })
                .await
                .unwrap();
            }
            claimed
        }));
    }
    let mut claimed = 0;
    for task in tasks {
        claimed += task.await.unwrap();
    }
    assert_eq!(claimed, 40);
    for kv in [&a, &b] {
        wait_for(kv, "n", json!(160)).await;
    }
    assert_eq!(b.len(), 41);
}

/// Waits until `kv`'s copy shows `want` under `key`, following announcements.
async fn wait_for(kv: &AsyncKv, key: &str, want: serde_json::Value) {
    let mut seen = kv.seq();
    while kv.get(key).as_ref() != Some(&want) {
        let now = kv.wait_past(seen, Duration::from_secs(30)).await;
        assert!(now > seen, "no announcement: {key} is {:?}", kv.get(key));
        seen = now;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_expiry_call_works_as_on_kv() {
    let server = Server::start();
    let clock = Arc::new(ManualClock::new(NOW));
    let kv = open(&server, "ttl", &clock).await;
    let secs = Duration::from_secs;
    kv.set_with_ttl("a", 1, secs(10)).await.unwrap();
    kv.set_as_with_ttl("b", &[1, 2], secs(20)).await.unwrap();
    assert_eq!(kv.touch_with_ttl("c", secs(30)).await.unwrap(), NOW);
    assert!(kv.set_if_absent_with_ttl("d", 4, secs(40)).await.unwrap());
    assert!(!kv.set_if_absent_with_ttl("d", 5, secs(40)).await.unwrap());
    kv.set_many_with_ttl([("e", 5), ("f", 6)], secs(50))
        .await
        .unwrap();
    kv.update("a", |v| v.map(|v| json!(v.as_u64().unwrap() + 1)))
        .await
        .unwrap();
    assert_eq!(kv.ttl("a"), Ttl::Left(secs(10)), "update keeps the expiry");
    assert!(kv.expire("b", None).await.unwrap());
    assert!(!kv.expire("absent", Some(secs(1))).await.unwrap());
    // The memoizing call is a future tokio can spawn (Send, 'static).
    let spawned = kv.clone();
    let name = tokio::spawn(async move {
        spawned
            .get_or_insert_with("name", None, || async { "Ada".to_owned() })
            .await
            .unwrap()
    });
    assert_eq!(name.await.unwrap(), "Ada");
    kv.delete("name").await.unwrap();
    let e = kv.set_with_ttl("x", 1, Duration::ZERO).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidTtl);
    clock.advance(30);
    assert_eq!(kv.keys().len(), 4, "{:?}", kv.keys());
    assert_eq!(kv.ttl("b"), Ttl::Never);
    assert_eq!(kv.get("d"), Some(json!(4)));
    clock.advance(100);
    assert_eq!(kv.purge().await.unwrap(), 5);
    assert_eq!(
        kv.get_all(),
        json!({"b": [1, 2]}).as_object().unwrap().clone()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn tasks_asking_for_the_same_key_share_one_call_of_an_async_f() {
    let server = Server::start();
    let clock = Arc::new(ManualClock::new(NOW));
    let kv = open(&server, "memo", &clock).await;
    let calls = AtomicUsize::new(0);
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let released = tokio::sync::Mutex::new(Some(released));
    let ask = |i: u64| {
        let (kv, calls, released) = (kv.clone(), &calls, &released);
        async move {
            kv.get_or_insert_with("slow", Some(Duration::from_secs(60)), || async move {
                calls.fetch_add(1, Ordering::Relaxed);
                // The first call waits until every other task is waiting for it.
                if let Some(released) = released.lock().await.take() {
                    released.await.unwrap();
                }
                i
            })
            .await
            .unwrap()
        }
    };
    // One thread polls the futures in order: the first is computing and the rest are
    // waiting before `release` is sent.
    let (a, b, c, ()) = tokio::join!(ask(1), ask(2), ask(3), async {
        release.send(()).unwrap();
    });
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert_eq!((a, b, c), (1, 1, 1));
    assert_eq!(kv.ttl("slow"), Ttl::Left(Duration::from_secs(60)));
    clock.advance(60);
    assert_eq!(ask(4).await, 4, "computed again once expired");
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_call_stores_nothing_and_the_next_waiting_task_calls_its_own() {
    let server = Server::start();
    let clock = Arc::new(ManualClock::new(NOW));
    let kv = open(&server, "memo", &clock).await;
    let calls = AtomicUsize::new(0);
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let released = tokio::sync::Mutex::new(Some(released));
    let ask = |fail: bool| {
        let (kv, calls, released) = (kv.clone(), &calls, &released);
        async move {
            kv.try_get_or_insert_with("k", None, || async move {
                calls.fetch_add(1, Ordering::Relaxed);
                if let Some(released) = released.lock().await.take() {
                    released.await.unwrap();
                }
                if fail { Err(Error::Incomplete) } else { Ok(7) }
            })
            .await
        }
    };
    let (a, b, c, ()) = tokio::join!(ask(true), ask(false), ask(true), async {
        release.send(()).unwrap();
    });
    assert!(matches!(a, Err(Error::Incomplete)), "{a:?}");
    assert_eq!((b.unwrap(), c.unwrap()), (7, 7));
    assert_eq!(calls.load(Ordering::Relaxed), 2);
    let e = kv
        .get_or_insert_with("new", Some(Duration::ZERO), || async { 1 })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidTtl);
    // A stored value that is not the type asked for is an error naming the key; f does not run.
    kv.set("text", "not a number").await.unwrap();
    let e = kv
        .get_or_insert_with("text", None, || async { unreachable!() as u64 })
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Value { key, .. } if key == "text"),
        "{e}"
    );
    assert!(
        kv.touch_if_absent_with_ttl("seen", Duration::from_secs(5))
            .await
            .unwrap()
    );
    assert!(
        !kv.touch_if_absent_with_ttl("seen", Duration::from_secs(5))
            .await
            .unwrap()
    );
    assert_eq!(kv.get("seen"), Some(json!(NOW)));
    assert_eq!(kv.ttl("seen"), Ttl::Left(Duration::from_secs(5)));
    let e = kv
        .touch_if_absent_with_ttl("seen2", Duration::ZERO)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidTtl);
    assert!(!kv.contains("new"));
}
