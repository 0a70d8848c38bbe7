//! [`AsyncKv`]: the calls of [`Kv`] as `async fn`, for tokio.

use std::future::Future;
use std::panic;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kv_core::{Limits, Map, Transaction, Ttl, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::task::{JoinError, spawn_blocking};

use crate::error::Error;
use crate::kv::{Flight, Flights, Kv, Options};

/// The calls of [`Kv`] as `async fn`, for tokio: round trips to Redis run on tokio's
/// blocking pool, so a worker thread never waits for the network. Reads answer in place from
/// the copy (a write holds the copy only to decide and to apply, never across a round trip).
///
/// Cloning is cheap and every clone is the same store.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), kv_redis::Error> {
/// let kv = kv_redis::AsyncKv::open("redis://127.0.0.1:6379/0", "bot").await?;
/// if kv.touch_if_absent("seen:42").await? {
///     // no process has seen message 42 before
/// }
/// assert_eq!(kv.get_or("absent", 0), 0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AsyncKv {
    kv: Arc<Kv>,
    /// The keys a [`get_or_insert_with`](Self::get_or_insert_with) is computing, shared by
    /// every clone: tasks asking for the same key wait for the one computing it.
    flights: Arc<Flights<tokio::sync::Mutex<()>>>,
}

impl AsyncKv {
    /// Opens the store `name` in the Redis at `url`; see [`Kv::open`].
    pub async fn open(url: &str, name: &str) -> Result<Self, Error> {
        Self::open_with(url, name, Options::default()).await
    }

    /// Opens the store `name` in the Redis at `url` with `options`.
    pub async fn open_with(url: &str, name: &str, options: Options) -> Result<Self, Error> {
        let (url, name) = (url.to_owned(), name.to_owned());
        let opened = spawn_blocking(move || options.open(&url, &name)).await;
        Ok(Self::from(joined(opened)??))
    }

    /// The blocking handle underneath, for synchronous code sharing this store.
    pub fn blocking(&self) -> &Kv {
        &self.kv
    }

