use std::future::Future;
use std::time::Duration;

use kv_core::{
    Error, Limits, ManualClock, Map, Persist, StorageError, Store, Transaction, Ttl, Value,
};

use crate::faulty::{Faults, FaultyPersist};
use crate::harness::Harness;
use crate::value::TestValue;

/// An open store, as the conformance cases drive it: the core's [`Store`] over an adapter's
/// storage, or an adapter's own front (kv-wasm's `Kv`, whose writes take their own way to
/// storage). Reads answer owned values, so that a front that keeps its copy behind a borrow
/// can answer them; writes are the store's own calls.
pub trait Subject<V: TestValue> {
    /// What the storage's failures are.
    type Error: StorageError + 'static;

    /// The store's clock, to move time by hand.
    fn clock(&self) -> &ManualClock;

    /// Makes the next `n` commits fail as storage fails (the disk full, a transaction
    /// aborted), reaching storage with nothing.
    fn fail_commits(&mut self, n: usize);

    /// The value under `key`.
    fn get(&self, key: &str) -> Option<V>;
    /// The value under `key`, or `fallback`.
    fn get_or(&self, key: &str, fallback: V) -> V;
    /// Whether `key` exists.
    fn contains(&self, key: &str) -> bool;
    /// How long `key` has left.
    fn ttl(&self, key: &str) -> Ttl;
    /// When `key` expires, in unix milliseconds.
    fn expires_at(&self, key: &str) -> Option<u64>;
    /// How many keys exist.
    fn len(&self) -> usize;
    /// Whether no key exists.
    fn is_empty(&self) -> bool;
    /// How many records storage holds, expired ones included.
    fn stored_len(&self) -> usize;
    /// Every key, in the store's own order.
    fn keys(&self) -> Vec<String>;
    /// Every key, ascending.
    fn sorted_keys(&self) -> Vec<String>;
    /// Every value, in the store's own order.
    fn values(&self) -> Vec<V>;
    /// Every key with its value, in the store's own order.
    fn entries(&self) -> Vec<(String, V)>;
    /// Every key with its value, keys ascending.
    fn all(&self) -> Map<String, Value>;
    /// The store's encoded snapshot.
    fn snapshot(&self) -> Vec<u8>;

