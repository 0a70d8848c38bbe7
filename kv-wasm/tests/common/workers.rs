//! What every kind of worker must do, checked the same way in each (one test binary per kind,
//! since a binary runs in one kind of context).

use wasm_bindgen::JsValue;

use super::*;

/// `Kv.open` with no backend reaches IndexedDB through the worker's global object, and what
/// it writes is there when the store is opened again.
pub async fn opens_indexed_db_by_default_and_keeps_its_writes(context: &str) {
    let name = unique(context);
    let kv = open(&name, "null").await;
    let args = [JsValue::from_str("from"), JsValue::from_str(context)];
    call(&kv, "set", &args).await;
    call(&kv, "set", &[JsValue::from_str("seen:1")]).await;
    call(&kv, "close", &[]).await;
    let kv = open(&name, "null").await;
    assert_eq!(
        call(&kv, "get", &[JsValue::from_str("from")]).await,
        JsValue::from_str(context)
    );
    let seen = call(&kv, "get", &[JsValue::from_str("seen:1")]).await;
    assert!(seen.as_f64().is_some(), "a value-less set stores the time");
}

/// Asking for `localStorage` where there is none rejects, naming IndexedDB as the way out.
pub async fn rejects_local_storage_and_says_to_use_indexed_db(context: &str) {
    let error = try_open(&unique(context), r#"{"backend":"localStorage"}"#)
        .await
        .expect_err("a worker has no localStorage");
    assert_eq!(error_name(&error), "StorageUnavailableError");
    let message = error_message(&error);
    assert!(message.contains("indexedDB"), "{}", describe(&error));
    // A worker will never have localStorage: trying again cannot help.
    assert!(!message.contains("retry"), "{}", describe(&error));
}
