//! Expiry and memoize through the JS API, on every backend, with a clock set by hand, and how
//! another context's commits reach `onChange` around the lazy load (the cases are in
//! `expiry.js`).
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use js_sys::Promise;
use js_sys::futures::JsFuture;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/tests/expiry.js")]
extern "C" {
    #[wasm_bindgen(js_name = theJsSurface)]
    fn the_js_surface(kv: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = badTtlsAreErrorsNamingTheValue)]
    fn bad_ttls_are_errors_naming_the_value(kv: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = removalsAreReportedAsDeletes)]
    fn removals_are_reported_as_deletes(kv: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = aRemovalNeverDeletesAKeySetAgainElsewhere)]
    fn a_removal_never_deletes_a_key_set_again_elsewhere(kv: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = anotherContextLearnsExpiries)]
    fn another_context_learns_expiries(kv: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = aCommitTheLoadReadIsHeardOnceItsAnnouncementArrives)]
    fn a_commit_the_load_read_is_heard_once_its_announcement_arrives(kv: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = aCommitToldBeforeItsAnnouncementIsHeardOnce)]
    fn a_commit_told_before_its_announcement_is_heard_once(kv: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = anItemTheLoadReadIsHeardOnceItsStorageEventArrives)]
    fn an_item_the_load_read_is_heard_once_its_storage_event_arrives(kv: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = memoizeKeepsResults)]
    fn memoize_keeps_results(kv: &JsValue) -> Promise;
}

/// Runs one case of `expiry.js`, handing it a store for its class.
async fn run(case: fn(&JsValue) -> Promise) {
    let kv = open(&unique("class"), r#"{"backend":"memory"}"#).await;
    if let Err(e) = JsFuture::from(case(&kv)).await {
        panic!("{}", describe(&e));
    }
}

#[wasm_bindgen_test]
async fn every_expiry_call_works_on_every_backend() {
    run(the_js_surface).await;
}

#[wasm_bindgen_test]
async fn a_bad_ttl_is_an_error_naming_it_and_changes_nothing() {
    run(bad_ttls_are_errors_naming_the_value).await;
}

#[wasm_bindgen_test]
async fn removals_of_expired_keys_reach_listeners_as_deletes() {
    run(removals_are_reported_as_deletes).await;
}

#[wasm_bindgen_test]
async fn a_removal_never_deletes_a_key_another_context_set_again() {
    run(a_removal_never_deletes_a_key_set_again_elsewhere).await;
}

#[wasm_bindgen_test]
async fn another_context_learns_expiries_from_the_records() {
    run(another_context_learns_expiries).await;
}

#[wasm_bindgen_test]
async fn a_commit_the_load_read_is_heard_once_its_announcement_arrives_after_the_load() {
    run(a_commit_the_load_read_is_heard_once_its_announcement_arrives).await;
}

#[wasm_bindgen_test]
async fn a_commit_read_inside_a_write_before_its_announcement_is_heard_once() {
    run(a_commit_told_before_its_announcement_is_heard_once).await;
}

#[wasm_bindgen_test]
async fn an_item_the_load_read_is_heard_once_its_storage_event_arrives_after_the_load() {
    run(an_item_the_load_read_is_heard_once_its_storage_event_arrives).await;
}

#[wasm_bindgen_test]
async fn memoize_keeps_results_shares_calls_and_skips_undefined_and_rejections() {
    run(memoize_keeps_results).await;
}
