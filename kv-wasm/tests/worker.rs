//! A dedicated worker: IndexedDB through the global object, and no `localStorage`.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
async fn a_worker_opens_an_indexed_db_store_by_default_and_keeps_its_writes() {
    let name = unique("worker");
    let kv = open(&name, "null").await;
    call(
        &kv,
        "set",
        &[JsValue::from_str("from"), JsValue::from_str("worker")],
    )
    .await;
    call(&kv, "set", &[JsValue::from_str("seen:1")]).await;
    call(&kv, "close", &[]).await;
    let kv = open(&name, "null").await;
    assert_eq!(
        call(&kv, "get", &[JsValue::from_str("from")]).await,
        JsValue::from_str("worker")
    );
    assert!(
        call(&kv, "get", &[JsValue::from_str("seen:1")])
            .await
            .as_f64()
            .is_some()
    );
}

#[wasm_bindgen_test]
async fn local_storage_in_a_worker_rejects_and_says_to_use_indexed_db() {
    let error = try_open(&unique("worker-local"), r#"{"backend":"localStorage"}"#)
        .await
        .expect_err("a worker has no localStorage");
    assert_eq!(error_name(&error), "StorageUnavailableError");
    assert!(
        error_message(&error).contains("indexedDB"),
        "{}",
        describe(&error)
    );
}
