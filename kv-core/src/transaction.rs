use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use hashbrown::HashMap;
use serde_json::Value;
use smol_str::SmolStr;

use crate::codec::{Entries, RESERVED_PREFIX};
use crate::error::Rejected;
use crate::limits::Limits;
use crate::value::Json;

/// One key's staged change: `Some((value, encoded))` to set, `None` to delete. Each value is
/// encoded once, when staged, so limits are checked on the exact bytes that storage receives.
pub(crate) type Staged<V> = Option<(V, Vec<u8>)>;

/// What a transaction reads under its own writes: the store's memory, and over it the
/// commits decided but not yet applied ([`Pending`]), newest last.
#[derive(Debug)]
pub(crate) struct View<'a, V> {
    pub(crate) base: &'a Entries<V>,
    pub(crate) pending: Option<&'a Pending<V>>,
}

impl<V> Clone for View<'_, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for View<'_, V> {}

impl<'a, V> View<'a, V> {
    pub(crate) fn get(&self, key: &str) -> Option<&'a V> {
        match self.pending {
            Some(pending) => match pending.changes.get(key) {
                Some(change) => change.as_ref(),
                None if pending.clear => None,
                None => self.base.get(key),
            },
            None => self.base.get(key),
        }
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub(crate) fn len(&self) -> usize {
        match self.pending {
            Some(Pending { len: Some(len), .. }) => *len,
            _ => self.base.len(),
        }
    }
}

/// Several changes that commit together, or not at all: see
/// [`Store::transaction`](crate::Store::transaction) and [`Store::prepare`](crate::Store::prepare).
///
/// Reads through a transaction see its own staged writes. Every write is checked against the
/// store's limits as it is staged; the entry count is checked once, when the transaction is
/// prepared. A transaction remembers which keys it read before writing them: the keys its
/// answer depends on ([`Prepared::reads`](crate::Prepared::reads)).
#[derive(Debug)]
pub struct Transaction<'a, V = Value> {
    view: View<'a, V>,
    limits: &'a Limits,
    now: u64,
    pub(crate) clear: bool,
    /// Sorted once, when the transaction is prepared (a commit hands out its changes in key
    /// order).
    pub(crate) staged: HashMap<SmolStr, Staged<V>>,
    /// Keys read from the view (not from this transaction's own writes), in the order read.
    pub(crate) reads: RefCell<Vec<SmolStr>>,
}

impl<'a, V: Json> Transaction<'a, V> {
    pub(crate) fn new(view: View<'a, V>, limits: &'a Limits, now: u64) -> Self {
        Self {
            view,
            limits,
            now,
            clear: false,
            staged: HashMap::new(),
            reads: RefCell::new(Vec::new()),
        }
    }

    /// The value under `key`, as this transaction leaves it.
    pub fn get(&self, key: &str) -> Option<&V> {
        match self.staged.get(key) {
            Some(staged) => staged.as_ref().map(|(value, _)| value),
            None if self.clear => None,
            None => {
                self.reads.borrow_mut().push(key.into());
                self.view.get(key)
            }
        }
    }

    /// Whether `key` exists, as this transaction leaves it.
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The time a value-less write in this transaction stores, in unix seconds. Read once per
    /// transaction, so every key touched together gets the same time.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Sets `key` to `value`.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<V>) -> Result<(), Rejected> {
        let key = key.into();
        if key.starts_with(RESERVED_PREFIX) {
            return Err(Rejected::ReservedKey(key));
        }
        self.limits.check_key(&key)?;
        let value = value.into();
        let encoded = value.encode();
        self.limits.check_value(&encoded)?;
        self.limits.check_nesting(&encoded)?;
        self.staged.insert(key.into(), Some((value, encoded)));
        Ok(())
    }

    /// Sets `key` to the current time in whole unix seconds, and returns that time.
    pub fn touch(&mut self, key: impl Into<String>) -> Result<u64, Rejected> {
        self.set(key, V::from_seconds(self.now))?;
        Ok(self.now)
    }

    /// Sets `key` to `value` unless it exists; returns whether it was set.
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

    /// Removes `key`; returns whether it existed.
    pub fn delete(&mut self, key: &str) -> bool {
        if !self.contains(key) {
            return false;
        }
        if !self.clear && self.view.contains(key) {
            self.staged.insert(key.into(), None);
        } else {
            self.staged.remove(key);
        }
        true
    }

    /// Removes every key, erasing storage itself at commit.
    pub fn clear(&mut self) {
        self.clear = true;
        self.staged.clear();
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
    pub(crate) changes: HashMap<SmolStr, Option<V>>,
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
            self.changes
                .insert(key.clone(), change.as_ref().map(|(v, _)| v.clone()));
        }
        self.len = Some(prepared.len_after);
    }

    /// Forgets every pending commit: they were applied, or their write failed.
    pub fn clear(&mut self) {
        *self = Self::default();
    }
}
