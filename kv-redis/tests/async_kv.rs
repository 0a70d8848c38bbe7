//! `AsyncKv` (feature `tokio`) against a real `redis-server`: many tasks on two handles claim
//! each ID once, count without losing an update, and see each other's writes.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used)]

mod server;

use std::time::Duration;

use kv_redis::AsyncKv;
use serde_json::json;
use server::Server;

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
