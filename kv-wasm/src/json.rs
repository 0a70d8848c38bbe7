//! Values across the boundary: JS values to [`JsonText`] and back.
//!
//! JS values leave as JSON text written by the engine's own `JSON.stringify`, guarded so that
//! anything JSON cannot hold is refused rather than changed (see `browser.js`); the store keeps
//! that text as it is (checked, never parsed in wasm), and values come back through
//! `JSON.parse`. One crossing per value, whatever its size.

use alloc::string::String;
use kv_core::{Error, JsonText, Limit, LimitExceeded, Limits};
use wasm_bindgen::prelude::*;

use crate::error::{BrowserError, ErrorName, core_error, js_error};

#[wasm_bindgen(module = "/src/browser.js")]
extern "C" {
    #[wasm_bindgen(js_name = toJson, catch)]
    fn to_json(value: &JsValue) -> Result<String, JsValue>;

    /// `key` if it is a string that is valid UTF-16; an `InvalidKeyError` otherwise.
    #[wasm_bindgen(js_name = checkKey, catch)]
    pub(crate) fn check_key(key: &JsValue) -> Result<String, JsValue>;

    /// `[key, value]` for each own property of a plain object; `null` for anything else.
    #[wasm_bindgen(js_name = ownEntries, catch)]
    pub(crate) fn own_entries(value: &JsValue) -> Result<JsValue, JsValue>;

    /// A promise that resolves in a later task (after the current one and its microtasks).
    #[wasm_bindgen(js_name = nextTask)]
    pub(crate) fn next_task() -> js_sys::Promise;

    /// Hands an error to the host's `reportError` (or the console) without throwing it.
    pub(crate) fn report(error: &JsValue);
}

/// The JSON value `value` holds, or an `InvalidValueError` naming what JSON cannot hold.
pub(crate) fn to_value(value: &JsValue) -> Result<JsonText, JsValue> {
    // JSON.stringify writes valid JSON but for two cases, which the core refuses: a lone
    // surrogate, escaped as \udXXX, which no UTF-8 string can hold; and nesting past what a
    // store can read back.
    JsonText::new(&to_json(value)?).map_err(|e| {
        if e.is_too_deep() {
            // The scanner gave up one level past what a lone value may hold; the value nests
            // at least that deep.
            let over = LimitExceeded {
                limit: Limit::Nesting,
                actual: Limits::MAX_NESTING + 2,
                max: Limits::MAX_NESTING,
            };
            core_error::<BrowserError>(&Error::Rejected(over.into()), |_| JsValue::NULL)
        } else {
            js_error(
                ErrorName::InvalidValue,
                "a string in the value holds a lone UTF-16 surrogate, which is not text: repair the string first",
            )
        }
    })
}

/// The JS value for `value`.
pub(crate) fn to_js(value: &JsonText) -> JsValue {
    from_text(value.as_str())
}

/// The JS value for JSON text the core checked or this crate wrote (a record, a whole map).
pub(crate) fn from_text(text: &str) -> JsValue {
    // Checked text always parses; `undefined` would only hide a bug, not a user's error.
    js_sys::JSON::parse(text).unwrap_or(JsValue::UNDEFINED)
}

/// Text the core encoded: always UTF-8 (its values are checked JSON text).
pub(crate) fn utf8(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap_or_default()
}
