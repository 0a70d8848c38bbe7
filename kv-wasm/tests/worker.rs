//! A dedicated worker: IndexedDB through the global object, and no `localStorage`.
#![cfg(target_arch = "wasm32")]

mod common;

use common::workers;
use wasm_bindgen_test::wasm_bindgen_test;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
async fn a_worker_opens_an_indexed_db_store_by_default_and_keeps_its_writes() {
    workers::opens_indexed_db_by_default_and_keeps_its_writes("worker").await;
}

#[wasm_bindgen_test]
async fn local_storage_in_a_worker_rejects_and_says_to_use_indexed_db() {
    workers::rejects_local_storage_and_says_to_use_indexed_db("worker-local").await;
}
