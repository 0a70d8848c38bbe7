//! `Kv.open`'s options: where the store lives, its limits, its durability and its clock.

use js_sys::{Function, Reflect};
use kv_core::{Clock, Limits};
use wasm_bindgen::prelude::*;

use crate::error::type_error;
use crate::idb::Durability;

/// Where a store keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    IndexedDb,
    LocalStorage,
    Memory,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::IndexedDb => "indexedDB",
            Self::LocalStorage => "localStorage",
            Self::Memory => "memory",
        }
    }
}

/// What `Kv.open`'s options ask for.
pub(crate) struct Options {
    pub(crate) kind: Kind,
    pub(crate) limits: Limits,
    pub(crate) durability: Durability,
    pub(crate) clock: JsClock,
}

/// What a store reads the time from: `Date.now()`, or the function `options.clock` gave (a
/// test's hand-set time).
#[derive(Debug, Clone)]
pub(crate) enum JsClock {
    Date,
    Given(Function),
}

impl Clock for JsClock {
    fn now(&self) -> u64 {
        self.now_ms() / 1000
    }

    fn now_ms(&self) -> u64 {
        let ms = match self {
            Self::Date => js_sys::Date::now(),
            Self::Given(clock) => match clock.call0(&JsValue::UNDEFINED).map(|t| t.as_f64()) {
                Ok(Some(ms)) if ms >= 0.0 && ms.is_finite() => ms,
                // A clock cannot fail the write that reads it: the page hears of it, and the
                // store goes by the browser's time.
                Ok(_) | Err(_) => {
                    crate::json::report(&type_error(
                        "options.clock returned no time: it returns milliseconds since 1970, as Date.now() does; the store used Date.now()",
                    ));
                    js_sys::Date::now()
                }
            },
        };
        ms as u64
    }
}

pub(crate) fn parse_options(options: &JsValue) -> Result<Options, JsValue> {
    let mut parsed = Options {
        kind: Kind::IndexedDb,
        limits: Limits::DEFAULT,
        durability: Durability::Strict,
        clock: JsClock::Date,
    };
    if options.is_undefined() || options.is_null() {
        return Ok(parsed);
    }
    if !options.is_object() {
        return Err(type_error(
            "Kv.open's options are an object: { backend, limits, durability, clock }",
        ));
    }
    parsed.kind = choice(
        options,
        "backend",
        &[
            ("indexedDB", Kind::IndexedDb),
            ("localStorage", Kind::LocalStorage),
            ("memory", Kind::Memory),
        ],
        "options.backend is \"indexedDB\", \"localStorage\" or \"memory\"",
    )?;
    parsed.durability = choice(
        options,
        "durability",
        &[
            ("strict", Durability::Strict),
            ("relaxed", Durability::Relaxed),
            ("default", Durability::Default),
        ],
        "options.durability is \"strict\", \"relaxed\" or \"default\"",
    )?;
    let asked = Reflect::get(options, &"durability".into())?;
    if parsed.kind == Kind::LocalStorage && asked.as_string().as_deref() == Some("strict") {
        return Err(type_error(
            "localStorage cannot be durable \"strict\": the browser writes it to disk seconds after each call and no API flushes it, so a browser that is killed loses the latest writes; use { backend: \"indexedDB\" } (strict by default)",
        ));
    }
    let clock = Reflect::get(options, &"clock".into())?;
    if !clock.is_undefined() {
        let clock: Function = clock.dyn_into().map_err(|_| {
            type_error(
                "options.clock is a function returning milliseconds since 1970, as Date.now() does",
            )
        })?;
        parsed.clock = JsClock::Given(clock);
    }
    let limits = Reflect::get(options, &"limits".into())?;
    if limits.is_undefined() {
        return Ok(parsed);
    }
    if !limits.is_object() {
        return Err(type_error(
            "options.limits is an object: { maxKeyBytes, maxValueBytes, maxEntries }",
        ));
    }
    if let Some(n) = limit(&limits, "maxKeyBytes")? {
        parsed.limits = parsed.limits.max_key_bytes(n);
    }
    if let Some(n) = limit(&limits, "maxValueBytes")? {
        parsed.limits = parsed.limits.max_value_bytes(n);
    }
    if let Some(n) = limit(&limits, "maxEntries")? {
        parsed.limits = parsed.limits.max_entries(n);
    }
    Ok(parsed)
}

/// The option `field` of `options`, one of `choices` by name; the first choice if it is absent.
fn choice<T: Copy>(
    options: &JsValue,
    field: &str,
    choices: &[(&str, T)],
    expected: &str,
) -> Result<T, JsValue> {
    let value = Reflect::get(options, &field.into())?;
    if value.is_undefined() {
        return Ok(choices[0].1);
    }
    let name = value.as_string();
    choices
        .iter()
        .find(|(n, _)| name.as_deref() == Some(*n))
        .map(|(_, choice)| *choice)
        .ok_or_else(|| type_error(expected))
}

fn limit(limits: &JsValue, field: &str) -> Result<Option<usize>, JsValue> {
    let value = Reflect::get(limits, &field.into())?;
    if value.is_undefined() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(n) if (0.0..=9_007_199_254_740_991.0).contains(&n) && n == (n as u64) as f64 => {
            Ok(Some(n as usize))
        }
        _ => Err(type_error(&crate::error::concat(&[
            "options.limits.",
            field,
            " is a whole number of at least 0",
        ]))),
    }
}
