//! [`Transaction`]: the core's transaction, seen as [`Value`]s.

use std::time::Duration;

use kv_core::{JsonText, Rejected, Ttl, Value};
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::kv::{from_text, to_json};

/// The changes of one [`Kv::transaction`](crate::Kv::transaction) or
/// [`Kv::update`](crate::Kv::update), staged and then written in one durable step.
///
/// Reads see the transaction's own writes. The store holds each value as the JSON text it was
/// written or read as (so a number keeps its spelling through unrelated writes), and a read
/// here parses it: [`get`](Self::get) returns an owned [`Value`], and
/// [`get_text`](Self::get_text) the text itself. Every write is checked against the store's
/// limits as it is staged.
///
/// This wraps `kv_core::Transaction`, which hands out the text; each method is the core's
/// method of the same name.
#[derive(Debug)]
pub struct Transaction<'t, 'a> {
    inner: &'t mut kv_core::Transaction<'a, JsonText>,
}

impl<'t, 'a> Transaction<'t, 'a> {
    pub(crate) fn new(inner: &'t mut kv_core::Transaction<'a, JsonText>) -> Self {
        Self { inner }
    }

    /// The core's transaction underneath, whose calls take and give each value as its JSON
    /// text: for a caller that has the text already and wants it stored exactly as it is
    /// (the `kv` command stores `kv set n 1E5` as `1E5`). A value set here is held as given,
    /// whitespace included; the file is read back without whitespace between tokens.
    pub fn text(&mut self) -> &mut kv_core::Transaction<'a, JsonText> {
        self.inner
    }

    /// The value under `key`, as this transaction leaves it.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.inner.get(key).map(JsonText::value)
    }

    /// The value under `key` as its JSON text, exactly as stored.
    pub fn get_text(&self, key: &str) -> Option<&JsonText> {
        self.inner.get(key)
    }

    /// The value under `key`, converted to `T`; an error if it does not convert.
    pub fn get_as<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        from_text(key, self.inner.get(key))
    }

    /// Whether `key` exists, as this transaction leaves it.
    pub fn contains(&self, key: &str) -> bool {
        self.inner.contains(key)
    }

    /// `key`'s time to live, as this transaction leaves it.
    pub fn ttl(&self, key: &str) -> Ttl {
        self.inner.ttl(key)
    }

    /// The time a value-less write in this transaction stores, in unix seconds.
    pub fn now(&self) -> u64 {
        self.inner.now()
    }

    /// The time expiry is measured from in this transaction, in unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.inner.now_ms()
    }

    /// Sets `key` to `value`, with no expiry (an expiry it had is removed).
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<Value>) -> Result<(), Rejected> {
        self.inner.set(key, value.into())
    }

    /// Sets `key` to `value` converted to JSON.
    pub fn set_as<T: serde::Serialize + ?Sized>(
        &mut self,
        key: impl Into<String>,
        value: &T,
    ) -> Result<(), Error> {
        let key = key.into();
        let value = to_json(&key, value)?;
        Ok(self.inner.set(key, value)?)
    }

    /// Sets `key` to `value`, expiring `ttl` from now (at least 1 ms).
    pub fn set_with_ttl(
        &mut self,
        key: impl Into<String>,
        value: impl Into<Value>,
        ttl: Duration,
    ) -> Result<(), Rejected> {
        self.inner.set_with_ttl(key, value.into(), ttl)
    }

    /// Sets `key` to `value` and keeps the expiry it has (what `update` does).
    pub fn set_keeping_ttl(
        &mut self,
        key: impl Into<String>,
        value: impl Into<Value>,
    ) -> Result<(), Rejected> {
        self.inner.set_keeping_ttl(key, value.into())
    }

    /// Sets `key` to the current time in whole unix seconds, and returns that time.
    pub fn touch(&mut self, key: impl Into<String>) -> Result<u64, Rejected> {
        self.inner.touch(key)
    }

    /// As [`touch`](Self::touch), expiring `ttl` from now.
    pub fn touch_with_ttl(
        &mut self,
        key: impl Into<String>,
        ttl: Duration,
    ) -> Result<u64, Rejected> {
        self.inner.touch_with_ttl(key, ttl)
    }

    /// Sets `key` to `value` unless it exists; returns whether it was set.
    pub fn set_if_absent(
        &mut self,
        key: impl Into<String>,
        value: impl Into<Value>,
    ) -> Result<bool, Rejected> {
        self.inner.set_if_absent(key, value.into())
    }

    /// As [`set_if_absent`](Self::set_if_absent), the new value expiring `ttl` from now.
    pub fn set_if_absent_with_ttl(
        &mut self,
        key: impl Into<String>,
        value: impl Into<Value>,
        ttl: Duration,
    ) -> Result<bool, Rejected> {
        self.inner.set_if_absent_with_ttl(key, value.into(), ttl)
    }

    /// Gives `key` the expiry `ttl` from now, or none; returns whether the key exists.
    pub fn expire(&mut self, key: &str, ttl: Option<Duration>) -> Result<bool, Rejected> {
        self.inner.expire(key, ttl)
    }

    /// Removes `key`; returns whether it existed.
    pub fn delete(&mut self, key: &str) -> bool {
        self.inner.delete(key)
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.inner.clear();
    }

    /// Removes every key that has expired; returns how many.
    pub fn purge(&mut self) -> usize {
        self.inner.purge()
    }
}
