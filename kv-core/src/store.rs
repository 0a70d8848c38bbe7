use alloc::string::String;
use alloc::vec::Vec;

use serde_json::{Map, Value};

use crate::clock::Clock;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use crate::codec::{self, Contents, Entries, FORMAT_KEY, FORMAT_VERSION, RESERVED_PREFIX};
use crate::error::Rejected;
use crate::error::{Corrupt, Error};
use crate::expiry::{Expiries, REMOVED_PER_WRITE, Ttl, encode_record};
use crate::json::Decimal;
use crate::limits::Limits;
use crate::persist::{Change, Commit, Persist, Prepared, Stored};
use crate::sorted::Sorted;
use crate::transaction::{Pending, Put, Transaction, View};
use crate::value::Json;

/// A persistent map from string keys to JSON values, held as `V`: parsed [`Value`]s by
/// default, or [`JsonText`](crate::JsonText) (see [`Json`]).
///
/// Reads are served from memory. Every write is made durable through [`Persist`] first and
/// becomes visible second: when a write returns an error, memory still equals what storage
/// holds, and nothing is half-applied.
#[derive(Debug)]
pub struct Store<P, C, V = Value> {
    /// Invariant: `map`, `expiries` and `marked` equal what `persist` holds, decoded. Changed
    /// only after a commit succeeded (`Store::apply`), or to mirror another writer's commit
    /// (`Store::observe`, `Store::refresh`).
    map: Entries<V>,
    /// The expiry of every key that has one, expired or not.
    expiries: Expiries,
    /// Whether storage holds the format marker ([`codec::FORMAT_KEY`]).
    marked: bool,
    /// The latest time read from `clock`, in unix ms: a key whose expiry is at or before it
    /// has expired without another read of the clock (a system clock costs about 100 ns), and
    /// a clock set back does not bring an expired key back.
    seen_ms: AtomicU64,
    persist: P,
    clock: C,
    limits: Limits,
}

impl<P, C: Clock, V: Json> Store<P, C, V> {
    /// Whether `key` has expired now (false for a key without an expiry, whose check reads
    /// no clock).
    fn expired(&self, key: &str) -> bool {
        !self.expiries.is_empty()
            && self
                .expiries
                .get(key)
                .is_some_and(|at| at <= self.seen_ms.load(Ordering::Relaxed) || at <= self.now_ms())
    }

    /// The time now, in unix ms: the clock's, never earlier than an earlier reading.
    fn now_ms(&self) -> u64 {
        let now = self.clock.now_ms();
        self.seen_ms.fetch_max(now, Ordering::Relaxed).max(now)
    }

    /// The time reads compare expiries with: the clock, read only if some key has an expiry.
    fn read_time(&self) -> u64 {
        if self.expiries.is_empty() {
            0
        } else {
            self.now_ms()
        }
    }

