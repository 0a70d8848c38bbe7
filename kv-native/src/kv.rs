use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use kv_core::{Clock, Json, JsonText, Limits, Map, Rejected, Store, Ttl, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::group::{Group, MemStore};
use crate::options::Options;
use crate::transaction::Transaction;

/// A persistent map from string keys to JSON values, kept in one file and its journal.
///
/// Every call takes `&self`; share one `Kv` between threads with an `Arc`. Reads are served
/// from memory. A write returns once it is durable on disk; writes from several threads that
/// arrive while one is being synced share the next append and sync (group commit), each with
/// its own answer, and no update is lost. If a write fails, memory still equals the files.
/// Dropping the `Kv` compacts the journal into the file.
pub struct Kv {
    group: Group,
}

impl Kv {
    /// Opens the store file at `path` with the default [`Options`]. Missing directories are
    /// created now; the files themselves on the first write.
    ///
    /// Fails with [`Error::Locked`] if another handle has it open, and with
    /// [`Error::Corrupt`] if the file does not hold a JSON object or the journal beside it is
    /// damaged (anywhere but a torn last record); the files are left as they are.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::open_with(path.as_ref(), &Options::default())
    }

    /// Options for opening a store: limits, locking, file mode, the journal.
    pub fn options() -> Options {
        Options::default()
    }

    pub(crate) fn open_with(path: &Path, options: &Options) -> Result<Self, Error> {
        Ok(Self {
            group: Group::open(path, options)?,
        })
    }

    /// The store file, as an absolute path.
    pub fn path(&self) -> &Path {
        self.group.path()
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.group.read(|store| store.get(key).map(JsonText::value))
    }

    /// The value under `key` as its JSON text, exactly as the store holds it: a number keeps
    /// its spelling (`1E5` stays `1E5`, which a [`Value`] writes as `1e+5`), an object its
    /// members' order and whitespace as they were written.
    pub fn get_text(&self, key: &str) -> Option<JsonText> {
        self.group.read(|store| store.get(key).cloned())
    }

    /// The value under `key`, or `fallback` if there is none.
    pub fn get_or(&self, key: &str, fallback: impl Into<Value>) -> Value {
        self.get(key).unwrap_or_else(|| fallback.into())
    }

    /// The value under `key`, converted to `T`; an error if it does not convert.
    pub fn get_as<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        self.group.read(|store| from_text(key, store.get(key)))
    }

    /// The value under `key` converted to `T`, or `fallback` if there is none; an error if it
    /// does not convert.
    pub fn get_as_or<T: DeserializeOwned>(&self, key: &str, fallback: T) -> Result<T, Error> {
        Ok(self.get_as(key)?.unwrap_or(fallback))
    }

    /// Whether `key` exists.
    pub fn contains(&self, key: &str) -> bool {
        self.group.read(|store| store.contains(key))
    }

    /// How many keys the store holds.
    pub fn len(&self) -> usize {
        self.group.read(MemStore::len)
    }

    /// Whether the store holds no keys.
    pub fn is_empty(&self) -> bool {
        self.group.read(MemStore::is_empty)
    }

    /// Every key, in no particular order.
    pub fn keys(&self) -> Vec<String> {
        self.group
            .read(|store| store.keys().map(str::to_owned).collect())
    }

    /// A copy of the whole store, keys in ascending order.
    pub fn get_all(&self) -> Map<String, Value> {
        self.group.read(get_all)
    }

    /// A copy of the whole store as each value's JSON text (see [`get_text`](Self::get_text)),
    /// keys in ascending order.
    pub fn get_all_text(&self) -> BTreeMap<String, JsonText> {
        self.group.read(get_all_text)
    }

    /// The limits writes are checked against.
    pub fn limits(&self) -> Limits {
        self.group.read(|store| *store.limits())
    }

    /// Sets `key` to `value`, durably. A key that had an expiry no longer has one.
    pub fn set(&self, key: impl Into<String>, value: impl Into<Value>) -> Result<(), Error> {
        let (key, value) = (key.into(), JsonText::from(value.into()));
        self.group.commit(|tx| Ok::<_, Error>(tx.set(key, value)?))
    }

    /// Sets `key` to `value` converted to JSON, durably.
    pub fn set_as<T: Serialize + ?Sized>(
        &self,
        key: impl Into<String>,
        value: &T,
    ) -> Result<(), Error> {
        let key = key.into();
        let value = to_json(&key, value)?;
        self.set(key, value)
    }

    /// Sets `key` to the current time in whole unix seconds, durably, and returns that time.
    pub fn touch(&self, key: impl Into<String>) -> Result<u64, Error> {
        self.group.commit(|tx| Ok::<_, Error>(tx.touch(key)?))
    }

    /// Sets `key` to `value` unless it exists; returns whether it was set.
    pub fn set_if_absent(
        &self,
        key: impl Into<String>,
        value: impl Into<Value>,
    ) -> Result<bool, Error> {
        let value = value.into();
        self.group
            .commit(|tx| Ok::<_, Error>(tx.set_if_absent(key, value)?))
    }

    /// Sets `key` to the current time unless it exists; returns whether it was set: the
    /// "have I seen this ID before" check and its record, in one durable step.
    pub fn touch_if_absent(&self, key: impl Into<String>) -> Result<bool, Error> {
        self.group.commit(|tx| {
            let now = Value::from(tx.now());
            Ok::<_, Error>(tx.set_if_absent(key, now)?)
        })
    }

    /// `key`'s time to live: [`Ttl::Left`] with the time until it expires, [`Ttl::Never`]
    /// for a key without an expiry, [`Ttl::Missing`] for an absent or expired key.
    pub fn ttl(&self, key: &str) -> Ttl {
        self.group.read(|store| store.ttl(key))
    }

    /// Sets `key` to `value`, durably, expiring `ttl` from now: from then on it is absent
    /// for every read. A `ttl` under 1 ms, or ending after 2^53 - 1 ms after 1970, is
    /// [`Rejected::Ttl`] and changes nothing.
    pub fn set_with_ttl(
        &self,
        key: impl Into<String>,
        value: impl Into<Value>,
        ttl: Duration,
    ) -> Result<(), Error> {
        let (key, value) = (key.into(), value.into());
        self.group
            .commit(|tx| Ok::<_, Error>(tx.set_with_ttl(key, value, ttl)?))
    }

    /// Sets `key` to `value` converted to JSON, durably, expiring `ttl` from now.
    pub fn set_as_with_ttl<T: Serialize + ?Sized>(
        &self,
        key: impl Into<String>,
        value: &T,
        ttl: Duration,
    ) -> Result<(), Error> {
        let key = key.into();
        let value = to_json(&key, value)?;
        self.set_with_ttl(key, value, ttl)
    }

    /// Sets `key` to the current time in whole unix seconds, expiring `ttl` from now ("seen
    /// now, forget in 30 days"), and returns that time.
    pub fn touch_with_ttl(&self, key: impl Into<String>, ttl: Duration) -> Result<u64, Error> {
        self.group
            .commit(|tx| Ok::<_, Error>(tx.touch_with_ttl(key, ttl)?))
    }

    /// Sets `key` to `value`, expiring `ttl` from now, unless it exists (an expired key does
    /// not); returns whether it was set.
    pub fn set_if_absent_with_ttl(
        &self,
        key: impl Into<String>,
        value: impl Into<Value>,
        ttl: Duration,
    ) -> Result<bool, Error> {
        let value = value.into();
        self.group
            .commit(|tx| Ok::<_, Error>(tx.set_if_absent_with_ttl(key, value, ttl)?))
    }

    /// Sets `key` to the current time, expiring `ttl` from now, unless it exists; returns
    /// whether it was set: "have I seen this ID in the last 30 days?", in one durable step.
    pub fn touch_if_absent_with_ttl(
        &self,
        key: impl Into<String>,
        ttl: Duration,
    ) -> Result<bool, Error> {
        self.group.commit(|tx| {
            let now = Value::from(tx.now());
            Ok::<_, Error>(tx.set_if_absent_with_ttl(key, now, ttl)?)
        })
    }

    /// Sets every key to its value, each expiring `ttl` from now, in one durable write: all of
    /// them or none.
    pub fn set_many_with_ttl<K: Into<String>, V: Into<Value>>(
        &self,
        entries: impl IntoIterator<Item = (K, V)>,
        ttl: Duration,
    ) -> Result<(), Error> {
        self.group.commit(|tx| {
            for (key, value) in entries {
                tx.set_with_ttl(key, value.into(), ttl)?;
            }
            Ok::<_, Error>(())
        })
    }

    /// Gives `key` an expiry `ttl` from now, or removes its expiry (`None`), durably; returns
    /// whether the key exists. A missing key stays missing and nothing is written.
    pub fn expire(&self, key: &str, ttl: Option<Duration>) -> Result<bool, Error> {
        self.group.commit(|tx| Ok::<_, Error>(tx.expire(key, ttl)?))
    }

    /// Removes every expired key from the files; returns how many. (Every write removes a
    /// few too; reads never do.)
    pub fn purge(&self) -> Result<usize, Error> {
        self.group.commit(|tx| Ok::<_, Error>(tx.purge()))
    }

    /// The value under `key` as a `T`; if there is none, `f()`'s result, stored under `key`
    /// (expiring `ttl` from now, if given) and returned: memoization, with the result kept
    /// across runs.
    ///
    /// `f` runs without holding the store, so other calls go on meanwhile; if another thread
    /// stored `key` first, its value is returned and `f`'s is dropped, so every caller sees
    /// the one stored value. A stored value that does not convert to `T` is
    /// [`Error::Value`], and `f` does not run.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let kv = kv_native::Kv::open(dir.path().join("kv.json"))?;
    /// use std::time::Duration;
    ///
    /// let day = Some(Duration::from_secs(86_400));
    /// let rate: f64 = kv.get_or_insert_with("rate:EUR", day, || 1.08)?;
    /// let again: f64 = kv.get_or_insert_with("rate:EUR", day, || unreachable!())?;
    /// assert_eq!(rate, again);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_or_insert_with<T: Serialize + DeserializeOwned>(
        &self,
        key: impl Into<String>,
        ttl: Option<Duration>,
        f: impl FnOnce() -> T,
    ) -> Result<T, Error> {
        self.try_get_or_insert_with(key, ttl, || Ok::<_, Error>(f()))
    }

    /// As [`get_or_insert_with`](Self::get_or_insert_with), for an `f` that may fail: its
    /// error is returned and nothing is stored.
    pub fn try_get_or_insert_with<T, E>(
        &self,
        key: impl Into<String>,
        ttl: Option<Duration>,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        E: From<Error>,
    {
        let key = key.into();
        if let Some(found) = self.get_as(&key)? {
            return Ok(found);
        }
        // A write that would be refused is refused before `f` runs.
        self.check_write(&key, ttl)?;
        let made = f()?;
        let value = to_json(&key, &made)?;
        let stored = self.insert_unless_present(key.clone(), value, ttl)?;
        match stored {
            None => Ok(made),
            Some(theirs) => Ok(from_text(&key, Some(&theirs))?.unwrap_or(made)),
        }
    }

    /// What a write of `key` expiring `ttl` from now would be refused for, checked before a
    /// value exists.
    pub(crate) fn check_write(&self, key: &str, ttl: Option<Duration>) -> Result<(), Error> {
        self.group
            .read(|store| store.check_write(key, ttl))
            .map_err(Error::Rejected)
    }

    /// Stores `value` under `key` (expiring `ttl` from now) unless it exists: `None` if it
    /// was stored, or the value another caller stored first.
    pub(crate) fn insert_unless_present(
        &self,
        key: String,
        value: Value,
        ttl: Option<Duration>,
    ) -> Result<Option<JsonText>, Error> {
        self.group.commit(|tx| {
            if let Some(theirs) = tx.get(&key) {
                return Ok::<_, Error>(Some(theirs.clone()));
            }
            match ttl {
                Some(ttl) => tx.set_with_ttl(key, value, ttl)?,
                None => tx.set(key, value)?,
            }
            Ok(None)
        })
    }

    /// Removes `key`; returns whether it existed. Removing a missing key writes nothing.
    pub fn delete(&self, key: &str) -> Result<bool, Error> {
        self.group.commit(|tx| Ok::<_, Error>(tx.delete(key)))
    }

    /// Removes every key.
    pub fn clear(&self) -> Result<(), Error> {
        self.group.commit(|tx| {
            tx.clear();
            Ok::<_, Error>(())
        })
    }

    /// Sets every key to its value in one durable write: all of them or none.
    pub fn set_many<K: Into<String>, V: Into<Value>>(
        &self,
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), Error> {
        self.group.commit(|tx| {
            for (key, value) in entries {
                tx.set(key, value.into())?;
            }
            Ok::<_, Error>(())
        })
    }

    /// Removes every key given in one durable write; returns how many existed.
    pub fn delete_many<'k>(&self, keys: impl IntoIterator<Item = &'k str>) -> Result<usize, Error> {
        self.group
            .commit(|tx| Ok::<_, Error>(keys.into_iter().filter(|k| tx.delete(k)).count()))
    }

    /// Replaces the value under `key` with `f(current)` atomically (`Some` sets, keeping the
    /// key's expiry; `None` removes), and returns the new value. No other call runs between
    /// the read and the write.
    pub fn update(
        &self,
        key: impl Into<String>,
        f: impl FnOnce(Option<&Value>) -> Option<Value>,
    ) -> Result<Option<Value>, Error> {
        let key = key.into();
        self.group
            .commit(|tx| match f(tx.get(&key).map(JsonText::value).as_ref()) {
                Some(value) => {
                    tx.set_keeping_ttl(key, value.clone())?;
                    Ok::<_, Error>(Some(value))
                }
                None => {
                    tx.delete(&key);
                    Ok(None)
                }
            })
    }

    /// Runs `f` over a [`Transaction`] and writes what it staged in one durable step. If `f`
    /// returns an error, nothing is written and the error is returned.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let kv = kv_native::Kv::open(dir.path().join("kv.json"))?;
    /// kv.transaction(|tx| {
    ///     let tokens = tx.get("queue:a").unwrap_or_default();
    ///     tx.delete("queue:a");
    ///     tx.set("queue:b", tokens)?;
    ///     Ok::<_, kv_native::Error>(())
    /// })?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn transaction<R, E: From<Error>>(
        &self,
        f: impl FnOnce(&mut Transaction<'_, '_>) -> Result<R, E>,
    ) -> Result<R, E> {
        let outcome = self
            .group
            .commit(|tx| f(&mut Transaction::new(tx)).map_err(Failed::Caller));
        match outcome {
            Ok(result) => Ok(result),
            Err(Failed::Caller(e)) => Err(e),
            Err(Failed::Store(e)) => Err(e.into()),
        }
    }

    /// Folds the journal into the store file now, so that the file alone holds every write
    /// (this also happens when the journal outgrows the file, and when the `Kv` is dropped).
    /// On error nothing is lost: memory still equals what the files hold.
    pub fn compact(&self) -> Result<(), Error> {
        Ok(self.group.compact()?)
    }

    /// The whole store, encoded as its file holds it once compacted and its expired keys
    /// removed: one JSON object, keys in ascending order, and a line feed (with a first
    /// member `"\u0000expires"` only if a live key has an expiry).
    pub fn export(&self) -> Vec<u8> {
        self.group.read(live_snapshot)
    }

    /// Reads the file again, replacing memory; on error, memory is unchanged.
    pub fn reload(&self) -> Result<(), Error> {
        self.group.reload()
    }

    /// Runs `f` on the store, waiting for it.
    #[cfg(feature = "tokio")]
    pub(crate) fn with_store<T>(&self, f: impl FnOnce(&MemStore) -> T) -> T {
        self.group.read(f)
    }

    /// Runs `f` on the store if no other call holds it; `None` if one does.
    #[cfg(feature = "tokio")]
    pub(crate) fn try_with_store<T>(&self, f: impl FnOnce(&MemStore) -> T) -> Option<T> {
        self.group.try_read(f)
    }
}

