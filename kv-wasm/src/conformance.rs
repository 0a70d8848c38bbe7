//! The conformance suite's way into [`Kv`] (`tests/conformance.rs`): a store opened through
//! `Kv.open` and its options, written through the very calls (`Op`s) the JS methods queue, down
//! the same pipeline (the write queue, the IndexedDB transaction or Web Lock that reads the
//! keys a call depends on, the mirror applied once storage has the commit), with the
//! arguments given from Rust and the core's rejections kept typed. Reads answer from the
//! mirror, as the JS reads do. Not part of the API.

use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use js_sys::{Function, Object, Reflect};
use kv_core::{JsonText, Limits, Transaction};
use wasm_bindgen::prelude::*;

use crate::calls;
use crate::kv::{Kv, Shared};
pub use crate::write::OpError;

/// A store opened as a page opens one, for the suite to drive; dropping it closes it, as a
/// page that goes away does.
#[derive(Debug)]
pub struct Front {
    shared: Rc<Shared>,
}

impl Front {
    /// `Kv.open(name, { backend, limits, clock })`, then waits for the load; rejects with
    /// what `Kv.open` or the load rejected with.
    pub async fn open(
        name: &str,
        backend: &str,
        limits: Limits,
        clock: &Function,
    ) -> Result<Self, JsValue> {
        let options = Object::new();
        let bounds = Object::new();
        for (field, n) in [
            ("maxKeyBytes", limits.max_key_bytes),
            ("maxValueBytes", limits.max_value_bytes),
            ("maxEntries", limits.max_entries),
        ] {
            Reflect::set(&bounds, &field.into(), &JsValue::from_f64(n as f64))?;
        }
        Reflect::set(&options, &"backend".into(), &backend.into())?;
        Reflect::set(&options, &"limits".into(), &bounds)?;
        Reflect::set(&options, &"clock".into(), clock)?;
        let Kv { shared } = crate::kv::open(&name.into(), &options).await?;
        shared.ready().await?;
        Ok(Self { shared })
    }

    /// The mirror's snapshot: everything it holds, expiries and expired keys included.
    pub fn snapshot(&self) -> Result<Vec<u8>, JsValue> {
        Ok(self.shared.mirror()?.snapshot())
    }

    /// `set(key, value, { ttl })`; no value: the time.
    pub async fn set(
        &self,
        key: String,
        value: Option<JsonText>,
        ttl: Option<Duration>,
    ) -> Result<JsValue, OpError> {
        self.shared.call(calls::set(key, value, ttl)).await
    }

    /// `setIfAbsent(key, value, { ttl })`.
    pub async fn set_if_absent(
        &self,
        key: String,
        value: Option<JsonText>,
        ttl: Option<Duration>,
    ) -> Result<JsValue, OpError> {
        self.shared
            .call(calls::set_if_absent(key, value, ttl))
            .await
    }

    /// `delete(key)`.
    pub async fn delete(&self, key: String) -> Result<JsValue, OpError> {
        self.shared.call(calls::delete(key)).await
    }

    /// `setMany(entries, { ttl })`.
    pub async fn set_many(
        &self,
        entries: Vec<(String, JsonText)>,
        ttl: Option<Duration>,
    ) -> Result<JsValue, OpError> {
        self.shared.call(calls::set_many(entries, ttl)).await
    }

    /// `deleteMany(keys)`.
    pub async fn delete_many(&self, keys: Vec<String>) -> Result<JsValue, OpError> {
        self.shared.call(calls::delete_many(keys)).await
    }

    /// `update(key, updater)`.
    pub async fn update(&self, key: String, updater: Function) -> Result<JsValue, OpError> {
        self.shared.call(calls::update(key, updater)).await
    }

    /// `expire(key, ttl)`.
    pub async fn expire(&self, key: String, ttl: Option<Duration>) -> Result<JsValue, OpError> {
        self.shared.call(calls::expire(key, ttl)).await
    }

    /// `purge()`.
    pub async fn purge(&self) -> Result<JsValue, OpError> {
        self.shared.call(calls::purge()).await
    }

    /// `clear()`.
    pub async fn clear(&self) -> Result<JsValue, OpError> {
        self.shared.call(calls::clear()).await
    }

    /// A transaction of `run`, decided against storage for every key it reads.
    pub async fn transaction(
        &self,
        mut run: impl FnMut(&mut Transaction<'_, JsonText>) -> Result<(), OpError> + 'static,
    ) -> Result<(), OpError> {
        let op = calls::transaction(move |tx| run(tx).map(|()| JsValue::UNDEFINED));
        self.shared.call(op).await.map(drop)
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.shared.close();
    }
}
