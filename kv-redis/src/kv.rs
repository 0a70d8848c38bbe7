//! [`Kv`]: the blocking API over one store in Redis.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kv_core::{
    Change, Clock, Limits, Map, Prepared, Rejected, StorageErrorKind, Transaction, Ttl, Value,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::address::Address;
use crate::copy::{Copy, StoreClock};
use crate::error::{Error, RedisError};
use crate::layout::Layout;
use crate::link::{Link, Outcome};
use crate::listener;
use crate::shared::Shared;

/// How many times one call is decided again because other writers changed what it read,
/// before it gives up. Each retry means another writer's commit went through.
const MAX_ATTEMPTS: usize = 1000;
/// How long a commit waits for the listener to bring in the commits numbered before it,
/// before it reads the whole store itself.
const FOLLOW_TIMEOUT: Duration = Duration::from_secs(2);

/// One store in Redis, shared by every process that opens it, answered from a local copy.
///
/// Reads are served from memory. A write is decided against the copy, then sent to Redis
/// with the values the decision read; Redis commits it only if those keys still hold them
/// (one Lua script), else the call is decided again on fresh values. So set-if-absent,
/// `update` and transactions are atomic across processes. Other processes' commits reach
/// the copy through the store's announcement channel, without reopening.
///
/// Every call takes `&self`; share one `Kv` between threads with an `Arc`.
pub struct Kv {
    shared: Arc<Shared>,
    /// The connection commits go through; its lock orders this handle's writes.
    link: Mutex<Link>,
    listener: Option<JoinHandle<()>>,
    /// The keys a [`get_or_insert_with`](Self::get_or_insert_with) is computing, so that
    /// threads asking for the same key wait for the one computing it.
    flights: Flights<Mutex<()>>,
}

/// One lock per key being computed.
pub(crate) type Flights<L> = Mutex<HashMap<String, Arc<L>>>;

/// A caller's hold on `key`'s lock in [`Flights`]: its entry goes when the last holder lets
/// go (also when a caller panics or an async caller is dropped).
pub(crate) struct Flight<'a, L> {
    flights: &'a Flights<L>,
    key: &'a str,
    entry: Arc<L>,
}

impl<'a, L: Default> Flight<'a, L> {
    /// Takes (or makes) `key`'s entry.
    pub(crate) fn take(flights: &'a Flights<L>, key: &'a str) -> Self {
        let mut map = flights.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = Arc::clone(map.entry(key.to_owned()).or_default());
        Self {
            flights,
            key,
            entry,
        }
    }

    /// The key's lock, shared by every caller holding the entry.
    pub(crate) fn lock(&self) -> &L {
        &self.entry
    }
}

impl<L> Drop for Flight<'_, L> {
    fn drop(&mut self) {
        let mut map = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
        // Clones are made only under this lock: the map's and this one are the last.
        if Arc::strong_count(&self.entry) == 2 {
            map.remove(self.key);
        }
    }
}

/// How to open a store: its limits, its clock, and for `rediss://` the certificate to trust.
///
/// ```no_run
/// # fn main() -> Result<(), kv_redis::Error> {
/// use kv_redis::{Kv, Limits};
///
/// let kv = Kv::options()
///     .limits(Limits::DEFAULT.max_entries(10_000))
///     .open("redis://127.0.0.1:6379/0", "bot")?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct Options {
    limits: Limits,
    clock: StoreClock,
    root_certificate: Option<Vec<u8>>,
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("limits", &self.limits)
            .field("clock", &self.clock)
            .field("root_certificate", &self.root_certificate.is_some())
            .finish()
    }
}

