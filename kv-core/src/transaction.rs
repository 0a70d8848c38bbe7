use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::time::Duration;

use hashbrown::HashMap;
use serde_json::Value;
use smol_str::SmolStr;

use crate::codec::{Entries, RESERVED_PREFIX};
use crate::error::Rejected;
use crate::expiry::{self, Expiries, Ttl, encode_record};
use crate::limits::Limits;
use crate::value::Json;

/// One key's staged value. Each value is encoded once, when staged, so limits are checked on
/// the exact bytes that storage receives.
#[derive(Debug, Clone)]
pub(crate) struct Put<V> {
    pub(crate) value: V,
    /// When the key expires, in unix milliseconds; `None`: never.
    pub(crate) expires: Option<u64>,
    /// What a record adapter stores: the value's encoding, with the expiry before it if any
    /// ([`encode_record`]).
    pub(crate) record: Vec<u8>,
}

/// One key's staged change: `Some` to set, `None` to delete.
pub(crate) type Staged<V> = Option<Put<V>>;

/// What a transaction reads under its own writes: the store's memory, and over it the
/// commits decided but not yet applied ([`Pending`]), newest last.
#[derive(Debug)]
pub(crate) struct View<'a, V> {
    pub(crate) base: &'a Entries<V>,
    pub(crate) expiries: &'a Expiries,
    pub(crate) pending: Option<&'a Pending<V>>,
}

impl<V> Clone for View<'_, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for View<'_, V> {}

impl<'a, V> View<'a, V> {
    /// What storage holds (or will, once pending commits apply) for `key`, expired or not:
    /// the value and its expiry.
    pub(crate) fn stored(&self, key: &str) -> Option<(&'a V, Option<u64>)> {
        let base = || {
            self.base
                .get(key)
                .map(|value| (value, self.expiries.get(key)))
        };
        match self.pending {
            Some(pending) => match pending.changes.get(key) {
                Some(change) => change.as_ref().map(|(value, at)| (value, *at)),
                None if pending.clear => None,
                None => base(),
            },
            None => base(),
        }
    }

    /// How many keys storage holds, expired ones too (what the entry limit counts).
    pub(crate) fn len(&self) -> usize {
        match self.pending {
            Some(Pending { len: Some(len), .. }) => *len,
            _ => self.base.len(),
        }
    }

    /// Whether storage holds the format marker ([`FORMAT_KEY`](crate::codec::FORMAT_KEY)).
    pub(crate) fn marked(&self, marked: bool) -> bool {
        marked && !self.pending.is_some_and(|p| p.clear)
    }
}

/// Several changes that commit together, or not at all: see
/// [`Store::transaction`](crate::Store::transaction) and [`Store::prepare`](crate::Store::prepare).
///
/// Reads through a transaction see its own staged writes, and never a key that has expired
/// (by the store's clock, read once when the transaction begins). Every write is checked
/// against the store's limits as it is staged; the entry count is checked once, when the
/// transaction is prepared. A transaction remembers which keys it read before writing them:
/// the keys its answer depends on ([`Prepared::reads`](crate::Prepared::reads)).
#[derive(Debug)]
pub struct Transaction<'a, V = Value> {
    pub(crate) view: View<'a, V>,
    limits: &'a Limits,
    now_ms: u64,
    pub(crate) clear: bool,
    /// Sorted once, when the transaction is prepared (a commit hands out its changes in key
    /// order).
    pub(crate) staged: HashMap<SmolStr, Staged<V>>,
    /// Keys read from the view (not from this transaction's own writes), in the order read.
    pub(crate) reads: RefCell<Vec<SmolStr>>,
}

impl<'a, V: Json> Transaction<'a, V> {
    pub(crate) fn new(view: View<'a, V>, limits: &'a Limits, now_ms: u64) -> Self {
        Self {
            view,
            limits,
            now_ms,
            clear: false,
            staged: HashMap::new(),
            reads: RefCell::new(Vec::new()),
        }
    }

    /// What `key` holds as this transaction leaves it, expired or not: value and expiry.
    fn stored(&self, key: &str) -> Option<(&V, Option<u64>)> {
        match self.staged.get(key) {
            Some(staged) => staged.as_ref().map(|put| (&put.value, put.expires)),
            None if self.clear => None,
            None => {
                self.reads.borrow_mut().push(key.into());
                self.view.stored(key)
            }
        }
    }