impl fmt::Debug for Kv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kv")
            .field("path", &self.path())
            .finish_non_exhaustive()
    }
}

/// A caller's transaction error, or the store's.
enum Failed<E> {
    Caller(E),
    Store(Error),
}

impl<E> From<Error> for Failed<E> {
    fn from(e: Error) -> Self {
        Self::Store(e)
    }
}

impl<E> From<Rejected> for Failed<E> {
    fn from(r: Rejected) -> Self {
        Self::Store(Error::Rejected(r))
    }
}

/// The value under `key` converted to `T`: what `get_as` returns, blocking or async.
pub(crate) fn from_text<T: DeserializeOwned>(
    key: &str,
    text: Option<&JsonText>,
) -> Result<Option<T>, Error> {
    text.map(|text| serde_json::from_str(text.as_str()))
        .transpose()
        .map_err(|source| Error::Value {
            key: key.to_owned(),
            source,
        })
}

/// A copy of the whole store as text, keys in ascending order: what `get_all_text` returns.
pub(crate) fn get_all_text<P, C: Clock>(
    store: &Store<P, C, JsonText>,
) -> BTreeMap<String, JsonText> {
    store
        .iter()
        .map(|(key, text)| (key.to_owned(), text.clone()))
        .collect()
}

/// A copy of the whole store as values, keys in ascending order: what `get_all` returns.
pub(crate) fn get_all<P, C: Clock>(store: &Store<P, C, JsonText>) -> Map<String, Value> {
    store
        .iter()
        .map(|(key, text)| (key.to_owned(), text.value()))
        .collect()
}

/// `value` as the JSON `set_as` stores under `key`.
pub(crate) fn to_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<Value, Error> {
    serde_json::to_value(value).map_err(|source| Error::Value {
        key: key.to_owned(),
        source,
    })
}

/// The store as its file holds it once its expired keys are removed: what `export` shows.
pub(crate) fn live_snapshot<P, C: Clock, V: Json>(store: &Store<P, C, V>) -> Vec<u8> {
    if store.stored_len() == store.len() {
        return store.snapshot();
    }
    match store.prepare(|tx| Ok::<_, Rejected>(tx.purge())) {
        Ok((_, purged)) => store.commit_of(&purged).snapshot(),
        Err(_) => store.snapshot(),
    }
}