impl Options {
    /// Writes are checked against `limits`. A store that already holds more still opens.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The clock this handle reads: for expiry (in unix milliseconds) and for the time a
    /// value-less write stores. By default the system's ([`SystemClock`](kv_core::SystemClock)).
    ///
    /// Redis stores each expiry as an absolute unix time, and each process decides with its
    /// own clock whether a key has expired, so the clocks of the processes sharing a store
    /// must agree. A hand-set clock ([`ManualClock`](kv_core::ManualClock)) makes expiry
    /// testable without waiting:
    ///
    /// ```no_run
    /// # fn main() -> Result<(), kv_redis::Error> {
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use kv_redis::{Kv, ManualClock};
    ///
    /// let clock = Arc::new(ManualClock::new(1_763_700_000));
    /// let kv = Kv::options().clock(clock.clone()).open("redis://127.0.0.1:6379/0", "test")?;
    /// kv.set_with_ttl("token", "abc", Duration::from_secs(60))?;
    /// clock.advance(60);
    /// assert_eq!(kv.get("token"), None);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock + Send + Sync>) -> Self {
        self.clock = StoreClock(clock);
        self
    }

    /// A `rediss://` connection trusts this certificate (PEM: a private CA's, or the
    /// server's own) instead of the system's root certificates.
    #[cfg(feature = "tls")]
    #[must_use]
    pub fn root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificate = Some(pem.into());
        self
    }

    /// Opens the store `name` in the Redis at `url`; see [`Kv::open`].
    pub fn open(&self, url: &str, name: &str) -> Result<Kv, Error> {
        Kv::open_with(url, name, self)
    }
}

impl Kv {
    /// Opens the store `name` in the Redis at `url` (`redis://[user:password@]host[:port][/db]`,
    /// `rediss://` with feature `tls`), with the default [`Options`]: connects, subscribes to
    /// the store's channel and reads the whole store.
    ///
    /// Fails with [`Error::Redis`] of kind `Unavailable` naming the URL (password redacted)
    /// if Redis cannot be reached, and with [`Error::Corrupt`] if a record does not decode.
    pub fn open(url: &str, name: &str) -> Result<Self, Error> {
        Self::open_with(url, name, &Options::default())
    }

    /// Options for opening a store.
    pub fn options() -> Options {
        Options::default()
    }

    fn open_with(url: &str, name: &str, options: &Options) -> Result<Self, Error> {
        let address = Address::parse_with(url, options.root_certificate.as_deref());
        let address = Arc::new(address.map_err(Error::Invalid)?);
        let layout = Layout::new(name).map_err(Error::Invalid)?;
        let mut link = Link::new(address.clone());
        link.connect()?;
        let shared = Arc::new(Shared::new(
            address,
            layout,
            Copy::new(options.limits, options.clock.clone()),
        ));
        let listener = listener::spawn(shared.clone())?;
        Ok(Self {
            shared,
            link: Mutex::new(link),
            listener: Some(listener),
            flights: Mutex::default(),
        })
    }

    /// The store's URL, its password replaced by `***`.
    pub fn url(&self) -> String {
        self.shared.address.to_string()
    }

    /// The store's name.
    pub fn name(&self) -> &str {
        &self.shared.layout.name
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.shared.copy().store.get(key).cloned()
    }

    /// The value under `key`, or `fallback` if there is none.
    pub fn get_or(&self, key: &str, fallback: impl Into<Value>) -> Value {
        self.get(key).unwrap_or_else(|| fallback.into())
    }

