//! What the browser tests share: the JS API called as JS calls it, and fresh names.

#![allow(dead_code, unreachable_pub)]

pub mod workers;

use js_sys::futures::JsFuture;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/tests/common/helpers.js")]
extern "C" {
    /// Values JSON cannot hold, each paired with a description.
    pub fn unstorable() -> js_sys::Array;
    /// A promise of the next event `kv.onChange` delivers.
    #[wasm_bindgen(js_name = nextChange)]
    pub fn next_change(kv: &JsValue) -> Promise;
    /// A promise of the first event from `kv.onChange` that changes `key`.
    #[wasm_bindgen(js_name = changeTo)]
    pub fn change_to(kv: &JsValue, key: &str) -> Promise;
    /// `JSON.stringify` with sorted keys, for comparing values.
    pub fn canonical(value: &JsValue) -> String;
    /// Fills `localStorage` until only a little under `reserve` characters of quota are
    /// left; returns the filler item names.
    #[wasm_bindgen(js_name = fillLocalStorage)]
    pub fn fill_local_storage(reserve: u32) -> js_sys::Array;
    /// Opens the IndexedDB database `name` at one version more than it has and closes it:
    /// what a newer version of a page does.
    #[wasm_bindgen(js_name = bumpVersion)]
    pub fn bump_version(name: &str) -> Promise;
    /// Starts recording the durability of every `readwrite` IndexedDB transaction:
    /// `{ seen: string[], stop() }`.
    #[wasm_bindgen(js_name = recordDurability)]
    pub fn record_durability() -> JsValue;
    /// Makes the next `n` commits of this page fail in storage: an IndexedDB transaction
    /// aborts after its requests, a localStorage commit throws once written and is undone.
    #[wasm_bindgen(js_name = failCommits)]
    pub fn fail_commits(n: u32);
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        js_sys::Date::now(),
        (js_sys::Math::random() * 1e9) as u64
    )
}

/// `JSON.parse(text)`.
pub fn json(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap_or_else(|e| panic!("test JSON {text:?}: {e:?}"))
}

/// `Kv.open(name, options)`, as JS awaits it.
pub async fn try_open(name: &str, options: &str) -> Result<JsValue, JsValue> {
    JsFuture::from(kv_wasm::Kv::open(name.into(), json(options))).await
}

/// `Kv.open(name, options)`, which must succeed.
pub async fn open(name: &str, options: &str) -> JsValue {
    try_open(name, options)
        .await
        .unwrap_or_else(|e| panic!("Kv.open({name:?}, {options}) failed: {}", describe(&e)))
}

/// Calls `kv[method](...args)` now, as JS does, and returns what it returns, awaited if it
/// is a promise.
pub fn start(
    kv: &JsValue,
    method: &str,
    args: &[JsValue],
) -> impl std::future::Future<Output = Result<JsValue, JsValue>> + 'static {
    let f: Function = Reflect::get(kv, &method.into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .unwrap_or_else(|| panic!("Kv has no method {method}"));
    let returned = f.apply(kv, &args.iter().collect());
    async move {
        match returned?.dyn_into::<Promise>() {
            Ok(promise) => JsFuture::from(promise).await,
            Err(value) => Ok(value),
        }
    }
}

/// `kv[method](...args)`, awaited if it returns a promise.
pub async fn try_call(kv: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    start(kv, method, args).await
}

/// `kv[method](...args)`, which must succeed.
pub async fn call(kv: &JsValue, method: &str, args: &[JsValue]) -> JsValue {
    try_call(kv, method, args)
        .await
        .unwrap_or_else(|e| panic!("kv.{method} failed: {}", describe(&e)))
}

/// The `name` of the error `kv[method](...args)` rejects with; panics if it succeeds.
pub async fn rejection(kv: &JsValue, method: &str, args: &[JsValue]) -> String {
    match try_call(kv, method, args).await {
        Ok(v) => panic!("kv.{method} succeeded with {v:?}, expected a rejection"),
        Err(e) => error_name(&e),
    }
}

/// An error's `name`.
pub fn error_name(error: &JsValue) -> String {
    Reflect::get(error, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default()
}

/// An error's `message`.
pub fn error_message(error: &JsValue) -> String {
    Reflect::get(error, &"message".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default()
}

/// `name: message`.
pub fn describe(error: &JsValue) -> String {
    format!("{}: {}", error_name(error), error_message(error))
}

/// The store's whole content, canonical JSON.
pub async fn content(kv: &JsValue) -> String {
    canonical(&call(kv, "getAll", &[]).await)
}
