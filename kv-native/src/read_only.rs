//! Reading a store without its lock: for a reader (`kv get`, a status page) that must not wait
//! for, or get in the way of, the program that writes the store.
//!
//! It is safe because a writer never changes the store file in place: it renames a complete
//! new file over it, so a read sees the old contents or the new, never a mix; the journal
//! beside it only grows, a torn last record (an append in flight) is left out, and its header
//! names the exact file it extends, so a compaction between the two reads is seen and the read
//! made again. A read creates nothing: no directory, no lock file, no store file, and it needs
//! no write permission.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use kv_core::{JsonText, Limits, Map, Store, Stored, Ttl, Value};
use serde::de::DeserializeOwned;

use crate::error::{Error, FileError, Op};
use crate::kv::{Kv, from_text};
use kv_core::SystemClock;

/// The store at `path` (its file, and its journal replayed), read without its lock; no file
/// is [`Stored::Nothing`]. Creates nothing. A compaction by the lock holder between the reads
/// of the file and the journal is detected and the read made again
/// (`journal::read_unlocked`); damage to the journal is [`Stored::Corrupt`], naming it.
pub(crate) fn load_read_only(path: &Path) -> Result<Stored, FileError> {
    crate::path::file_name(path)?;
    let stored = crate::file::stored_or_corrupt(crate::journal::read_unlocked(path));
    stored.map_err(|e| match e {
        Error::Io(e) => e,
        other => FileError::new(
            Op::Read,
            path,
            io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
        ),
    })
}

/// A store opened for reading only, without its lock: see [`Kv::open_read_only`].
///
/// It holds what the file held when it was opened (or last [reloaded](Self::reload)); writes
/// made since by the lock holder are not seen until then.
pub struct ReadOnlyKv {
    store: Store<(), SystemClock, JsonText>,
    path: PathBuf,
    exists: bool,
}

impl Kv {
    /// Opens the store file at `path` for reading only. It takes no lock, so it works while
    /// another handle or program writes the store, and creates nothing (no directory, no lock
    /// file), so it works where the user may not write. No file reads as an empty store.
    ///
    /// Fails with [`Error::Corrupt`] if the file does not hold a JSON object.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<ReadOnlyKv, Error> {
        let path = std::path::absolute(path.as_ref())
            .map_err(|e| FileError::new(Op::Read, path.as_ref(), e))?;
        let stored = load_read_only(&path)?;
        let store = crate::compact::decode_compacted(stored, |stored| {
            Store::from_stored(stored, SystemClock, Limits::NONE)
        })
        .map_err(|source| Error::Corrupt {
            path: path.clone(),
            source,
        })?;
        let exists = path.exists();
        Ok(ReadOnlyKv {
            store,
            path,
            exists,
        })
    }
}

impl ReadOnlyKv {
    /// The store file, as an absolute path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the store file existed when it was last read.
    pub fn exists(&self) -> bool {
        self.exists
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.store.get(key).map(JsonText::value)
    }

    /// The value under `key` as its JSON text, exactly as stored: see [`Kv::get_text`].
    pub fn get_text(&self, key: &str) -> Option<JsonText> {
        self.store.get(key).cloned()
    }

    /// The whole store, encoded as its file holds it once compacted and its expired keys
    /// removed: see [`Kv::export`].
    pub fn export(&self) -> Vec<u8> {
        crate::kv::live_snapshot(&self.store)
    }

    /// `key`'s time to live now; see [`Kv::ttl`].
    pub fn ttl(&self, key: &str) -> Ttl {
        self.store.ttl(key)
    }

    /// The value under `key`, or `fallback` if there is none.
    pub fn get_or(&self, key: &str, fallback: impl Into<Value>) -> Value {
        self.get(key).unwrap_or_else(|| fallback.into())
    }

    /// The value under `key`, converted to `T`; an error if it does not convert.
    pub fn get_as<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        from_text(key, self.store.get(key))
    }

    /// The value under `key` converted to `T`, or `fallback` if there is none; an error if it
    /// does not convert.
    pub fn get_as_or<T: DeserializeOwned>(&self, key: &str, fallback: T) -> Result<T, Error> {
        Ok(self.get_as(key)?.unwrap_or(fallback))
    }

    /// Whether `key` exists.
    pub fn contains(&self, key: &str) -> bool {
        self.store.contains(key)
    }

    /// How many keys the store holds.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether the store holds no keys.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    /// Every key, in no particular order.
    pub fn keys(&self) -> Vec<String> {
        self.store.keys().map(str::to_owned).collect()
    }

    /// A copy of the whole store, keys in ascending order.
    pub fn get_all(&self) -> Map<String, Value> {
        crate::kv::get_all(&self.store)
    }

    /// A copy of the whole store as each value's JSON text, keys in ascending order.
    pub fn get_all_text(&self) -> std::collections::BTreeMap<String, JsonText> {
        crate::kv::get_all_text(&self.store)
    }

    /// Reads the file again, replacing memory; on error, memory is unchanged.
    pub fn reload(&mut self) -> Result<(), Error> {
        let stored = load_read_only(&self.path)?;
        crate::compact::decode_compacted(stored, |stored| self.store.replace_all(stored)).map_err(
            |source| Error::Corrupt {
                path: self.path.clone(),
                source,
            },
        )?;
        self.exists = self.path.exists();
        Ok(())
    }
}

impl fmt::Debug for ReadOnlyKv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadOnlyKv")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}