    /// The value under `key`, converted to `T`; an error if it does not convert.
    pub fn get_as<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        self.shared
            .copy()
            .store
            .get(key)
            .map(T::deserialize)
            .transpose()
            .map_err(|source| Error::Value {
                key: key.to_owned(),
                source,
            })
    }

    /// Whether `key` exists.
    pub fn contains(&self, key: &str) -> bool {
        self.shared.copy().store.contains(key)
    }

    /// How many keys the store holds.
    pub fn len(&self) -> usize {
        self.shared.copy().store.len()
    }

    /// Whether the store holds no keys.
    pub fn is_empty(&self) -> bool {
        self.shared.copy().store.is_empty()
    }

    /// Every key, in no particular order.
    pub fn keys(&self) -> Vec<String> {
        self.shared.copy().store.keys().map(str::to_owned).collect()
    }

    /// A copy of the whole store, keys in ascending order.
    pub fn get_all(&self) -> Map<String, Value> {
        self.shared.copy().store.get_all()
    }

    /// The time `key` has left, from the copy: [`Ttl::Never`] for a key without an expiry,
    /// [`Ttl::Missing`] for an absent or expired one.
    pub fn ttl(&self, key: &str) -> Ttl {
        self.shared.copy().store.ttl(key)
    }

    /// The limits writes are checked against.
    pub fn limits(&self) -> Limits {
        *self.shared.copy().store.limits()
    }

    /// The number of the last commit to this store that the copy reflects (the store's
    /// counter in Redis). It moves when this handle writes and when another's commit arrives.
    pub fn seq(&self) -> u64 {
        self.shared.copy().seq
    }

    /// Waits until the copy reflects a commit numbered after `seq` (by this handle or
    /// another process), or `timeout` passes; returns [`seq`](Self::seq) then.
    pub fn wait_past(&self, seq: u64, timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        let mut copy = self.shared.copy();
        while copy.seq <= seq {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            copy = self.shared.wait(copy, left).0;
        }
        copy.seq
    }

    /// Sets `key` to `value`.
    pub fn set(&self, key: impl Into<String>, value: impl Into<Value>) -> Result<(), Error> {
        let (key, value) = (key.into(), value.into());
        self.write(|tx| Ok(tx.set(key.clone(), value.clone())?))
    }

    /// Sets `key` to `value` converted to JSON.
    pub fn set_as<T: Serialize + ?Sized>(
        &self,
        key: impl Into<String>,
        value: &T,
    ) -> Result<(), Error> {
        let key = key.into();
        let value = to_json(&key, value)?;
        self.set(key, value)
    }

    /// Sets `key` to the current time in whole unix seconds, and returns that time.
    pub fn touch(&self, key: impl Into<String>) -> Result<u64, Error> {
        let key = key.into();
        self.write(|tx| Ok(tx.touch(key.clone())?))
    }

    /// Sets `key` to `value` unless it exists in Redis; returns whether it was set. Two
    /// processes setting the same absent key: exactly one gets `true`.
    pub fn set_if_absent(
        &self,
        key: impl Into<String>,
        value: impl Into<Value>,
    ) -> Result<bool, Error> {
        let (key, value) = (key.into(), value.into());
        self.write(|tx| Ok(tx.set_if_absent(key.clone(), value.clone())?))
    }

    /// Sets `key` to the current time unless it exists in Redis; returns whether it was
    /// set: "have I seen this ID before", answered by Redis, recorded in the same step.
    pub fn touch_if_absent(&self, key: impl Into<String>) -> Result<bool, Error> {
        let key = key.into();
        self.write(|tx| {
            let now = Value::from(tx.now());
            Ok(tx.set_if_absent(key.clone(), now)?)
        })
    }

    /// Sets `key` to the current time, expiring `ttl` from now, unless it exists in Redis (an
    /// expired key does not); returns whether it was set: "have I seen this ID in the last
    /// 30 days?", answered by Redis.
    pub fn touch_if_absent_with_ttl(
        &self,
        key: impl Into<String>,
        ttl: Duration,
    ) -> Result<bool, Error> {
        let key = key.into();
        self.write(|tx| {
            let now = Value::from(tx.now());
            Ok(tx.set_if_absent_with_ttl(key.clone(), now, ttl)?)
        })
    }

    /// Removes `key`; returns whether it existed in Redis.
    pub fn delete(&self, key: &str) -> Result<bool, Error> {
        self.write(|tx| Ok(tx.delete(key)))
    }

    /// Removes every key.
    pub fn clear(&self) -> Result<(), Error> {
        self.write(|tx| {
            tx.clear();
            Ok(())
        })
    }

    /// Sets every key to its value in one commit: all of them or none.
    pub fn set_many<K: Into<String>, V: Into<Value>>(
        &self,
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), Error> {
        let entries: Vec<(String, Value)> = entries
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self.write(|tx| {
            for (key, value) in &entries {
                tx.set(key.clone(), value.clone())?;
            }
            Ok(())
        })
    }

    /// Sets `key` to `value`, expiring `ttl` from now (at least 1 ms, rounded to the
    /// millisecond). A ttl the store cannot hold is [`Error::Rejected`] (kind `InvalidTtl`),
    /// and nothing changes.
    pub fn set_with_ttl(
        &self,
        key: impl Into<String>,
        value: impl Into<Value>,
        ttl: Duration,
    ) -> Result<(), Error> {
        let (key, value) = (key.into(), value.into());
        self.write(|tx| Ok(tx.set_with_ttl(key.clone(), value.clone(), ttl)?))
    }

    /// Sets `key` to `value` converted to JSON, expiring `ttl` from now.
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
    /// now, forget in 30 days"); returns that time.
    pub fn touch_with_ttl(&self, key: impl Into<String>, ttl: Duration) -> Result<u64, Error> {
        let key = key.into();
        self.write(|tx| Ok(tx.touch_with_ttl(key.clone(), ttl)?))
    }

    /// Sets `key` to `value`, expiring `ttl` from now, unless it exists in Redis (an expired
    /// key does not); returns whether it was set.
    pub fn set_if_absent_with_ttl(
        &self,
        key: impl Into<String>,
        value: impl Into<Value>,
        ttl: Duration,
    ) -> Result<bool, Error> {
        let (key, value) = (key.into(), value.into());
        self.write(|tx| Ok(tx.set_if_absent_with_ttl(key.clone(), value.clone(), ttl)?))
    }

    /// Sets every key to its value, each expiring `ttl` from now, in one commit.
    pub fn set_many_with_ttl<K: Into<String>, V: Into<Value>>(
        &self,
        entries: impl IntoIterator<Item = (K, V)>,
        ttl: Duration,
    ) -> Result<(), Error> {
        let entries: Vec<(String, Value)> = entries
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self.write(|tx| {
            for (key, value) in &entries {
                tx.set_with_ttl(key.clone(), value.clone(), ttl)?;
            }
            Ok(())
        })
    }

    /// Gives `key` an expiry `ttl` from now, or removes its expiry (`None`); returns whether
    /// the key exists in Redis. A missing key stays missing.
    pub fn expire(&self, key: &str, ttl: Option<Duration>) -> Result<bool, Error> {
        self.write(|tx| Ok(tx.expire(key, ttl)?))
    }

    /// Removes from Redis every key that has expired by this handle's clock, and returns how
    /// many. Each is removed only if Redis still holds the expired record this copy saw: a
    /// key another process set again meanwhile stays. (Every write removes up to 16 too;
    /// reads never remove anything.)
    pub fn purge(&self) -> Result<usize, Error> {
        self.write(|tx| Ok(tx.purge()))
    }

    /// Removes every key given in one commit; returns how many existed.
    pub fn delete_many<'k>(&self, keys: impl IntoIterator<Item = &'k str>) -> Result<usize, Error> {
        let keys: Vec<&str> = keys.into_iter().collect();
        self.write(|tx| Ok(keys.iter().filter(|k| tx.delete(k)).count()))
    }

    /// Replaces the value under `key` with `f(current)` atomically across processes (`Some`
    /// sets, keeping the key's expiry; `None` removes), and returns the new value.
    ///
    /// `f` runs again, on the fresh value, whenever another writer changed the key between
    /// the read and the commit; keep it free of side effects.
    pub fn update(
        &self,
        key: impl Into<String>,
        mut f: impl FnMut(Option<&Value>) -> Option<Value>,
    ) -> Result<Option<Value>, Error> {
        let key = key.into();
        self.write(|tx| match f(tx.get(&key)) {
            Some(value) => {
                tx.set_keeping_ttl(key.clone(), value.clone())?;
                Ok(Some(value))
            }
            None => {
                tx.delete(&key);
                Ok(None)
            }
        })
    }

    /// The value under `key` as a `T`; if there is none, `f()`'s result, stored (expiring
    /// `ttl` from now, or never for `None`) and returned: memoizing a function's result.
    ///
    /// A present key is answered from the copy. Otherwise `f` runs outside any commit, and
    /// its result is stored only if the key is still absent in Redis; if another process
    /// stored one first, that value is returned and `f`'s is dropped, so every caller gets the
    /// same value. Threads of this handle asking for the same key at once share one call of
    /// `f`. A stored value that does not convert to `T` is [`Error::Value`], and a ttl the
    /// store cannot hold is refused; in both cases `f` does not run.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), kv_redis::Error> {
    /// # let kv = kv_redis::Kv::open("redis://127.0.0.1:6379/0", "cache")?;
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

    /// [`get_or_insert_with`](Self::get_or_insert_with) for a fallible `f`: its error is
    /// returned and nothing is stored (a thread waiting for the same key then calls its own).
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
        self.check_ttl(&key, ttl)?;
        let flight = Flight::take(&self.flights, &key);
        let _computing = flight.lock().lock().unwrap_or_else(PoisonError::into_inner);
        // Another thread may have stored it while this one waited.
        if let Some(found) = self.get_as(&key)? {
            return Ok(found);
        }
        let made = f()?;
        let value = to_json(&key, &made)?;
        match self.insert_if_absent(&key, ttl, value)? {
            None => Ok(made),
            Some(theirs) => Ok(from_json(&key, theirs)?),
        }
    }

    /// Refuses a ttl the store cannot hold, before anything is computed for it.
    pub(crate) fn check_ttl(&self, key: &str, ttl: Option<Duration>) -> Result<(), Error> {
        Ok(self.shared.copy().store.check_write(key, ttl)?)
    }

    /// Stores `value` under `key` (expiring `ttl` from now) unless Redis holds a live value
    /// there: `None` if it was stored, or the value another writer stored first.
    pub(crate) fn insert_if_absent(
        &self,
        key: &str,
        ttl: Option<Duration>,
        value: Value,
    ) -> Result<Option<Value>, Error> {
        self.write(|tx| {
            if let Some(theirs) = tx.get(key) {
                return Ok(Some(theirs.clone()));
            }
            match ttl {
                Some(ttl) => tx.set_with_ttl(key, value.clone(), ttl)?,
                None => tx.set(key, value.clone())?,
            }
            Ok(None)
        })
    }

    /// Runs `f` over a [`Transaction`] and commits what it staged in one atomic step, if
    /// every key it read still holds what it read; otherwise `f` runs again on fresh values.
    /// If `f` returns an error, nothing is written and the error is returned.
    pub fn transaction<R, E: From<Error>>(
        &self,
        mut f: impl FnMut(&mut Transaction<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        match self.write(|tx| f(tx).map_err(Failed::Caller)) {
            Ok(result) => Ok(result),
            Err(Failed::Caller(e)) => Err(e),
            Err(Failed::Store(e)) => Err(e.into()),
        }
    }

    /// Reads the whole store from Redis again, replacing the copy; on error it is unchanged.
    pub fn reload(&self) -> Result<(), Error> {
        let mut link = self.link();
        self.shared.reload(&mut link)
    }

    fn link(&self) -> MutexGuard<'_, Link> {
        self.link.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Decides `f` against the copy, commits it in Redis if what it read is still there, and
    /// applies it to the copy; decides again on fresh values if not.
    fn write<R, E: From<Error> + From<Rejected>>(
        &self,
        mut f: impl FnMut(&mut Transaction<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        let shared = &self.shared;
        let mut link = self.link();
        link.connect().map_err(Error::from)?;
        if link.take_reconnected() {
            // Commits may have been missed while the connection was down.
            if let Err(e) = shared.reload(&mut link) {
                link.mark_behind();
                return Err(e.into());
            }
        }
        for _ in 0..MAX_ATTEMPTS {
            let (answer, prepared, reads) = {
                let copy = shared.copy();
                let (answer, prepared) = copy.store.prepare(&mut f)?;
                let reads: Vec<(String, Option<Vec<u8>>)> = prepared
                    .reads()
                    .map(|(key, value)| {
                        let stored = value.map(|v| copy.stored_text(key, v).to_vec());
                        (key.to_owned(), stored)
                    })
                    .collect();
                (answer, prepared, reads)
            };
            if prepared.is_empty() && reads.is_empty() {
                return Ok(answer);
            }
            let reads: Vec<(&str, Option<&[u8]>)> = reads
                .iter()
                .map(|(key, value)| (key.as_str(), value.as_deref()))
                .collect();
            let changes: Vec<Change<'_>> = prepared.changes().collect();
            let outcome = link
                .commit(&shared.layout, &reads, prepared.clears(), &changes)
                .map_err(Error::from)?;
            drop(changes);
            match outcome {
                Outcome::Unchanged => return Ok(answer),
                Outcome::Committed(seq) => {
                    self.apply(&mut link, seq, prepared);
                    return Ok(answer);
                }
                Outcome::Stale { seq, current } => shared
                    .copy()
                    .stale(seq, &current)
                    .map_err(|e| Error::corrupt(&shared.address, &shared.layout.name, e))?,
            }
        }
        Err(E::from(Error::Redis(RedisError::with_kind(
            &shared.address,
            StorageErrorKind::Other,
            &format!(
                "gave up after {MAX_ATTEMPTS} attempts: other writers kept changing the keys this call reads"
            ),
        ))))
    }

    /// Applies this handle's commit numbered `seq` to the copy, once the copy holds every
    /// commit numbered before it (the listener brings other processes' in). If they are slow
    /// to come, the whole store is read instead, which includes this commit.
    fn apply(&self, link: &mut Link, seq: u64, prepared: Prepared<Value>) {
        let shared = &self.shared;
        let deadline = Instant::now() + FOLLOW_TIMEOUT;
        let mut copy = shared.copy();
        while copy.seq + 1 < seq {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                drop(copy);
                if shared.reload(link).is_err() {
                    // The commit is made; the copy is behind. The next call reads it all.
                    link.mark_behind();
                }
                return;
            }
            copy = shared.wait(copy, left).0;
        }
        // Past `seq` already: the listener brought this commit in, or a reload did.
        if copy.seq + 1 == seq {
            copy.wrote(prepared.clears(), prepared.changes().map(|c| c.key()));
            copy.store.apply(prepared);
            copy.seq = seq;
            drop(copy);
            shared.advanced();
        }
    }
}

/// `value` as the JSON `set_as` stores under `key`, blocking or async.
pub(crate) fn to_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<Value, Error> {
    serde_json::to_value(value).map_err(|source| Error::Value {
        key: key.to_owned(),
        source,
    })
}

/// The value `value` under `key` as a `T`, blocking or async.
pub(crate) fn from_json<T: DeserializeOwned>(key: &str, value: Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|source| Error::Value {
        key: key.to_owned(),
        source,
    })
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

impl fmt::Debug for Kv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kv")
            .field("url", &self.shared.address)
            .field("name", &self.shared.layout.name)
            .finish_non_exhaustive()
    }
}

impl Drop for Kv {
    fn drop(&mut self) {
        self.shared
            .stop
            .store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(listener) = self.listener.take() {
            let _ = listener.join();
        }
    }
}