    /// The value under `key`; `None` if it is absent or has expired.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.map.get(key).filter(|_| !self.expired(key))
    }

    /// The value under `key`, or `fallback` if there is none.
    pub fn get_or(&self, key: &str, fallback: V) -> V {
        self.get(key).cloned().unwrap_or(fallback)
    }

    /// Whether `key` exists (and has not expired).
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// `key`'s time to live now: [`Ttl::Missing`] for an absent or expired key.
    pub fn ttl(&self, key: &str) -> Ttl {
        if !self.map.contains_key(key) {
            return Ttl::Missing;
        }
        match self.expiries.get(key) {
            None => Ttl::Never,
            Some(at) => match at.checked_sub(self.now_ms()) {
                Some(left) if left > 0 => Ttl::Left(Duration::from_millis(left)),
                _ => Ttl::Missing,
            },
        }
    }

    /// When `key` expires, in unix milliseconds: `None` if it has no expiry or does not exist
    /// (expired or not).
    pub fn expires_at(&self, key: &str) -> Option<u64> {
        self.expiries.get(key)
    }

    /// How many keys the store holds, not counting expired ones.
    pub fn len(&self) -> usize {
        self.map.len() - self.expiries.count_expired(self.read_time())
    }

    /// Whether the store holds no keys (expired ones do not count).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many keys storage holds, expired ones not yet removed too (what
    /// [`Limits::max_entries`] counts).
    pub fn stored_len(&self) -> usize {
        self.map.len()
    }

    /// Every key, in no particular order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// Every key, in ascending byte order.
    pub fn sorted_keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        Sorted::new(self.map.len(), self.iter()).into_keys()
    }

    /// Every value, in no particular order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &V> + '_ {
        self.iter().map(|(_, v)| v)
    }

    /// Every key with its value, in no particular order; expired keys are left out.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &V)> + '_ {
        let now = self.read_time();
        let left = self.map.len() - self.expiries.count_expired(now);
        Live {
            inner: self
                .map
                .iter()
                .filter(move |(k, _)| !self.expiries.expired(k, now))
                .map(|(k, v)| (k.as_str(), v)),
            left,
        }
    }

    /// The whole store encoded as one snapshot, exactly as a snapshot adapter stores it.
    pub fn snapshot(&self) -> Vec<u8> {
        codec::encode_snapshot(&self.map, &self.expiries, &[], false)
    }

    /// Checks, before any value exists, what a write of `key` expiring `ttl` from now would be
    /// refused for: a reserved key, the key limit, a ttl the store does not hold. For a host
    /// that computes the value only if the write can happen (memoize).
    pub fn check_write(&self, key: &str, ttl: Option<Duration>) -> Result<(), Rejected> {
        if key.starts_with(RESERVED_PREFIX) {
            return Err(Rejected::ReservedKey(key.into()));
        }
        self.limits.check_key(key)?;
        if let Some(ttl) = ttl {
            crate::expiry::expiry_after(self.now_ms(), ttl)?;
        }
        Ok(())
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

    /// Decides a write call against memory without changing it: runs `f` over a
    /// [`Transaction`] and returns its answer with what it staged, checked against the limits
    /// (the entry count too) and encoded. Nothing is written and memory is unchanged: the host
    /// makes the changes durable, then calls [`apply`](Self::apply). If `f` or a limit fails,
    /// the error is returned and there is nothing to write.
    ///
    /// ```
    /// # use kv_core::{Store, ManualClock, Limits, Stored, Change, Rejected};
    /// # use serde_json::json;
    /// let mut store: Store<(), _> =
    ///     Store::from_stored(Stored::Nothing, ManualClock::new(7), Limits::DEFAULT)?;
    /// let (claimed, prepared) =
    ///     store.prepare(|tx| Ok::<_, Rejected>(tx.set_if_absent("seen:1", json!(true))?))?;
    /// assert!(claimed);
    /// assert_eq!(prepared.reads().collect::<Vec<_>>(), [("seen:1", None)]);
    /// assert_eq!(
    ///     prepared.changes().collect::<Vec<_>>(),
    ///     [Change::Put { key: "seen:1", value: b"true" }]
    /// );
    /// assert!(!store.contains("seen:1"));
    /// // ... the host makes `prepared` durable ...
    /// store.apply(prepared);
    /// assert!(store.contains("seen:1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prepare<R, E: From<Rejected>>(
        &self,
        f: impl FnOnce(&mut Transaction<'_, V>) -> Result<R, E>,
    ) -> Result<(R, Prepared<V>), E> {
        self.decide(None, f)?.map_err(E::from)
    }

    /// As [`prepare`](Self::prepare), but decided against memory with `pending` applied over
    /// it: for a host that makes several calls durable in one write (group commit). Push the
    /// result onto `pending`, and once the shared write succeeded, [`apply`](Self::apply) each
    /// in the order prepared.
    pub fn prepare_after<R, E: From<Rejected>>(
        &self,
        pending: &Pending<V>,
        f: impl FnOnce(&mut Transaction<'_, V>) -> Result<R, E>,
    ) -> Result<(R, Prepared<V>), E> {
        self.decide(Some(pending), f)?.map_err(E::from)
    }

    /// Runs `f`; the outer error is `f`'s, the inner one the entry limit's.
    fn decide<R, E>(
        &self,
        pending: Option<&Pending<V>>,
        f: impl FnOnce(&mut Transaction<'_, V>) -> Result<R, E>,
    ) -> Result<Result<(R, Prepared<V>), Rejected>, E> {
        let view = View {
            base: &self.map,
            expiries: &self.expiries,
            pending,
        };
        let mut tx = Transaction::new(view, &self.limits, self.now_ms());
        let result = f(&mut tx)?;
        if tx.clear || !tx.staged.is_empty() {
            // A write also removes a few keys that have expired: storage shrinks back to the
            // live keys, at a bounded cost per write.
            tx.remove_expired(REMOVED_PER_WRITE);
        }
        let clear = tx.clear;
        let expiring = tx
            .staged
            .values()
            .any(|s| s.as_ref().is_some_and(|put| put.expires.is_some()));
        if expiring && !view.marked(self.marked && !clear) {
            tx.staged.insert(
                FORMAT_KEY.into(),
                Some(Put {
                    value: V::from_seconds(FORMAT_VERSION),
                    expires: None,
                    record: Decimal::new(FORMAT_VERSION).as_str().into(),
                }),
            );
        }
        let mut changes: Vec<_> = tx.staged.into_iter().collect();
        changes.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut reads = tx.reads.into_inner();
        reads.sort_unstable();
        reads.dedup();
        let reads = reads
            .into_iter()
            .map(|key| {
                let seen = view
                    .stored(&key)
                    .map(|(value, at)| encode_record(&value.encode(), at));
                (key, seen)
            })
            .collect();
        let before = view.len();
        let len_after = changes
            .iter()
            .filter(|(key, _)| !key.starts_with(RESERVED_PREFIX))
            .fold(if clear { 0 } else { before }, |len, (key, value)| {
                let existed = !clear && view.stored(key).is_some();
                match (existed, value.is_some()) {
                    (false, true) => len + 1,
                    (true, false) => len - 1,
                    _ => len,
                }
            });
        if len_after > before
            && let Err(e) = self.limits.check_entries(len_after)
        {
            return Ok(Err(e.into()));
        }
        Ok(Ok((
            result,
            Prepared {
                clear,
                changes,
                reads,
                len_after,
            },
        )))
    }

    /// What [`Persist::commit`] receives for `prepared`: its changes over this store's memory
    /// (so [`Commit::snapshot`] is the whole store once they apply).
    pub fn commit_of<'a>(&'a self, prepared: &'a Prepared<V>) -> Commit<'a, V> {
        Commit {
            prepared,
            base: &self.map,
            expiries: &self.expiries,
        }
    }

    /// Makes memory follow storage once the host has made `prepared` durable.
    pub fn apply(&mut self, prepared: Prepared<V>) {
        if prepared.clear {
            self.map.clear();
            self.expiries.clear();
            self.marked = false;
        }
        for (key, value) in prepared.changes {
            if key == FORMAT_KEY {
                self.marked = true;
                continue;
            }
            self.expiries
                .set(&key, value.as_ref().and_then(|put| put.expires));
            match value {
                Some(put) => self.map.insert(key, put.value),
                None => self.map.remove(&key),
            };
        }
    }

    /// Brings memory up to date with records just read from storage (`None`: the key is
    /// absent there), for a host whose storage other writers share: returns whether memory
    /// differed, in which case a prepared call must be prepared again.
    ///
    /// Every value is decoded before any is applied: if one does not decode, nothing changes.
    pub fn refresh<'r>(
        &mut self,
        records: impl IntoIterator<Item = (&'r str, Option<&'r [u8]>)>,
    ) -> Result<bool, Corrupt> {
        let mut differ = Vec::new();
        for (key, bytes) in records {
            let decoded = match bytes {
                Some(bytes) => match codec::decode_one::<V>(key, bytes)? {
                    None => {
                        self.marked = true;
                        continue;
                    }
                    Some(decoded) => Some(decoded),
                },
                None if key == FORMAT_KEY => {
                    self.marked = false;
                    continue;
                }
                None => None,
            };
            let held = self
                .map
                .get(key)
                .map(|value| (value, self.expiries.get(key)));
            if held != decoded.as_ref().map(|(value, at)| (value, *at)) {
                differ.push((key, decoded));
            }
        }
        let changed = !differ.is_empty();
        for (key, decoded) in differ {
            self.set_held(key, decoded);
        }
        Ok(changed)
    }

    /// Memory's entry for `key` becomes `decoded` (`None`: absent).
    fn set_held(&mut self, key: &str, decoded: Option<(V, Option<u64>)>) {
        self.expiries
            .set(key, decoded.as_ref().and_then(|(_, at)| *at));
        match decoded {
            Some((value, _)) => self.map.insert(key.into(), value),
            None => self.map.remove(key),
        };
    }

    /// Replaces memory with everything `stored` holds (a host's full re-read); on error memory
    /// is unchanged.
    pub fn replace_all(&mut self, stored: Stored) -> Result<(), Corrupt> {
        let contents = decode(stored)?;
        self.map = contents.map;
        self.expiries = contents.expiries;
        self.marked = contents.marked;
        Ok(())
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
                Change::Put { key, value } => (key, Some(codec::decode_one::<V>(key, value)?)),
                Change::Delete { key } => (key, None),
            });
        }
        if clear {
            self.map.clear();
            self.expiries.clear();
            self.marked = false;
        }
        for (key, change) in decoded {
            match change {
                Some(None) => self.marked = true,
                None if key == FORMAT_KEY => self.marked = false,
                Some(Some(decoded)) => self.set_held(key, Some(decoded)),
                None => self.set_held(key, None),
            }
        }
        Ok(())
    }
}

