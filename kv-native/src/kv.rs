use std::fmt;
use std::path::{Path, PathBuf};
#[cfg(feature = "tokio")]
use std::sync::TryLockError;
use std::sync::{Mutex, MutexGuard, PoisonError};

use kv_core::{Limits, Map, NotReady, Store, Transaction, Value, block_on};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::SystemClock;
use crate::error::{Error, FileError};
use crate::file::FilePersist;
use crate::options::Options;

pub(crate) type FileStore = Store<FilePersist, SystemClock>;

/// A persistent map from string keys to JSON values, kept in one file.
///
/// Every call takes `&self`; share one `Kv` between threads with an `Arc`. Reads are served
/// from memory. A write returns once it is durable on disk, and calls are serialised, so no
/// update is lost; if a write fails, memory still equals the file.
pub struct Kv {
    /// Invariant (from [`Store`]): memory equals the file. A panic in a caller's closure
    /// poisons the mutex without breaking it, since the store applies nothing before its
    /// commit, so the poison is ignored.
    store: Mutex<FileStore>,
    path: PathBuf,
}

impl Kv {
    /// Opens the store file at `path` with the default [`Options`]. Missing directories are
    /// created now; the file itself on the first write.
    ///
    /// Fails with [`Error::Locked`] if another handle has it open, and with
    /// [`Error::Corrupt`] if it does not hold a JSON object; the file is left as it is.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::open_with(path.as_ref(), &Options::default())
    }

    /// Options for opening a store: limits, locking, file mode.
    pub fn options() -> Options {
        Options::default()
    }

    pub(crate) fn open_with(path: &Path, options: &Options) -> Result<Self, Error> {
        let persist = FilePersist::open_with(path, options)?;
        let path = persist.path().to_path_buf();
        let opened = block_on(Store::open_with_limits(
            persist,
            SystemClock,
            options.limits,
        ));
        let store = finish(opened, &path)?;
        Ok(Self {
            store: Mutex::new(store),
            path,
        })
    }

    /// The store file, as an absolute path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.store().get(key).cloned()
    }

    /// The value under `key`, or `fallback` if there is none.
    pub fn get_or(&self, key: &str, fallback: impl Into<Value>) -> Value {
        self.get(key).unwrap_or_else(|| fallback.into())
    }

    /// The value under `key`, converted to `T`; an error if it does not convert.
    pub fn get_as<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        from_json(key, self.store().get(key))
    }

    /// The value under `key` converted to `T`, or `fallback` if there is none; an error if it
    /// does not convert.
    pub fn get_as_or<T: DeserializeOwned>(&self, key: &str, fallback: T) -> Result<T, Error> {
        Ok(self.get_as(key)?.unwrap_or(fallback))
    }

    /// Whether `key` exists.
    pub fn contains(&self, key: &str) -> bool {
        self.store().contains(key)
    }

    /// How many keys the store holds.
    pub fn len(&self) -> usize {
        self.store().len()
    }

    /// Whether the store holds no keys.
    pub fn is_empty(&self) -> bool {
        self.store().is_empty()
    }

    /// Every key, in no particular order.
    pub fn keys(&self) -> Vec<String> {
        self.store().keys().map(str::to_owned).collect()
    }

    /// A copy of the whole store, keys in ascending order.
    pub fn get_all(&self) -> Map<String, Value> {
        self.store().get_all()
    }

    /// The limits writes are checked against.
    pub fn limits(&self) -> Limits {
        *self.store().limits()
    }

    /// Sets `key` to `value`, durably.
    pub fn set(&self, key: impl Into<String>, value: impl Into<Value>) -> Result<(), Error> {
        let mut store = self.store();
        finish(block_on(store.set(key, value.into())), &self.path)
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
        let mut store = self.store();
        finish(block_on(store.touch(key)), &self.path)
    }

    /// Sets `key` to `value` unless it exists; returns whether it was set.
    pub fn set_if_absent(
        &self,
        key: impl Into<String>,
        value: impl Into<Value>,
    ) -> Result<bool, Error> {
        let mut store = self.store();
        finish(block_on(store.set_if_absent(key, value.into())), &self.path)
    }

    /// Sets `key` to the current time unless it exists; returns whether it was set: the
    /// "have I seen this ID before" check and its record, in one durable step.
    pub fn touch_if_absent(&self, key: impl Into<String>) -> Result<bool, Error> {
        let mut store = self.store();
        finish(block_on(store.touch_if_absent(key)), &self.path)
    }

    /// Removes `key`; returns whether it existed. Removing a missing key writes nothing.
    pub fn delete(&self, key: &str) -> Result<bool, Error> {
        let mut store = self.store();
        finish(block_on(store.delete(key)), &self.path)
    }

    /// Removes every key.
    pub fn clear(&self) -> Result<(), Error> {
        let mut store = self.store();
        finish(block_on(store.clear()), &self.path)
    }

    /// Sets every key to its value in one durable write: all of them or none.
    pub fn set_many<K: Into<String>, V: Into<Value>>(
        &self,
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), Error> {
        let mut store = self.store();
        let entries = entries.into_iter().map(|(k, v)| (k, v.into()));
        finish(block_on(store.set_many(entries)), &self.path)
    }

    /// Removes every key given in one durable write; returns how many existed.
    pub fn delete_many<'k>(&self, keys: impl IntoIterator<Item = &'k str>) -> Result<usize, Error> {
        let mut store = self.store();
        finish(block_on(store.delete_many(keys)), &self.path)
    }

    /// Replaces the value under `key` with `f(current)` atomically (`Some` sets, `None`
    /// removes), and returns the new value. No other call runs between the read and the write.
    pub fn update(
        &self,
        key: impl Into<String>,
        f: impl FnOnce(Option<&Value>) -> Option<Value>,
    ) -> Result<Option<Value>, Error> {
        let mut store = self.store();
        finish(block_on(store.update(key, f)), &self.path)
    }

    /// Runs `f` over a [`Transaction`] and writes what it staged in one durable step. If `f`
    /// returns an error, nothing is written and the error is returned.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let kv = kv_native::Kv::open(dir.path().join("kv.json"))?;
    /// kv.transaction(|tx| {
    ///     let tokens = tx.get("queue:a").cloned().unwrap_or_default();
    ///     tx.delete("queue:a");
    ///     tx.set("queue:b", tokens)?;
    ///     Ok::<_, kv_native::Error>(())
    /// })?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn transaction<R, E: From<Error>>(
        &self,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        let mut store = self.store();
        let outcome = block_on(store.transaction(|tx| f(tx).map_err(Failed::Caller)));
        match outcome {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(Failed::Caller(e))) => Err(e),
            Ok(Err(Failed::Store(e))) => Err(Error::from_core(e, &self.path).into()),
            Err(NotReady) => Err(Error::Incomplete.into()),
        }
    }

    /// Reads the file again, replacing memory; on error, memory is unchanged.
    pub fn reload(&self) -> Result<(), Error> {
        let mut store = self.store();
        finish(block_on(store.reload()), &self.path)
    }

    fn store(&self) -> MutexGuard<'_, FileStore> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the store, waiting for the lock.
    #[cfg(feature = "tokio")]
    pub(crate) fn with_store<T>(&self, f: impl FnOnce(&FileStore) -> T) -> T {
        f(&self.store())
    }

    /// Runs `f` on the store if no other call holds it; `None` if one does.
    #[cfg(feature = "tokio")]
    pub(crate) fn try_with_store<T>(&self, f: impl FnOnce(&FileStore) -> T) -> Option<T> {
        match self.store.try_lock() {
            Ok(store) => Some(f(&store)),
            Err(TryLockError::Poisoned(poisoned)) => Some(f(&poisoned.into_inner())),
            Err(TryLockError::WouldBlock) => None,
        }
    }
}

