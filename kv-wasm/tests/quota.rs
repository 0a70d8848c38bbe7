//! A full `localStorage`: in its own test binary, so its filled origin affects no other test.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use js_sys::Reflect;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn a_batch_over_the_quota_is_rejected_and_storage_keeps_what_it_had() {
    let name = unique("quota");
    let kv = open(&name, r#"{"backend":"localStorage"}"#).await;
    call(&kv, "set", &[JsValue::from_str("a"), JsValue::from(1)]).await;
    let fillers = fill_local_storage(1000);
    // Written in key order: "a" (overwritten) and "a2" (new) fit in what is left; "b" cannot,
    // so "a" and "a2" are put back as they were.
    let entries = json(&format!(
        r#"{{"a": "{0}", "a2": "{0}", "b": "{1}"}}"#,
        "x".repeat(300),
        "y".repeat(8000)
    ));
    let error = try_call(&kv, "setMany", &[entries])
        .await
        .expect_err("the batch fit");
    let storage = Reflect::get(&js_sys::global(), &"localStorage".into()).expect("localStorage");
    let item = |key: &str| {
        let item = format!("{}{key}", kv_wasm::LocalPersist::prefix(&name));
        let get: js_sys::Function = Reflect::get(&storage, &"getItem".into())
            .expect("getItem")
            .into();
        get.call1(&storage, &item.into()).expect("getItem")
    };
    let (a, a2) = (item("a"), item("a2"));
    for filler in fillers.iter() {
        let remove: js_sys::Function = Reflect::get(&storage, &"removeItem".into())
            .expect("removeItem")
            .into();
        let _ = remove.call1(&storage, &filler);
    }
    assert_eq!(
        error_name(&error),
        "QuotaExceededError",
        "{}",
        describe(&error)
    );
    assert_eq!(
        a.as_string().as_deref(),
        Some("1"),
        "the overwritten item was restored"
    );
    assert!(
        a2.is_null(),
        "the new item written before the failure was removed again"
    );
    assert_eq!(
        content(&kv).await,
        r#"{"a":1}"#,
        "the mirror equals storage"
    );
    call(
        &kv,
        "set",
        &[JsValue::from_str("b"), JsValue::from_str("fits now")],
    )
    .await;
}