impl<C: Clock, V: Json> Store<(), C, V> {
    /// A store over `stored`, for a host that does its own I/O and drives writes through
    /// [`prepare`](Self::prepare) and [`apply`](Self::apply). Bytes that do not decode are
    /// [`Corrupt`].
    pub fn from_stored(stored: Stored, clock: C, limits: Limits) -> Result<Self, Corrupt> {
        let contents = decode(stored)?;
        Ok(Self {
            map: contents.map,
            expiries: contents.expiries,
            marked: contents.marked,
            seen_ms: AtomicU64::new(0),
            persist: (),
            clock,
            limits,
        })
    }
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
        let contents = decode(stored)?;
        Ok(Self {
            map: contents.map,
            expiries: contents.expiries,
            marked: contents.marked,
            seen_ms: AtomicU64::new(0),
            persist,
            clock,
            limits,
        })
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

    /// Sets `key` to `value`, expiring `ttl` from now (at least 1 ms, rounded to the
    /// millisecond); [`Rejected::Ttl`] for a ttl the store does not hold.
    pub async fn set_with_ttl(
        &mut self,
        key: impl Into<String>,
        value: V,
        ttl: Duration,
    ) -> Result<(), Error<P::Error>> {
        self.transaction(|tx| Ok(tx.set_with_ttl(key, value, ttl)?))
            .await
    }