impl fmt::Debug for Kv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kv")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// A caller's transaction error, or the store's.
enum Failed<E> {
    Caller(E),
    Store(kv_core::Error<FileError>),
}

impl<E> From<kv_core::Error<FileError>> for Failed<E> {
    fn from(e: kv_core::Error<FileError>) -> Self {
        Self::Store(e)
    }
}

/// The outcome of one core call driven by [`block_on`]. File storage never waits, so
/// `NotReady` cannot happen; it is reported rather than trusted.
fn finish<T>(
    outcome: Result<Result<T, kv_core::Error<FileError>>, NotReady>,
    path: &Path,
) -> Result<T, Error> {
    match outcome {
        Ok(result) => result.map_err(|e| Error::from_core(e, path)),
        Err(NotReady) => Err(Error::Incomplete),
    }
}

/// The value under `key` converted to `T`: what `get_as` returns, blocking or async.
pub(crate) fn from_json<T: DeserializeOwned>(
    key: &str,
    value: Option<&Value>,
) -> Result<Option<T>, Error> {
    value
        .map(T::deserialize)
        .transpose()
        .map_err(|source| Error::Value {
            key: key.to_owned(),
            source,
        })
}

/// `value` as the JSON `set_as` stores under `key`.
pub(crate) fn to_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<Value, Error> {
    serde_json::to_value(value).map_err(|source| Error::Value {
        key: key.to_owned(),
        source,
    })
}
