//! The arguments JS passes, checked and decoded: keys, values, `setMany`'s entries and
//! `deleteMany`'s keys.

use alloc::string::String;
use alloc::vec::Vec;

use js_sys::Array;
use kv_core::JsonText;
use wasm_bindgen::prelude::*;

use crate::error::type_error;
use crate::json::{own_entries, to_value};

/// A key as given by JS: a string that is valid UTF-16 (else it could not be kept as is).
pub(crate) fn key_of(key: &JsValue) -> Result<String, JsValue> {
    crate::json::check_key(key)
}

/// A value as given by JS; `undefined` is none.
pub(crate) fn optional_value(value: &JsValue) -> Result<Option<JsonText>, JsValue> {
    if value.is_undefined() {
        Ok(None)
    } else {
        to_value(value).map(Some)
    }
}

/// The entries `setMany` was given: `[key, value]` pairs from an iterable, or an object's
/// own properties.
pub(crate) fn entries_of(entries: &JsValue) -> Result<Vec<(String, JsonText)>, JsValue> {
    let shape =
        || type_error("setMany takes an object, a Map or an iterable of [key, value] pairs");
    let pairs = match js_sys::try_iter(entries)? {
        Some(pairs) => pairs,
        None => match js_sys::try_iter(&own_entries(entries)?)? {
            Some(pairs) => pairs,
            None => return Err(shape()),
        },
    };
    let mut out = Vec::new();
    for pair in pairs {
        let pair = pair?;
        if !Array::is_array(&pair) {
            return Err(shape());
        }
        let pair: Array = pair.unchecked_into();
        let key = key_of(&pair.get(0))?;
        let value = to_value(&pair.get(1))?;
        out.push((key, value));
    }
    Ok(out)
}

/// The keys `deleteMany` was given.
pub(crate) fn keys_of(keys: &JsValue) -> Result<Vec<String>, JsValue> {
    let Some(keys) = js_sys::try_iter(keys)? else {
        return Err(type_error(
            "deleteMany takes an array (or any iterable) of keys",
        ));
    };
    keys.map(|key| key_of(&key?)).collect()
}