    /// `key`'s value and expiry if it exists now (has not expired).
    fn live(&self, key: &str) -> Option<(&V, Option<u64>)> {
        self.stored(key)
            .filter(|(_, at)| at.is_none_or(|at| at > self.now_ms))
    }

    /// The value under `key`, as this transaction leaves it.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.live(key).map(|(value, _)| value)
    }

    /// Whether `key` exists, as this transaction leaves it.
    pub fn contains(&self, key: &str) -> bool {
        self.live(key).is_some()
    }

    /// `key`'s time to live, as this transaction leaves it.
    pub fn ttl(&self, key: &str) -> Ttl {
        match self.live(key) {
            None => Ttl::Missing,
            Some((_, None)) => Ttl::Never,
            Some((_, Some(at))) => Ttl::Left(Duration::from_millis(at - self.now_ms)),
        }
    }

    /// The time a value-less write in this transaction stores, in unix seconds. Read once per
    /// transaction, so every key touched together gets the same time.
    pub fn now(&self) -> u64 {
        self.now_ms / 1000
    }

    /// The time expiry is measured from in this transaction, in unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Stages `key` = `value`, expiring at `expires` (unix ms; `None`: never).
    fn put(&mut self, key: String, value: V, expires: Option<u64>) -> Result<(), Rejected> {
        if key.starts_with(RESERVED_PREFIX) {
            return Err(Rejected::ReservedKey(key));
        }
        self.limits.check_key(&key)?;
        let encoded = value.encode();
        self.limits.check_value(&encoded)?;
        self.limits.check_nesting(&encoded)?;
        let record = match expires {
            None => encoded,
            Some(_) => encode_record(&encoded, expires),
        };
        self.staged.insert(
            key.into(),
            Some(Put {
                value,
                expires,
                record,
            }),
        );
        Ok(())
    }

    /// The expiry of a write made now with `ttl`.
    fn expiry(&self, ttl: Duration) -> Result<u64, Rejected> {
        Ok(expiry::expiry_after(self.now_ms, ttl)?)
    }

    /// Sets `key` to `value`, with no expiry (an expiry it had is removed, as Redis's `SET`).
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<V>) -> Result<(), Rejected> {
        self.put(key.into(), value.into(), None)
    }

    /// Sets `key` to `value`, expiring `ttl` from now (rounded to the millisecond; at least
    /// 1 ms).
    pub fn set_with_ttl(
        &mut self,
        key: impl Into<String>,
        value: impl Into<V>,
        ttl: Duration,
    ) -> Result<(), Rejected> {
        let at = self.expiry(ttl)?;
        self.put(key.into(), value.into(), Some(at))
    }

    /// Sets `key` to `value` and keeps the expiry it has (Redis's `KEEPTTL`): what `update`
    /// does. A key that does not exist gets none.
    pub fn set_keeping_ttl(
        &mut self,
        key: impl Into<String>,
        value: impl Into<V>,
    ) -> Result<(), Rejected> {
        let key = key.into();
        let expires = self.live(&key).and_then(|(_, at)| at);
        self.put(key, value.into(), expires)
    }

    /// Sets `key` to the current time in whole unix seconds, and returns that time.
    pub fn touch(&mut self, key: impl Into<String>) -> Result<u64, Rejected> {
        self.set(key, V::from_seconds(self.now()))?;
        Ok(self.now())
    }

    /// As [`touch`](Self::touch), expiring `ttl` from now: "seen now, forget in 30 days".
    pub fn touch_with_ttl(
        &mut self,
        key: impl Into<String>,
        ttl: Duration,
    ) -> Result<u64, Rejected> {
        self.set_with_ttl(key, V::from_seconds(self.now()), ttl)?;
        Ok(self.now())
    }

    /// Sets `key` to `value` unless it exists; returns whether it was set. A key that has
    /// expired does not exist.
    pub fn set_if_absent(
        &mut self,
        key: impl Into<String>,
        value: impl Into<V>,
    ) -> Result<bool, Rejected> {
        let key = key.into();
        if self.contains(&key) {
            return Ok(false);
        }
        self.set(key, value)?;
        Ok(true)
    }

    /// As [`set_if_absent`](Self::set_if_absent), the new value expiring `ttl` from now.
    pub fn set_if_absent_with_ttl(
        &mut self,
        key: impl Into<String>,
        value: impl Into<V>,
        ttl: Duration,
    ) -> Result<bool, Rejected> {
        let at = self.expiry(ttl)?;
        let key = key.into();
        if self.contains(&key) {
            return Ok(false);
        }
        self.put(key, value.into(), Some(at))?;
        Ok(true)
    }

    /// Gives `key` the expiry `ttl` from now, or none (`None`); returns whether the key
    /// exists. A missing key is left missing.
    pub fn expire(&mut self, key: &str, ttl: Option<Duration>) -> Result<bool, Rejected> {
        let at = ttl.map(|ttl| self.expiry(ttl)).transpose()?;
        let Some((value, expires)) = self.live(key) else {
            return Ok(false);
        };
        if expires != at {
            let value = value.clone();
            self.put(key.into(), value, at)?;
        }
        Ok(true)
    }

    /// Removes `key`; returns whether it existed. A key that has expired did not exist, but
    /// its record is removed from storage all the same.
    pub fn delete(&mut self, key: &str) -> bool {
        let existed = self.contains(key);
        // Whether storage must be told to delete depends on what it holds, even when this
        // transaction set the key first: a read of the key.
        if !self.clear && {
            self.reads.borrow_mut().push(key.into());
            self.view.stored(key).is_some()
        } {
            self.staged.insert(key.into(), None);
        } else {
            self.staged.remove(key);
        }
        existed
    }

    /// Removes every key, erasing storage itself at commit.
    pub fn clear(&mut self) {
        self.clear = true;
        self.staged.clear();
    }

    /// Removes from storage every key that has expired and this transaction has not written;
    /// returns how many.
    pub fn purge(&mut self) -> usize {
        self.remove_expired(usize::MAX)
    }

    /// Removes up to `limit` expired keys; returns how many. Each is
    /// a read of the key too: a host whose storage other writers share removes it only if
    /// storage still holds the expired record (no other context set the key again).
    pub(crate) fn remove_expired(&mut self, limit: usize) -> usize {
        if self.clear || self.view.expiries.is_empty() {
            return 0;
        }
        let now = self.now_ms;
        let view = self.view;
        let mut removed = 0;
        for key in view.expiries.expired_keys(now) {
            if removed == limit {
                break;
            }
            let expired = view
                .stored(key)
                .is_some_and(|(_, at)| at.is_some_and(|at| at <= now));
            if !expired || self.staged.contains_key(key) {
                continue;
            }
            self.reads.borrow_mut().push(key.into());
            self.staged.insert(key.into(), None);
            removed += 1;
        }
        removed
    }
}

