//! The write calls, each as the [`Op`] its JS method queues once its arguments are decoded:
//! what it stages in the core's transaction, what its promise resolves, and which keys it
//! depends on (those are read from storage inside the commit, see `write.rs`).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use js_sys::{Function, Promise};
use kv_core::{JsonText, Transaction};
use wasm_bindgen::prelude::*;

use crate::args::optional_value;
use crate::error::{ErrorName, js_error};
use crate::json::to_js;
use crate::write::{Op, OpError};

/// A call that depends on the stored state of `reads`.
fn reading(
    reads: Vec<String>,
    run: impl FnMut(&mut Transaction<'_, JsonText>) -> Result<JsValue, OpError> + 'static,
) -> Op {
    Op {
        reads: Some(reads),
        run: Box::new(run),
    }
}

/// A blind call: it depends on nothing stored.
fn blind(
    run: impl FnMut(&mut Transaction<'_, JsonText>) -> Result<JsValue, OpError> + 'static,
) -> Op {
    Op {
        reads: None,
        run: Box::new(run),
    }
}

/// `set`: `value`, or (`None`) the time in whole seconds; resolves `undefined`.
pub(crate) fn set(key: String, value: Option<JsonText>, ttl: Option<Duration>) -> Op {
    blind(move |tx| {
        let value = value.clone().unwrap_or_else(|| JsonText::from(tx.now()));
        match ttl {
            Some(ttl) => tx.set_with_ttl(key.clone(), value, ttl)?,
            None => tx.set(key.clone(), value)?,
        }
        Ok(JsValue::UNDEFINED)
    })
}

/// `setIfAbsent`: resolves whether it set the key.
pub(crate) fn set_if_absent(key: String, value: Option<JsonText>, ttl: Option<Duration>) -> Op {
    reading(vec![key.clone()], move |tx| {
        let value = value.clone().unwrap_or_else(|| JsonText::from(tx.now()));
        let set = match ttl {
            Some(ttl) => tx.set_if_absent_with_ttl(key.clone(), value, ttl)?,
            None => tx.set_if_absent(key.clone(), value)?,
        };
        Ok(set.into())
    })
}

/// `delete`: resolves whether the key existed.
pub(crate) fn delete(key: String) -> Op {
    reading(vec![key.clone()], move |tx| Ok(tx.delete(&key).into()))
}

/// `setMany`: resolves `undefined`.
pub(crate) fn set_many(entries: Vec<(String, JsonText)>, ttl: Option<Duration>) -> Op {
    blind(move |tx| {
        for (key, value) in &entries {
            match ttl {
                Some(ttl) => tx.set_with_ttl(key.clone(), value.clone(), ttl)?,
                None => tx.set(key.clone(), value.clone())?,
            }
        }
        Ok(JsValue::UNDEFINED)
    })
}

/// `deleteMany`: resolves how many of the keys existed.
pub(crate) fn delete_many(keys: Vec<String>) -> Op {
    reading(keys.clone(), move |tx| {
        let existed = keys.iter().filter(|key| tx.delete(key)).count();
        Ok(JsValue::from_f64(existed as f64))
    })
}

/// `update`: `updater(current)` sets the key (keeping its expiry), `undefined` deletes it;
/// resolves the new value.
pub(crate) fn update(key: String, updater: Function) -> Op {
    reading(vec![key.clone()], move |tx| {
        // The mirror is only read while the function runs, so it may read this store.
        let current = tx.get(&key).map_or(JsValue::UNDEFINED, to_js);
        let next = updater
            .call1(&JsValue::UNDEFINED, &current)
            .map_err(OpError::Js)?;
        if next.has_type::<Promise>() {
            return Err(OpError::Js(js_error(
                ErrorName::InvalidValue,
                "update's function returned a Promise: it must return the new value itself",
            )));
        }
        match optional_value(&next).map_err(OpError::Js)? {
            Some(value) => {
                tx.set_keeping_ttl(key.clone(), value.clone())?;
                Ok(to_js(&value))
            }
            None => {
                tx.delete(&key);
                Ok(JsValue::UNDEFINED)
            }
        }
    })
}

/// `expire`: resolves whether the key exists.
pub(crate) fn expire(key: String, ttl: Option<Duration>) -> Op {
    reading(vec![key.clone()], move |tx| {
        Ok(tx.expire(&key, ttl)?.into())
    })
}

/// `purge`: resolves how many expired keys it removed.
pub(crate) fn purge() -> Op {
    reading(Vec::new(), |tx| Ok(JsValue::from_f64(tx.purge() as f64)))
}

/// `clear`: resolves `undefined`.
pub(crate) fn clear() -> Op {
    blind(|tx| {
        tx.clear();
        Ok(JsValue::UNDEFINED)
    })
}

/// A transaction of Rust code (no JS method has one): decided against storage for every key
/// it reads, as `purge` is.
pub(crate) fn transaction(
    run: impl FnMut(&mut Transaction<'_, JsonText>) -> Result<JsValue, OpError> + 'static,
) -> Op {
    reading(Vec::new(), run)
}
