//! The arguments JS passes, checked and decoded: keys, values, `setMany`'s entries and
//! `deleteMany`'s keys, times to live.

use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use js_sys::Array;
use kv_core::JsonText;
use wasm_bindgen::prelude::*;

use crate::error::{argument_error, concat};
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
    let shape = || {
        argument_error(
            "setMany(entries) takes an object, a Map or an iterable of [key, value] pairs",
            entries,
        )
    };
    // `try_iter` asks `Reflect.get`, which throws on anything but an object.
    if !entries.is_object() {
        return Err(shape());
    }
    let pairs = match js_sys::try_iter(entries)? {
        Some(pairs) => pairs,
        None => match own_entries(entries)? {
            own if own.is_object() => js_sys::try_iter(&own)?.ok_or_else(shape)?,
            _ => return Err(shape()),
        },
    };
    let mut out = Vec::new();
    for pair in pairs {
        let pair = pair?;
        if !Array::is_array(&pair) {
            return Err(argument_error(
                "each of setMany's entries is a [key, value] pair",
                &pair,
            ));
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
    let shape = || {
        argument_error(
            "deleteMany(keys) takes an array (or any iterable) of string keys",
            keys,
        )
    };
    // A string is iterable, but its characters are not the keys anyone meant.
    if !keys.is_object() {
        return Err(shape());
    }
    let Some(iter) = js_sys::try_iter(keys)? else {
        return Err(shape());
    };
    iter.map(|key| key_of(&key?)).collect()
}

#[wasm_bindgen(module = "/src/browser.js")]
extern "C" {
    /// The seconds `ttl` gives, checked (see `browser.js`): a `TypeError` or `RangeError`
    /// naming it otherwise.
    #[wasm_bindgen(js_name = ttlOf, catch)]
    fn ttl_seconds(ttl: &JsValue, what: &str) -> Result<f64, JsValue>;
}

/// A time to live as JS gives it: seconds, fractions allowed, at least 0.001 and finite
/// (`what` names the argument in the error). A `TypeError` for anything but a number, a
/// `RangeError` for a number out of range; the error names the value given.
pub(crate) fn ttl_of(ttl: &JsValue, what: &str) -> Result<Duration, JsValue> {
    let seconds = ttl_seconds(ttl, what)?;
    // Rounded to the microsecond (no_std has no `f64::round`; the number is positive).
    Ok(Duration::from_micros((seconds * 1e6 + 0.5) as u64))
}

/// The `ttl` of a write's options (`{ ttl }`, `undefined` or `{}`: none).
pub(crate) fn write_ttl(options: &JsValue, call: &str) -> Result<Option<Duration>, JsValue> {
    if options.is_undefined() {
        return Ok(None);
    }
    if !options.is_object() || js_sys::Array::is_array(options) {
        return Err(argument_error(
            &concat(&[call, "'s options are an object: { ttl }"]),
            options,
        ));
    }
    let ttl = js_sys::Reflect::get(options, &"ttl".into())?;
    if ttl.is_undefined() {
        return Ok(None);
    }
    ttl_of(&ttl, &concat(&[call, "'s options.ttl"])).map(Some)
}
