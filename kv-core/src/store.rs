use alloc::string::String;

use serde_json::{Map, Value};

use crate::clock::Clock;
use crate::codec::{self, Entries};
use crate::error::{Corrupt, Error};
use crate::limits::Limits;
use crate::persist::{Change, Commit, Persist, Stored};
use crate::sorted::Sorted;
use crate::transaction::Transaction;
use crate::value::Json;

/// A persistent map from string keys to JSON values, held as `V`: parsed [`Value`]s by
/// default, or [`JsonText`](crate::JsonText) (see [`Json`]).
///
/// Reads are served from memory. Every write is made durable through [`Persist`] first and
/// becomes visible second: when a write returns an error, memory still equals what storage
/// holds, and nothing is half-applied.
#[derive(Debug)]
pub struct Store<P, C, V = Value> {
    /// Invariant: equal to what `persist` holds, decoded. Changed only after a commit
    /// succeeded (`Store::commit`), or to mirror another writer's commit (`Store::observe`).
    map: Entries<V>,
    persist: P,
    clock: C,
    limits: Limits,
}

impl<P: Persist, C: Clock, V: Json> Store<P, C, V> {
    /// Opens the store `persist` holds, with the default [`Limits`].
    pub async fn open(persist: P, clock: C) -> Result<Self, Error<P::Error>> {
        Self::open_with_limits(persist, clock, Limits::default()).await
    }

    /// Opens the store `persist` holds. Nothing stored yet is an empty store; stored bytes
    /// that do not decode are [`Error::Corrupt`], and nothing is written.
    pub async fn open_with_limits(
        mut persist: P,
        clock: C,
        limits: Limits,
    ) -> Result<Self, Error<P::Error>> {
        let stored = persist.load().await.map_err(Error::Storage)?;
        let map = decode(stored)?;
        Ok(Self {
            map,
            persist,
            clock,
            limits,
        })
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.map.get(key)
    }

    /// The value under `key`, or `fallback` if there is none.
    pub fn get_or(&self, key: &str, fallback: V) -> V {
        self.map.get(key).cloned().unwrap_or(fallback)
    }

    /// Whether `key` exists.
    pub fn contains(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// How many keys the store holds.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the store holds no keys.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Every key, in no particular order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.map.keys().map(|k| k.as_str())
    }

