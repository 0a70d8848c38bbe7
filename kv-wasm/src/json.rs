//! Values across the boundary: JS values to [`Value`] and back, through JSON text.
//!
//! JS values leave as JSON text written by the engine's own `JSON.stringify`, guarded so that
//! anything JSON cannot hold is refused rather than changed (see `json.js`); values come back
//! through `JSON.parse`. One crossing per value, whatever its size.

use kv_core::Value;
use wasm_bindgen::prelude::*;

use crate::error::{ErrorName, js_error};

#[wasm_bindgen(module = "/src/json.js")]
extern "C" {
    #[wasm_bindgen(js_name = toJson, catch)]
    fn to_json(value: &JsValue) -> Result<String, JsValue>;

    /// Hands an error to the host's `reportError` (or the console) without throwing it.
    pub(crate) fn report(error: &JsValue);
}

/// The JSON value `value` holds, or an `InvalidValueError` naming what JSON cannot hold.
pub(crate) fn to_value(value: &JsValue) -> Result<Value, JsValue> {
    let text = to_json(value)?;
    serde_json::from_str(&text).map_err(|_| {
        // JSON.stringify escapes a lone surrogate as \udXXX; no UTF-8 string can hold it.
        js_error(
            ErrorName::InvalidValue,
            "a string in the value holds a lone UTF-16 surrogate, which is not text: repair the string first",
        )
    })
}

/// The JS value for `value`.
pub(crate) fn to_js(value: &Value) -> JsValue {
    from_text(&value.to_string())
}

/// The JS value for JSON text this crate wrote (an encoded record, a serialized map).
pub(crate) fn from_text(text: &str) -> JsValue {
    // Text from serde_json always parses; `undefined` would only hide a bug, not a user's error.
    js_sys::JSON::parse(text).unwrap_or(JsValue::UNDEFINED)
}