    /// Sets `key` to the current time in whole unix seconds, expiring `ttl` from now: "seen
    /// now, forget in 30 days". Returns that time.
    pub async fn touch_with_ttl(
        &mut self,
        key: impl Into<String>,
        ttl: Duration,
    ) -> Result<u64, Error<P::Error>> {
        self.transaction(|tx| Ok(tx.touch_with_ttl(key, ttl)?))
            .await
    }

    /// Sets `key` to `value` unless it exists (an expired key does not), the new value expiring
    /// `ttl` from now; returns whether it was set.
    pub async fn set_if_absent_with_ttl(
        &mut self,
        key: impl Into<String>,
        value: V,
        ttl: Duration,
    ) -> Result<bool, Error<P::Error>> {
        self.transaction(|tx| Ok(tx.set_if_absent_with_ttl(key, value, ttl)?))
            .await
    }

    /// Sets every key to its value, each expiring `ttl` from now, in one commit.
    pub async fn set_many_with_ttl<K: Into<String>>(
        &mut self,
        entries: impl IntoIterator<Item = (K, V)>,
        ttl: Duration,
    ) -> Result<(), Error<P::Error>> {
        self.transaction(|tx| {
            for (key, value) in entries {
                tx.set_with_ttl(key, value, ttl)?;
            }
            Ok(())
        })
        .await
    }