    /// Every key, in ascending byte order.
    pub fn sorted_keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        Sorted::new(self.map.len(), self.iter()).into_keys()
    }

    /// Every value, in no particular order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &V> + '_ {
        self.map.values()
    }

    /// Every key with its value, in no particular order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &V)> + '_ {
        self.map.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The whole store encoded as one snapshot, exactly as a snapshot adapter stores it.
    pub fn snapshot(&self) -> alloc::vec::Vec<u8> {
        codec::encode_snapshot(&self.map, &Sorted::empty(), false)
    }

    /// The limits writes are checked against.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The clock value-less writes read.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The storage adapter.
    pub fn persist(&self) -> &P {
        &self.persist
    }

    /// Closes the store and hands back its storage adapter.
    pub fn close(self) -> P {
        self.persist
    }

    /// Sets `key` to `value`.
    pub async fn set(&mut self, key: impl Into<String>, value: V) -> Result<(), Error<P::Error>> {
        self.transaction(|tx| Ok(tx.set(key, value)?)).await
    }

    /// Sets `key` to the current time in whole unix seconds, and returns that time.
    pub async fn touch(&mut self, key: impl Into<String>) -> Result<u64, Error<P::Error>> {
        self.transaction(|tx| Ok(tx.touch(key)?)).await
    }

    /// Sets `key` to `value` unless it exists; returns whether it was set.
    pub async fn set_if_absent(
        &mut self,
        key: impl Into<String>,
        value: V,
    ) -> Result<bool, Error<P::Error>> {
        self.transaction(|tx| Ok(tx.set_if_absent(key, value)?))
            .await
    }

    /// Sets `key` to the current time unless it exists; returns whether it was set.
    ///
    /// The "have I seen this ID before" check and its record, in one durable step.
    pub async fn touch_if_absent(
        &mut self,
        key: impl Into<String>,
    ) -> Result<bool, Error<P::Error>> {
        self.transaction(|tx| {
            let now = V::from_seconds(tx.now());
            Ok(tx.set_if_absent(key, now)?)
        })
        .await
    }

    /// Removes `key`; returns whether it existed. Removing a missing key writes nothing.
    pub async fn delete(&mut self, key: &str) -> Result<bool, Error<P::Error>> {
        self.transaction(|tx| Ok(tx.delete(key))).await
    }

    /// Removes every key and erases the storage itself.
    pub async fn clear(&mut self) -> Result<(), Error<P::Error>> {
        self.transaction(|tx| {
            tx.clear();
            Ok(())
        })
        .await
    }

    /// Sets every key to its value, in one commit: all of them or none.
    pub async fn set_many<K: Into<String>>(
        &mut self,
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), Error<P::Error>> {
        self.transaction(|tx| {
            for (key, value) in entries {
                tx.set(key, value)?;
            }
            Ok(())
        })
        .await
    }

    /// Removes every key given, in one commit; returns how many existed.
    pub async fn delete_many<'k>(
        &mut self,
        keys: impl IntoIterator<Item = &'k str>,
    ) -> Result<usize, Error<P::Error>> {
        self.transaction(|tx| Ok(keys.into_iter().filter(|k| tx.delete(k)).count()))
            .await
    }

    /// Replaces the value under `key` with `f(current)`, atomically: `Some` sets, `None`
    /// removes. Returns the new value.
    pub async fn update(
        &mut self,
        key: impl Into<String>,
        f: impl FnOnce(Option<&V>) -> Option<V>,
    ) -> Result<Option<V>, Error<P::Error>> {
        let key = key.into();
        self.transaction(|tx| match f(tx.get(&key)) {
            Some(value) => {
                tx.set(key, value.clone())?;
                Ok(Some(value))
            }
            None => {
                tx.delete(&key);
                Ok(None)
            }
        })
        .await
    }

    /// Runs `f` over a [`Transaction`] and commits what it staged in one step. If `f` returns
    /// an error, nothing is written and the error is returned.
    ///
    /// ```
    /// # use kv_core::{Store, MemoryPersist, ManualClock, Error};
    /// # use serde_json::json;
    /// # kv_core::block_on(async {
    /// # let mut store = Store::open(MemoryPersist::new(), ManualClock::new(0)).await?;
    /// // Move a token from one queue to another, or not at all.
    /// store.transaction(|tx| {
    ///     tx.delete("queue:a");
    ///     tx.set("queue:b", json!(["token"]))?;
    ///     Ok::<_, Error<_>>(())
    /// }).await?;
    /// # Ok::<(), Error<core::convert::Infallible>>(())
    /// # }).unwrap();
    /// ```
    pub async fn transaction<R, E>(
        &mut self,
        f: impl FnOnce(&mut Transaction<'_, V>) -> Result<R, E>,
    ) -> Result<R, E>
    where
        E: From<Error<P::Error>>,
    {
        let mut tx = Transaction::new(&self.map, &self.limits, self.clock.now());
        let result = f(&mut tx)?;
        if tx.is_empty() {
            return Ok(result);
        }
        let (clear, staged) = (tx.clear, tx.staged);
        let sorted = Sorted::new(staged.len(), staged.iter().map(|(k, v)| (k.as_str(), v)));
        let commit = Commit {
            clear,
            staged: &sorted,
            base: &self.map,
        };
        let entries = commit.len_after();
        if entries > self.map.len() {
            self.limits
                .check_entries(entries)
                .map_err(|e| Error::Rejected(e.into()))?;
        }
        self.persist.commit(&commit).await.map_err(Error::Storage)?;
        if clear {
            self.map.clear();
        }
        for (key, value) in staged {
            match value {
                Some((value, _)) => self.map.insert(key, value),
                None => self.map.remove(&key),
            };
        }
        Ok(result)
    }

    /// Mirrors a commit that another writer made to the same storage (another tab, another
    /// worker), so that memory equals storage again. Writes nothing.
    ///
    /// Every value is decoded before any is applied: if one does not decode, nothing changes.
    pub fn observe<'c>(
        &mut self,
        clear: bool,
        changes: impl IntoIterator<Item = Change<'c>>,
    ) -> Result<(), Corrupt> {
        let mut decoded = alloc::vec::Vec::new();
        for change in changes {
            decoded.push(match change {
                Change::Put { key, value } => (key, Some(V::decode(Some(key), value)?)),
                Change::Delete { key } => (key, None),
            });
        }
        if clear {
            self.map.clear();
        }
        for (key, value) in decoded {
            match value {
                Some(value) => self.map.insert(key.into(), value),
                None => self.map.remove(key),
            };
        }
        Ok(())
    }

    /// Reads everything from storage again, replacing memory; on error memory is unchanged.
    pub async fn reload(&mut self) -> Result<(), Error<P::Error>> {
        let stored = self.persist.load().await.map_err(Error::Storage)?;
        self.map = decode(stored)?;
        Ok(())
    }
}

impl<P: Persist, C: Clock> Store<P, C, Value> {
    /// A copy of the whole store, keys in ascending order.
    pub fn get_all(&self) -> Map<String, Value> {
        self.map
            .iter()
            .map(|(k, v)| (String::from(k.as_str()), v.clone()))
            .collect()
    }
}

fn decode<V: Json>(stored: Stored) -> Result<Entries<V>, Corrupt> {
    match stored {
        Stored::Nothing => Ok(Entries::new()),
        Stored::Snapshot(bytes) => codec::decode_snapshot(&bytes),
        Stored::Records(records) => codec::decode_records(records),
        Stored::Journaled { snapshot, changes } => {
            let base = match snapshot {
                Some(bytes) => codec::decode_snapshot(&bytes)?,
                None => Entries::new(),
            };
            codec::replay(base, changes)
        }
        Stored::Corrupt(corrupt) => Err(corrupt),
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use serde_json::json;

    use crate::{ManualClock, MemoryPersist, Store, block_on};

    #[test]
    fn sorted_keys_and_the_snapshot_are_in_ascending_byte_order() {
        let store = block_on(async {
            let mut store = Store::open(MemoryPersist::new(), ManualClock::new(0)).await?;
            store
                .set_many([
                    ("é", json!(1)),
                    ("b", json!(2)),
                    ("B", json!(3)),
                    ("", json!(4)),
                ])
                .await?;
            Ok::<_, crate::Error<core::convert::Infallible>>(store)
        })
        .expect("memory storage completes at once")
        .expect("memory storage does not fail");
        assert_eq!(store.sorted_keys().collect::<Vec<_>>(), ["", "B", "b", "é"]);
        assert_eq!(
            store.snapshot(),
            "{\"\":4,\"B\":3,\"b\":2,\"é\":1}\n".as_bytes()
        );
    }
}