    /// The value under `key`, from the copy.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.kv.get(key)
    }

    /// The value under `key`, or `fallback` if there is none.
    pub fn get_or(&self, key: &str, fallback: impl Into<Value>) -> Value {
        self.kv.get_or(key, fallback)
    }

    /// The value under `key`, converted to `T`; an error if it does not convert.
    pub fn get_as<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        self.kv.get_as(key)
    }

    /// Whether `key` exists.
    pub fn contains(&self, key: &str) -> bool {
        self.kv.contains(key)
    }

    /// How many keys the store holds.
    pub fn len(&self) -> usize {
        self.kv.len()
    }

    /// Whether the store holds no keys.
    pub fn is_empty(&self) -> bool {
        self.kv.is_empty()
    }

    /// Every key, in no particular order.
    pub fn keys(&self) -> Vec<String> {
        self.kv.keys()
    }

    /// A copy of the whole store, keys in ascending order.
    pub fn get_all(&self) -> Map<String, Value> {
        self.kv.get_all()
    }

    /// See [`Kv::ttl`]: the time `key` has left, from the copy.
    pub fn ttl(&self, key: &str) -> Ttl {
        self.kv.ttl(key)
    }

    /// The limits writes are checked against.
    pub fn limits(&self) -> Limits {
        self.kv.limits()
    }

    /// See [`Kv::seq`].
    pub fn seq(&self) -> u64 {
        self.kv.seq()
    }

    /// See [`Kv::wait_past`]; waits on the blocking pool.
    pub async fn wait_past(&self, seq: u64, timeout: Duration) -> u64 {
        let kv = Arc::clone(&self.kv);
        joined(spawn_blocking(move || kv.wait_past(seq, timeout)).await)
            .unwrap_or_else(|_| self.kv.seq())
    }

    /// Sets `key` to `value`.
    pub async fn set(&self, key: impl Into<String>, value: impl Into<Value>) -> Result<(), Error> {
        let (key, value) = (key.into(), value.into());
        self.write(move |kv| kv.set(key, value)).await
    }

    /// Sets `key` to `value` converted to JSON.
    pub async fn set_as<T: Serialize + ?Sized>(
        &self,
        key: impl Into<String>,
        value: &T,
    ) -> Result<(), Error> {
        let key = key.into();
        let value = crate::kv::to_json(&key, value)?;
        self.set(key, value).await
    }

    /// Sets `key` to the current time in whole unix seconds, and returns that time.
    pub async fn touch(&self, key: impl Into<String>) -> Result<u64, Error> {
        let key = key.into();
        self.write(move |kv| kv.touch(key)).await
    }

    /// Sets `key` to `value` unless it exists in Redis; returns whether it was set.
    pub async fn set_if_absent(
        &self,
        key: impl Into<String>,
        value: impl Into<Value>,
    ) -> Result<bool, Error> {
        let (key, value) = (key.into(), value.into());
        self.write(move |kv| kv.set_if_absent(key, value)).await
    }

    /// Sets `key` to the current time unless it exists in Redis; returns whether it was set.
    pub async fn touch_if_absent(&self, key: impl Into<String>) -> Result<bool, Error> {
        let key = key.into();
        self.write(move |kv| kv.touch_if_absent(key)).await
    }

    /// See [`Kv::touch_if_absent_with_ttl`]: the current time, expiring `ttl` from now,
    /// unless `key` exists in Redis; whether it was set.
    pub async fn touch_if_absent_with_ttl(
        &self,
        key: impl Into<String>,
        ttl: Duration,
    ) -> Result<bool, Error> {
        let key = key.into();
        self.write(move |kv| kv.touch_if_absent_with_ttl(key, ttl))
            .await
    }

    /// Removes `key`; returns whether it existed in Redis.
    pub async fn delete(&self, key: &str) -> Result<bool, Error> {
        let key = key.to_owned();
        self.write(move |kv| kv.delete(&key)).await
    }

    /// Removes every key.
    pub async fn clear(&self) -> Result<(), Error> {
        self.write(Kv::clear).await
    }

    /// Sets every key to its value in one commit: all of them or none.
    pub async fn set_many<K: Into<String>, V: Into<Value>>(
        &self,
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), Error> {
        let entries: Vec<(String, Value)> = entries
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self.write(move |kv| kv.set_many(entries)).await
    }

    /// See [`Kv::set_with_ttl`]: sets `key` to `value`, expiring `ttl` from now.
    pub async fn set_with_ttl(
        &self,
        key: impl Into<String>,
        value: impl Into<Value>,
        ttl: Duration,
    ) -> Result<(), Error> {
        let (key, value) = (key.into(), value.into());
        self.write(move |kv| kv.set_with_ttl(key, value, ttl)).await
    }

    /// Sets `key` to `value` converted to JSON, expiring `ttl` from now.
    pub async fn set_as_with_ttl<T: Serialize + ?Sized>(
        &self,
        key: impl Into<String>,
        value: &T,
        ttl: Duration,
    ) -> Result<(), Error> {
        let key = key.into();
        let value = crate::kv::to_json(&key, value)?;
        self.set_with_ttl(key, value, ttl).await
    }

    /// See [`Kv::touch_with_ttl`]: the current time, expiring `ttl` from now.
    pub async fn touch_with_ttl(
        &self,
        key: impl Into<String>,
        ttl: Duration,
    ) -> Result<u64, Error> {
        let key = key.into();
        self.write(move |kv| kv.touch_with_ttl(key, ttl)).await
    }

    /// See [`Kv::set_if_absent_with_ttl`].
    pub async fn set_if_absent_with_ttl(
        &self,
        key: impl Into<String>,
        value: impl Into<Value>,
        ttl: Duration,
    ) -> Result<bool, Error> {
        let (key, value) = (key.into(), value.into());
        self.write(move |kv| kv.set_if_absent_with_ttl(key, value, ttl))
            .await
    }

    /// Sets every key to its value, each expiring `ttl` from now, in one commit.
    pub async fn set_many_with_ttl<K: Into<String>, V: Into<Value>>(
        &self,
        entries: impl IntoIterator<Item = (K, V)>,
        ttl: Duration,
    ) -> Result<(), Error> {
        let entries: Vec<(String, Value)> = entries
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self.write(move |kv| kv.set_many_with_ttl(entries, ttl))
            .await
    }

    /// See [`Kv::expire`]: sets or removes `key`'s expiry; whether the key exists.
    pub async fn expire(&self, key: &str, ttl: Option<Duration>) -> Result<bool, Error> {
        let key = key.to_owned();
        self.write(move |kv| kv.expire(&key, ttl)).await
    }

    /// See [`Kv::purge`]: removes every expired key from Redis; how many.
    pub async fn purge(&self) -> Result<usize, Error> {
        self.write(Kv::purge).await
    }

    /// Removes every key given in one commit; returns how many existed.
    pub async fn delete_many<K: Into<String>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<usize, Error> {
        let keys: Vec<String> = keys.into_iter().map(Into::into).collect();
        self.write(move |kv| kv.delete_many(keys.iter().map(String::as_str)))
            .await
    }

    /// See [`Kv::update`]: `f` may run more than once.
    pub async fn update(
        &self,
        key: impl Into<String>,
        f: impl FnMut(Option<&Value>) -> Option<Value> + Send + 'static,
    ) -> Result<Option<Value>, Error> {
        let key = key.into();
        self.write(move |kv| kv.update(key, f)).await
    }

    /// The value under `key` as a `T`; if there is none, `f().await`'s result, stored
    /// (expiring `ttl` from now, or never for `None`) and returned. See
    /// [`Kv::get_or_insert_with`]: if another process stored a value first, that one is
    /// returned. Tasks asking this store (any clone of this handle) for the same key at once
    /// share one call of `f`: the others wait for it and get its value.
    pub async fn get_or_insert_with<T, F, Fut>(
        &self,
        key: impl Into<String>,
        ttl: Option<Duration>,
        f: F,
    ) -> Result<T, Error>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        self.try_get_or_insert_with(key, ttl, || async { Ok::<_, Error>(f().await) })
            .await
    }

    /// [`get_or_insert_with`](Self::get_or_insert_with) for a fallible `f`: its error is
    /// returned and nothing is stored; a task waiting for the same key then calls its own `f`.
    pub async fn try_get_or_insert_with<T, E, F, Fut>(
        &self,
        key: impl Into<String>,
        ttl: Option<Duration>,
        f: F,
    ) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        E: From<Error>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let key = key.into();
        if let Some(found) = self.kv.get_as(&key)? {
            return Ok(found);
        }
        self.kv.check_ttl(&key, ttl)?;
        let flight = Flight::take(&self.flights, &key);
        let _computing = flight.lock().lock().await;
        // Another task may have stored it while this one waited.
        if let Some(found) = self.kv.get_as(&key)? {
            return Ok(found);
        }
        let made = f().await?;
        let value = crate::kv::to_json(&key, &made)?;
        let (kv, owned) = (Arc::clone(&self.kv), key.clone());
        let stored = spawn_blocking(move || kv.insert_if_absent(&owned, ttl, value)).await;
        match joined(stored)?? {
            None => Ok(made),
            Some(theirs) => Ok(crate::kv::from_json(&key, theirs)?),
        }
    }

    /// See [`Kv::transaction`]: `f` may run more than once.
    pub async fn transaction<R, E>(
        &self,
        f: impl FnMut(&mut Transaction<'_>) -> Result<R, E> + Send + 'static,
    ) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        let kv = Arc::clone(&self.kv);
        joined(spawn_blocking(move || kv.transaction(f)).await)?
    }

    /// Reads the whole store from Redis again, replacing the copy.
    pub async fn reload(&self) -> Result<(), Error> {
        self.write(Kv::reload).await
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Kv) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let kv = Arc::clone(&self.kv);
        joined(spawn_blocking(move || f(&kv)).await)?
    }
}

impl From<Kv> for AsyncKv {
    fn from(kv: Kv) -> Self {
        Self {
            kv: Arc::new(kv),
            flights: Arc::new(Mutex::default()),
        }
    }
}

/// The result of a blocking task: a panic in it goes on in the caller, and a task the runtime
/// dropped at shutdown is [`Error::Incomplete`].
fn joined<T>(result: Result<T, JoinError>) -> Result<T, Error> {
    match result {
        Ok(value) => Ok(value),
        Err(e) => match e.try_into_panic() {
            Ok(payload) => panic::resume_unwind(payload),
            Err(_) => Err(Error::Incomplete),
        },
    }
}