    /// Gives `key` an expiry `ttl` from now, or removes its expiry (`None`); returns whether
    /// the key exists. A missing key stays missing.
    pub async fn expire(
        &mut self,
        key: &str,
        ttl: Option<Duration>,
    ) -> Result<bool, Error<P::Error>> {
        self.transaction(|tx| Ok(tx.expire(key, ttl)?)).await
    }

    /// Removes from storage every key that has expired; returns how many. (Writes remove a
    /// few each too; reads never do.)
    pub async fn purge(&mut self) -> Result<usize, Error<P::Error>> {
        self.transaction(|tx| Ok(tx.purge())).await
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

    /// Replaces the value under `key` with `f(current)`, atomically: `Some` sets, keeping the
    /// key's expiry, `None` removes. Returns the new value.
    pub async fn update(
        &mut self,
        key: impl Into<String>,
        f: impl FnOnce(Option<&V>) -> Option<V>,
    ) -> Result<Option<V>, Error<P::Error>> {
        let key = key.into();
        self.transaction(|tx| match f(tx.get(&key)) {
            Some(value) => {
                tx.set_keeping_ttl(key, value.clone())?;
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
    /// This is [`prepare`](Self::prepare), [`Persist::commit`], then [`apply`](Self::apply).
    ///
    /// ```
    /// # use kv_core::{Store, MemoryPersist, ManualClock, Error};
    /// # use serde_json::json;
    /// # kv_core::block_on(async {
    /// # let mut store: Store<_, _> = Store::open(MemoryPersist::new(), ManualClock::new(0)).await?;
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
        let (result, prepared) = match self.decide(None, f)? {
            Ok(decided) => decided,
            Err(rejected) => return Err(Error::Rejected(rejected).into()),
        };
        if prepared.is_empty() {
            return Ok(result);
        }
        let commit = Commit {
            prepared: &prepared,
            base: &self.map,
            expiries: &self.expiries,
        };
        self.persist.commit(&commit).await.map_err(Error::Storage)?;
        self.apply(prepared);
        Ok(result)
    }

    /// Reads everything from storage again, replacing memory; on error memory is unchanged.
    pub async fn reload(&mut self) -> Result<(), Error<P::Error>> {
        let stored = self.persist.load().await.map_err(Error::Storage)?;
        Ok(self.replace_all(stored)?)
    }
}

impl<P, C: Clock> Store<P, C, Value> {
    /// A copy of the whole store, keys in ascending order.
    pub fn get_all(&self) -> Map<String, Value> {
        self.iter()
            .map(|(k, v)| (String::from(k), v.clone()))
            .collect()
    }
}

fn decode<V: Json>(stored: Stored) -> Result<Contents<V>, Corrupt> {
    match stored {
        Stored::Nothing => Ok(Contents::default()),
        Stored::Snapshot(bytes) => codec::decode_snapshot(&bytes),
        Stored::Records(records) => codec::decode_records(records),
        Stored::Journaled { snapshot, changes } => {
            let base = match snapshot {
                Some(bytes) => codec::decode_snapshot(&bytes)?,
                None => Contents::default(),
            };
            codec::replay(base, changes)
        }
        Stored::Corrupt(corrupt) => Err(corrupt),
    }
}

/// An iterator over the live keys, which knows how many there are.
struct Live<I> {
    inner: I,
    left: usize,
}

impl<I: Iterator> Iterator for Live<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let item = self.inner.next()?;
        self.left -= 1;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<I: Iterator> ExactSizeIterator for Live<I> {}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use serde_json::json;

    use crate::{
        Change, Limit, Limits, ManualClock, MemoryPersist, Pending, Rejected, Store, Stored,
        block_on,
    };

    type Detached = Store<(), ManualClock>;

    fn detached(json: &str) -> Detached {
        Store::from_stored(
            Stored::Snapshot(json.as_bytes().to_vec()),
            ManualClock::new(5),
            Limits::DEFAULT.max_entries(3),
        )
        .expect("the test's snapshot decodes")
    }

    #[test]
    fn prepare_records_the_keys_an_answer_depends_on_with_what_it_saw() {
        let store = detached(r#"{"a":1,"b":[2]}"#);
        let (_, blind) = store
            .prepare(|tx| {
                tx.set("a", 7)?;
                tx.set("fresh", 8)?;
                Ok::<_, Rejected>(())
            })
            .expect("a blind write is within the limits");
        assert_eq!(blind.reads().count(), 0);

        let (answer, prepared) = store
            .prepare(|tx| {
                let claimed = tx.set_if_absent("new", true)?;
                let existed = tx.delete("b");
                let seen = tx.get("a").cloned();
                tx.set("a", 2)?;
                // Reads of what the transaction itself wrote depend on nothing stored.
                assert_eq!(tx.get("a"), Some(&json!(2)));
                assert!(tx.contains("new"));
                Ok::<_, Rejected>((claimed, existed, seen))
            })
            .expect("within the limits");
        assert_eq!(answer, (true, true, Some(json!(1))));
        assert_eq!(
            prepared.reads().collect::<Vec<_>>(),
            [
                ("a", Some(&b"1"[..])),
                ("b", Some(&b"[2]"[..])),
                ("new", None)
            ]
        );
        assert_eq!(
            prepared.changes().collect::<Vec<_>>(),
            [
                Change::Put {
                    key: "a",
                    value: b"2"
                },
                Change::Delete { key: "b" },
                Change::Put {
                    key: "new",
                    value: b"true"
                },
            ]
        );
        assert_eq!(prepared.len_after(), 2);
        // Nothing changed until it is applied.
        assert_eq!(store.get("a"), Some(&json!(1)));
        let mut store = store;
        store.apply(prepared);
        assert_eq!(store.snapshot(), b"{\"a\":2,\"new\":true}\n");
    }

    #[test]
    fn deleting_a_key_set_in_the_same_transaction_reads_it() {
        let store = detached(r#"{"a":1}"#);
        let (_, prepared) = store
            .prepare(|tx| {
                tx.set("b", 2)?;
                Ok::<_, Rejected>(tx.delete("b"))
            })
            .expect("within the limits");
        // Whether storage must delete "b" depends on whether it holds "b".
        assert_eq!(prepared.reads().collect::<Vec<_>>(), [("b", None)]);
        assert!(prepared.is_empty());
    }

    #[test]
    fn refresh_reports_whether_memory_was_behind_and_applies_nothing_on_corrupt_records() {
        let mut store = detached(r#"{"a":1,"b":2}"#);
        let same = store.refresh([("a", Some(&b"1"[..])), ("z", None)]);
        assert_eq!(same, Ok(false));
        let behind = store.refresh([("a", Some(&b"3"[..])), ("b", None), ("c", Some(&b"4"[..]))]);
        assert_eq!(behind, Ok(true));
        assert_eq!(store.snapshot(), b"{\"a\":3,\"c\":4}\n");
        let corrupt = store.refresh([("a", Some(&b"5"[..])), ("c", Some(&b"{"[..]))]);
        assert!(corrupt.is_err());
        assert_eq!(store.snapshot(), b"{\"a\":3,\"c\":4}\n");
    }

    #[test]
    fn calls_prepared_after_pending_ones_see_them_and_count_them() {
        let mut store = detached(r#"{"a":1}"#);
        let mut pending = Pending::new();
        let claim = |tx: &mut crate::Transaction<'_>| tx.set_if_absent("x", 1);
        let (first, p1) = store.prepare_after(&pending, claim).expect("within limits");
        pending.push(&p1);
        let (second, p2) = store.prepare_after(&pending, claim).expect("within limits");
        pending.push(&p2);
        assert_eq!((first, second), (true, false));
        assert!(p2.is_empty());
        let (_, p3) = store
            .prepare_after(&pending, |tx| tx.set("y", 2))
            .expect("three keys fit");
        pending.push(&p3);
        let over = store.prepare_after(&pending, |tx| tx.set("z", 3));
        assert!(matches!(
            over,
            Err(Rejected::Limit(e)) if e.limit == Limit::Entries
        ));
        // Memory is as storage holds it until each is applied, in order.
        assert_eq!(store.len(), 1);
        for prepared in [p1, p2, p3] {
            store.apply(prepared);
        }
        pending.clear();
        assert_eq!(store.snapshot(), b"{\"a\":1,\"x\":1,\"y\":2}\n");
    }

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