    /// `set`.
    fn set(
        &mut self,
        key: impl Into<String>,
        value: V,
    ) -> impl Future<Output = Result<(), Error<Self::Error>>>;
    /// `touch`: the clock's time in whole seconds, which it stores.
    fn touch(
        &mut self,
        key: impl Into<String>,
    ) -> impl Future<Output = Result<u64, Error<Self::Error>>>;
    /// `set_if_absent`.
    fn set_if_absent(
        &mut self,
        key: impl Into<String>,
        value: V,
    ) -> impl Future<Output = Result<bool, Error<Self::Error>>>;
    /// `touch_if_absent`.
    fn touch_if_absent(
        &mut self,
        key: impl Into<String>,
    ) -> impl Future<Output = Result<bool, Error<Self::Error>>>;
    /// `set_with_ttl`.
    fn set_with_ttl(
        &mut self,
        key: impl Into<String>,
        value: V,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), Error<Self::Error>>>;
    /// `touch_with_ttl`.
    fn touch_with_ttl(
        &mut self,
        key: impl Into<String>,
        ttl: Duration,
    ) -> impl Future<Output = Result<u64, Error<Self::Error>>>;
    /// `set_if_absent_with_ttl`.
    fn set_if_absent_with_ttl(
        &mut self,
        key: impl Into<String>,
        value: V,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, Error<Self::Error>>>;
    /// `set_many`.
    fn set_many<K: Into<String>>(
        &mut self,
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> impl Future<Output = Result<(), Error<Self::Error>>>;
    /// `set_many_with_ttl`.
    fn set_many_with_ttl<K: Into<String>>(
        &mut self,
        entries: impl IntoIterator<Item = (K, V)>,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), Error<Self::Error>>>;
    /// `expire`.
    fn expire(
        &mut self,
        key: &str,
        ttl: Option<Duration>,
    ) -> impl Future<Output = Result<bool, Error<Self::Error>>>;
    /// `purge`.
    fn purge(&mut self) -> impl Future<Output = Result<usize, Error<Self::Error>>>;
    /// `delete`.
    fn delete(&mut self, key: &str) -> impl Future<Output = Result<bool, Error<Self::Error>>>;
    /// `clear`.
    fn clear(&mut self) -> impl Future<Output = Result<(), Error<Self::Error>>>;
    /// `delete_many`.
    fn delete_many<'k>(
        &mut self,
        keys: impl IntoIterator<Item = &'k str>,
    ) -> impl Future<Output = Result<usize, Error<Self::Error>>>;
    /// `update`; `f` may run more than once (a front that decides against storage runs it
    /// again if storage differed), so it only computes.
    fn update(
        &mut self,
        key: impl Into<String>,
        f: impl FnMut(Option<&V>) -> Option<V> + 'static,
    ) -> impl Future<Output = Result<Option<V>, Error<Self::Error>>>;
    /// `transaction`; `f` may run more than once, as for [`update`](Self::update).
    fn transaction<R: 'static, E: From<Error<Self::Error>> + 'static>(
        &mut self,
        f: impl FnMut(&mut Transaction<'_, V>) -> Result<R, E> + 'static,
    ) -> impl Future<Output = Result<R, E>>;
}

/// How the conformance cases open an adapter's stores. Every [`Harness`] is one, opening the
/// core's [`Store`] over its storage (wrapped in a [`FaultyPersist`]); an adapter whose own
/// front writes another way implements it for that front.
///
/// The cases drop every handle on a store before they call [`reopen`](Self::reopen) or
/// [`corrupt`](Self::corrupt).
pub trait Adapter<V: TestValue> {
    /// An open store.
    type Store: Subject<V>;

    /// A new, empty store, on storage distinct from every earlier call's, which becomes the
    /// current storage; its clock shows `now` (unix seconds).
    fn fresh(&mut self, limits: Limits, now: u64) -> impl Future<Output = Self::Store>;

    /// The current storage, opened again as a new process would find it.
    fn reopen(
        &mut self,
        limits: Limits,
        now: u64,
    ) -> impl Future<Output = Result<Self::Store, Error<<Self::Store as Subject<V>>::Error>>>;

    /// Damages what the current storage holds, as [`Harness::corrupt`] does.
    fn corrupt(&mut self) -> impl Future<Output = ()>;
}

impl<H: Harness, V: TestValue> Adapter<V> for H
where
    <H::Persist as Persist>::Error: 'static,
{
    type Store = Store<FaultyPersist<H::Persist>, ManualClock, V>;

    async fn fresh(&mut self, limits: Limits, now: u64) -> Self::Store {
        let persist = FaultyPersist::new(Harness::fresh(self).await, Faults::default());
        match Store::open_with_limits(persist, ManualClock::new(now), limits).await {
            Ok(store) => store,
            Err(e) => panic!("open failed: {e}"),
        }
    }

    async fn reopen(
        &mut self,
        limits: Limits,
        now: u64,
    ) -> Result<Self::Store, Error<<Self::Store as Subject<V>>::Error>> {
        let persist = FaultyPersist::new(Harness::reopen(self).await, Faults::default());
        Store::open_with_limits(persist, ManualClock::new(now), limits).await
    }

    async fn corrupt(&mut self) {
        Harness::corrupt(self).await;
    }
}

impl<P: Persist, V: TestValue> Subject<V> for Store<FaultyPersist<P>, ManualClock, V>
where
    P::Error: 'static,
{
    type Error = <FaultyPersist<P> as Persist>::Error;

    fn clock(&self) -> &ManualClock {
        Store::clock(self)
    }

    fn fail_commits(&mut self, n: usize) {
        self.persist().faults().fail_commits(n);
    }

    fn get(&self, key: &str) -> Option<V> {
        Store::get(self, key).cloned()
    }

    fn get_or(&self, key: &str, fallback: V) -> V {
        Store::get_or(self, key, fallback)
    }

    fn contains(&self, key: &str) -> bool {
        Store::contains(self, key)
    }

    fn ttl(&self, key: &str) -> Ttl {
        Store::ttl(self, key)
    }

    fn expires_at(&self, key: &str) -> Option<u64> {
        Store::expires_at(self, key)
    }

    fn len(&self) -> usize {
        Store::len(self)
    }

    fn is_empty(&self) -> bool {
        Store::is_empty(self)
    }

    fn stored_len(&self) -> usize {
        Store::stored_len(self)
    }

    fn keys(&self) -> Vec<String> {
        Store::keys(self).map(str::to_owned).collect()
    }

    fn sorted_keys(&self) -> Vec<String> {
        Store::sorted_keys(self).map(str::to_owned).collect()
    }

    fn values(&self) -> Vec<V> {
        Store::values(self).cloned().collect()
    }

    fn entries(&self) -> Vec<(String, V)> {
        Store::iter(self)
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect()
    }

    fn all(&self) -> Map<String, Value> {
        V::all(self)
    }

    fn snapshot(&self) -> Vec<u8> {
        Store::snapshot(self)
    }

    async fn set(&mut self, key: impl Into<String>, value: V) -> Result<(), Error<Self::Error>> {
        Store::set(self, key, value).await
    }

    async fn touch(&mut self, key: impl Into<String>) -> Result<u64, Error<Self::Error>> {
        Store::touch(self, key).await
    }

    async fn set_if_absent(
        &mut self,
        key: impl Into<String>,
        value: V,
    ) -> Result<bool, Error<Self::Error>> {
        Store::set_if_absent(self, key, value).await
    }

    async fn touch_if_absent(
        &mut self,
        key: impl Into<String>,
    ) -> Result<bool, Error<Self::Error>> {
        Store::touch_if_absent(self, key).await
    }

    async fn set_with_ttl(
        &mut self,
        key: impl Into<String>,
        value: V,
        ttl: Duration,
    ) -> Result<(), Error<Self::Error>> {
        Store::set_with_ttl(self, key, value, ttl).await
    }

    async fn touch_with_ttl(
        &mut self,
        key: impl Into<String>,
        ttl: Duration,
    ) -> Result<u64, Error<Self::Error>> {
        Store::touch_with_ttl(self, key, ttl).await
    }

    async fn set_if_absent_with_ttl(
        &mut self,
        key: impl Into<String>,
        value: V,
        ttl: Duration,
    ) -> Result<bool, Error<Self::Error>> {
        Store::set_if_absent_with_ttl(self, key, value, ttl).await
    }

    async fn set_many<K: Into<String>>(
        &mut self,
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), Error<Self::Error>> {
        Store::set_many(self, entries).await
    }

    async fn set_many_with_ttl<K: Into<String>>(
        &mut self,
        entries: impl IntoIterator<Item = (K, V)>,
        ttl: Duration,
    ) -> Result<(), Error<Self::Error>> {
        Store::set_many_with_ttl(self, entries, ttl).await
    }

    async fn expire(
        &mut self,
        key: &str,
        ttl: Option<Duration>,
    ) -> Result<bool, Error<Self::Error>> {
        Store::expire(self, key, ttl).await
    }

    async fn purge(&mut self) -> Result<usize, Error<Self::Error>> {
        Store::purge(self).await
    }

    async fn delete(&mut self, key: &str) -> Result<bool, Error<Self::Error>> {
        Store::delete(self, key).await
    }

    async fn clear(&mut self) -> Result<(), Error<Self::Error>> {
        Store::clear(self).await
    }

    async fn delete_many<'k>(
        &mut self,
        keys: impl IntoIterator<Item = &'k str>,
    ) -> Result<usize, Error<Self::Error>> {
        Store::delete_many(self, keys).await
    }

    async fn update(
        &mut self,
        key: impl Into<String>,
        f: impl FnMut(Option<&V>) -> Option<V> + 'static,
    ) -> Result<Option<V>, Error<Self::Error>> {
        Store::update(self, key, f).await
    }

    async fn transaction<R: 'static, E: From<Error<Self::Error>> + 'static>(
        &mut self,
        f: impl FnMut(&mut Transaction<'_, V>) -> Result<R, E> + 'static,
    ) -> Result<R, E> {
        Store::transaction(self, f).await
    }
}
