use std::collections::HashMap;
use std::future::Future;
use std::panic;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use kv_core::{JsonText, Map, Ttl, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::task::{JoinError, spawn_blocking};

use crate::error::Error;
use crate::group::{Caller, MemStore};
use crate::kv::{Kv, from_text, get_all, to_json};
use crate::options::Options;
use crate::transaction::Transaction;

/// The calls of [`Kv`] as `async fn`, for tokio: file I/O runs on tokio's blocking pool, so a
/// worker thread never waits for a disk.
///
/// Cloning is cheap and every clone is the same store. Reads are answered in place when no
/// write is in progress, and on the blocking pool when one is.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// use kv_native::AsyncKv;
///
/// let kv = AsyncKv::open(dir.path().join("bot.json")).await?;
/// if kv.touch_if_absent("seen:42").await? {
///     // first time we see message 42
/// }
/// kv.set("last_command", "ping").await?;
/// assert_eq!(kv.get("last_command").await, Some("ping".into()));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AsyncKv {
    kv: Arc<Kv>,
    /// One lock per key a `get_or_insert_with` is computing now: concurrent tasks with the
    /// same key wait on it and share the first one's result.
    flights: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl AsyncKv {
    /// Opens the store file at `path` with the default [`Options`]; see [`Kv::open`].
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::open_with(path, Options::default()).await
    }

    /// Opens the store file at `path` with `options`.
    pub async fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let opened = spawn_blocking(move || Kv::open_with(&path, &options)).await;
        Ok(Self::from(joined(opened)??))
    }

    /// The blocking handle underneath, for synchronous code sharing this store.
    pub fn blocking(&self) -> &Kv {
        &self.kv
    }

    /// The store file, as an absolute path.
    pub fn path(&self) -> &Path {
        self.kv.path()
    }

    /// The value under `key`.
    pub async fn get(&self, key: &str) -> Option<Value> {
        let key = key.to_owned();
        self.read(move |store| store.get(&key).map(JsonText::value))
            .await
    }

    /// The value under `key` as its JSON text, exactly as stored: see [`Kv::get_text`].
    pub async fn get_text(&self, key: &str) -> Option<JsonText> {
        let key = key.to_owned();
        self.read(move |store| store.get(&key).cloned()).await
    }

    /// The value under `key`, or `fallback` if there is none.
    pub async fn get_or(&self, key: &str, fallback: impl Into<Value>) -> Value {
        self.get(key).await.unwrap_or_else(|| fallback.into())
    }

    /// The value under `key`, converted to `T`; an error if it does not convert.
    pub async fn get_as<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        from_text(key, self.get_text(key).await.as_ref())
    }

    /// The value under `key` converted to `T`, or `fallback` if there is none; an error if it
    /// does not convert.
    pub async fn get_as_or<T: DeserializeOwned>(&self, key: &str, fallback: T) -> Result<T, Error> {
        Ok(self.get_as(key).await?.unwrap_or(fallback))
    }

    /// Whether `key` exists.
    pub async fn contains(&self, key: &str) -> bool {
        let key = key.to_owned();
        self.read(move |store| store.contains(&key)).await
    }

    /// How many keys the store holds.
    pub async fn len(&self) -> usize {
        self.read(|store| store.len()).await
    }

    /// Whether the store holds no keys.
    pub async fn is_empty(&self) -> bool {
        self.read(|store| store.is_empty()).await
    }

    /// Every key, in no particular order.
    pub async fn keys(&self) -> Vec<String> {
        self.read(|store| store.keys().map(str::to_owned).collect())
            .await
    }

    /// A copy of the whole store, keys in ascending order.
    pub async fn get_all(&self) -> Map<String, Value> {
        self.read(get_all).await
    }

    /// Sets `key` to `value`, durably.
    pub async fn set(&self, key: impl Into<String>, value: impl Into<Value>) -> Result<(), Error> {
        let (key, value) = (key.into(), value.into());
        self.write(move |kv| kv.set(key, value)).await
    }

    /// Sets `key` to `value` converted to JSON, durably.
    pub async fn set_as<T: Serialize + ?Sized>(
        &self,
        key: impl Into<String>,
        value: &T,
    ) -> Result<(), Error> {
        let key = key.into();
        let value = to_json(&key, value)?;
        self.set(key, value).await
    }

    /// Sets `key` to the current time in whole unix seconds, durably, and returns that time.
    pub async fn touch(&self, key: impl Into<String>) -> Result<u64, Error> {
        let key = key.into();
        self.write(move |kv| kv.touch(key)).await
    }

    /// Sets `key` to `value` unless it exists; returns whether it was set.
    pub async fn set_if_absent(
        &self,
        key: impl Into<String>,
        value: impl Into<Value>,
    ) -> Result<bool, Error> {
        let (key, value) = (key.into(), value.into());
        self.write(move |kv| kv.set_if_absent(key, value)).await
    }

    /// Sets `key` to the current time unless it exists; returns whether it was set.
    pub async fn touch_if_absent(&self, key: impl Into<String>) -> Result<bool, Error> {
        let key = key.into();
        self.write(move |kv| kv.touch_if_absent(key)).await
    }

    /// `key`'s time to live; see [`Kv::ttl`].
    pub async fn ttl(&self, key: &str) -> Ttl {
        let key = key.to_owned();
        self.read(move |store| store.ttl(&key)).await
    }

    /// Sets `key` to `value`, durably, expiring `ttl` from now; see [`Kv::set_with_ttl`].
    pub async fn set_with_ttl(
        &self,
        key: impl Into<String>,
        value: impl Into<Value>,
        ttl: Duration,
    ) -> Result<(), Error> {
        let (key, value) = (key.into(), value.into());
        self.write(move |kv| kv.set_with_ttl(key, value, ttl)).await
    }

    /// Sets `key` to `value` converted to JSON, durably, expiring `ttl` from now.
    pub async fn set_as_with_ttl<T: Serialize + ?Sized>(
        &self,
        key: impl Into<String>,
        value: &T,
        ttl: Duration,
    ) -> Result<(), Error> {
        let key = key.into();
        let value = to_json(&key, value)?;
        self.set_with_ttl(key, value, ttl).await
    }

    /// Sets `key` to the current time, expiring `ttl` from now, and returns that time.
    pub async fn touch_with_ttl(
        &self,
        key: impl Into<String>,
        ttl: Duration,
    ) -> Result<u64, Error> {
        let key = key.into();
        self.write(move |kv| kv.touch_with_ttl(key, ttl)).await
    }

    /// Sets `key` to `value`, expiring `ttl` from now, unless it exists; returns whether it
    /// was set.
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

    /// Sets `key` to the current time, expiring `ttl` from now, unless it exists; returns
    /// whether it was set.
    pub async fn touch_if_absent_with_ttl(
        &self,
        key: impl Into<String>,
        ttl: Duration,
    ) -> Result<bool, Error> {
        let key = key.into();
        self.write(move |kv| kv.touch_if_absent_with_ttl(key, ttl))
            .await
    }

    /// Sets every key to its value, each expiring `ttl` from now, in one durable write.
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

    /// Gives `key` an expiry `ttl` from now, or removes it (`None`); returns whether the key
    /// exists. See [`Kv::expire`].
    pub async fn expire(&self, key: &str, ttl: Option<Duration>) -> Result<bool, Error> {
        let key = key.to_owned();
        self.write(move |kv| kv.expire(&key, ttl)).await
    }

    /// Removes every expired key from the files; returns how many.
    pub async fn purge(&self) -> Result<usize, Error> {
        self.write(Kv::purge).await
    }

    /// The value under `key` as a `T`; if there is none, `f().await`'s result, stored under
    /// `key` (expiring `ttl` from now, if given) and returned.
    ///
    /// Concurrent calls with the same key on this store (any clone of it) share one call of
    /// `f`: the first runs it, the others wait and return what it stored. If the first is
    /// cancelled, the next waiting call runs its own `f`. A stored value that does not convert
    /// to `T` is [`Error::Value`], and `f` does not run.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let kv = kv_native::AsyncKv::open(dir.path().join("bot.json")).await?;
    /// use std::time::Duration;
    ///
    /// let hour = Some(Duration::from_secs(3600));
    /// let name: String = kv
    ///     .get_or_insert_with("user:42:name", hour, || async { "Ada".to_owned() })
    ///     .await?;
    /// assert_eq!(name, "Ada");
    /// # Ok(())
    /// # }
    /// ```
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

    /// As [`get_or_insert_with`](Self::get_or_insert_with), for an `f` that may fail: its
    /// error is returned and nothing is stored (a call waiting on it then runs its own `f`).
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
        if let Some(found) = self.get_as(&key).await? {
            return Ok(found);
        }
        // A write that would be refused is refused before `f` runs.
        self.kv.check_write(&key, ttl)?;
        let flight = Flight::join(&self.flights, &key);
        let _turn = flight.lock.lock().await;
        // A call before this one may have stored it while this one waited.
        if let Some(found) = self.get_as(&key).await? {
            return Ok(found);
        }
        let made = f().await?;
        let value = to_json(&key, &made)?;
        let write_key = key.clone();
        let stored = self
            .write(move |kv| kv.insert_unless_present(write_key, value, ttl))
            .await?;
        match stored {
            None => Ok(made),
            Some(theirs) => Ok(from_text(&key, Some(&theirs))?.unwrap_or(made)),
        }
    }

    /// Removes `key`; returns whether it existed.
    pub async fn delete(&self, key: &str) -> Result<bool, Error> {
        let key = key.to_owned();
        self.write(move |kv| kv.delete(&key)).await
    }

    /// Removes every key.
    pub async fn clear(&self) -> Result<(), Error> {
        self.write(Kv::clear).await
    }

    /// Sets every key to its value in one durable write: all of them or none.
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

    /// Removes every key given in one durable write; returns how many existed.
    pub async fn delete_many<K: Into<String>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<usize, Error> {
        let keys: Vec<String> = keys.into_iter().map(Into::into).collect();
        self.write(move |kv| kv.delete_many(keys.iter().map(String::as_str)))
            .await
    }

    /// Replaces the value under `key` with `f(current)` atomically; see [`Kv::update`].
    pub async fn update(
        &self,
        key: impl Into<String>,
        f: impl FnOnce(Option<&Value>) -> Option<Value> + Send + 'static,
    ) -> Result<Option<Value>, Error> {
        let key = key.into();
        self.write(move |kv| kv.update(key, f)).await
    }

    /// Runs `f` over a [`Transaction`] and writes what it staged in one durable step; see
    /// [`Kv::transaction`].
    pub async fn transaction<R, E>(
        &self,
        f: impl FnOnce(&mut Transaction<'_, '_>) -> Result<R, E> + Send + 'static,
    ) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        let (kv, caller) = (Arc::clone(&self.kv), Caller::task());
        joined(spawn_blocking(move || caller.acting(|| kv.transaction(f))).await)
            .map_err(E::from)?
    }

    /// Reads the file again, replacing memory; on error, memory is unchanged.
    pub async fn reload(&self) -> Result<(), Error> {
        self.write(Kv::reload).await
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Kv) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let (kv, caller) = (Arc::clone(&self.kv), Caller::task());
        joined(spawn_blocking(move || caller.acting(|| f(&kv))).await)?
    }

    /// Answers from memory at once if no write holds the store; otherwise waits for it on the
    /// blocking pool rather than on this worker thread.
    async fn read<T: Send + 'static>(
        &self,
        f: impl Fn(&MemStore) -> T + Send + Sync + 'static,
    ) -> T {
        if let Some(answer) = self.kv.try_with_store(&f) {
            return answer;
        }
        let f = Arc::new(f);
        let (kv, g) = (Arc::clone(&self.kv), Arc::clone(&f));
        match joined(spawn_blocking(move || kv.with_store(&*g)).await) {
            Ok(answer) => answer,
            // The runtime is shutting down: a read may still wait here, once.
            Err(_) => self.kv.with_store(&*f),
        }
    }
}

impl From<Kv> for AsyncKv {
    fn from(kv: Kv) -> Self {
        Self {
            kv: Arc::new(kv),
            flights: Arc::default(),
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

/// One key's place in [`AsyncKv`]'s single-flight map, held while a call waits for or runs
/// its `f`; the last one out removes the key's entry.
struct Flight<'a> {
    flights: &'a Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    key: &'a str,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl<'a> Flight<'a> {
    fn join(
        flights: &'a Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
        key: &'a str,
    ) -> Self {
        let mut map = flights.lock().unwrap_or_else(PoisonError::into_inner);
        let lock = Arc::clone(map.entry(key.to_owned()).or_default());
        Flight { flights, key, lock }
    }
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        let mut map = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
        // Two owners left, the map's and this one's: no other call waits for this key.
        if Arc::strong_count(&self.lock) == 2 {
            map.remove(self.key);
        }
    }
}