/// Commits decided ([`Store::prepare_after`](crate::Store::prepare_after)) but not yet made
/// durable and applied: what a host that shares one storage write among several calls (group
/// commit) decides the next call against.
///
/// Holds each pending key's latest value; memory stays as storage holds it until the host
/// [applies](crate::Store::apply) each commit. If the shared write fails, the host
/// [clears](Self::clear) it and fails every call it held.
#[derive(Debug, Clone)]
pub struct Pending<V = Value> {
    pub(crate) clear: bool,
    /// Each key's value and expiry; `None`: deleted.
    pub(crate) changes: HashMap<SmolStr, Option<(V, Option<u64>)>>,
    /// How many keys the store holds once every pending commit applies; `None`: as many as
    /// memory holds.
    pub(crate) len: Option<usize>,
}

impl<V> Default for Pending<V> {
    fn default() -> Self {
        Self {
            clear: false,
            changes: HashMap::new(),
            len: None,
        }
    }
}

impl<V: Json> Pending<V> {
    /// Nothing pending.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len.is_none()
    }

    /// Adds `prepared`, which must have been prepared over `self`
    /// ([`Store::prepare_after`](crate::Store::prepare_after)).
    pub fn push(&mut self, prepared: &crate::Prepared<V>) {
        if prepared.is_empty() {
            return;
        }
        if prepared.clear {
            self.clear = true;
            self.changes.clear();
        }
        for (key, change) in &prepared.changes {
            if key.starts_with(RESERVED_PREFIX) {
                continue;
            }
            self.changes.insert(
                key.clone(),
                change.as_ref().map(|put| (put.value.clone(), put.expires)),
            );
        }
        self.len = Some(prepared.len_after);
    }

    /// Forgets every pending commit: they were applied, or their write failed.
    pub fn clear(&mut self) {
        *self = Self::default();
    }
}
