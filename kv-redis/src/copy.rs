//! The in-memory copy of a store that every read answers from, and how it follows Redis.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use kv_core::{
    Clock, Corrupt, Limits, Store, Stored, SystemClock, Value, decode_record, decode_value,
    encode_record, encode_value,
};

use crate::announce::Announcement;
use crate::link::Loaded;

/// The core store with no storage of its own: kv-redis does the I/O.
pub(crate) type CoreStore = Store<(), StoreClock, Value>;

/// The clock a store's copy decides expiry and value-less writes with: the system's unless
/// [`Options::clock`](crate::Options::clock) gave another.
#[derive(Clone)]
pub(crate) struct StoreClock(pub(crate) Arc<dyn Clock + Send + Sync>);

impl Default for StoreClock {
    fn default() -> Self {
        Self(Arc::new(SystemClock))
    }
}

impl Clock for StoreClock {
    fn now(&self) -> u64 {
        self.0.now()
    }

    fn now_ms(&self) -> u64 {
        self.0.now_ms()
    }
}

impl fmt::Debug for StoreClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreClock({} ms)", self.0.now_ms())
    }
}

/// What a follower should do after an announcement.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Followed {
    /// Applied, or already in the copy.
    Done,
    /// A commit was missed (or the counter went back): read the whole store again.
    Reload,
}

/// A store's copy in memory, with the number of the last commit it reflects.
#[derive(Debug)]
pub(crate) struct Copy {
    pub(crate) store: CoreStore,
    /// Invariant: `store` equals what Redis held right after the commit numbered `seq`
    /// (the store's counter, `kv:{NAME}:seq`). Commits are applied in that order only.
    pub(crate) seq: u64,
    /// Keys whose text in Redis is not the core's encoding of their value (another program
    /// wrote `1e2` or `{ "a": 1 }`): the core's encoding, and the text Redis holds. A commit
    /// that read such a key compares with Redis's text, so its retry cannot fail forever.
    foreign: HashMap<String, (Vec<u8>, Vec<u8>)>,
}

impl Copy {
    pub(crate) fn new(limits: Limits, clock: StoreClock) -> Self {
        Self::from_records(Vec::new(), 0, limits, clock).unwrap_or_else(|_| unreachable!())
    }

    fn from_records(
        records: Vec<(String, Vec<u8>)>,
        seq: u64,
        limits: Limits,
        clock: StoreClock,
    ) -> Result<Self, Corrupt> {
        Ok(Self {
            store: Store::from_stored(Stored::Records(records), clock, limits)?,
            seq,
            foreign: HashMap::new(),
        })
    }

    /// Replaces the whole copy with what Redis holds; on error the copy is unchanged.
    pub(crate) fn replace(&mut self, loaded: Loaded) -> Result<(), Corrupt> {
        let clock = self.store.clock().clone();
        *self = Self::from_records(loaded.records, loaded.seq, *self.store.limits(), clock)?;
        Ok(())
    }

    /// Applies another commit's announcement, in counter order.
    pub(crate) fn follow(&mut self, announcement: &Announcement) -> Followed {
        if announcement.seq <= self.seq {
            return Followed::Done;
        }
        if announcement.seq != self.seq + 1 {
            return Followed::Reload;
        }
        if self
            .store
            .observe(announcement.clear, announcement.core_changes())
            .is_err()
        {
            return Followed::Reload;
        }
        if announcement.clear {
            self.foreign.clear();
        }
        for (key, _) in &announcement.changes {
            self.foreign.remove(key);
        }
        self.seq = announcement.seq;
        Followed::Done
    }

    /// The text Redis holds for `key`, given the core's encoding of what the copy holds.
    pub(crate) fn stored_text<'a>(&'a self, key: &str, encoded: &'a [u8]) -> &'a [u8] {
        match self.foreign.get(key) {
            Some((core, stored)) if core == encoded => stored,
            _ => encoded,
        }
    }

    /// Takes in what Redis answered a stale commit with: the current text of each key read,
    /// as of the commit numbered `seq`. A copy already past `seq` keeps its newer values; one
    /// at `seq` or behind takes these (a program that wrote behind the store's back did not
    /// count a commit), and the announcements up to `seq` it has yet to follow end in them.
    pub(crate) fn stale(
        &mut self,
        seq: u64,
        current: &[(String, Option<Vec<u8>>)],
    ) -> Result<(), Corrupt> {
        for (key, value) in current {
            match value {
                Some(stored) => {
                    let core = core_record(key, stored)?;
                    if &core == stored {
                        self.foreign.remove(key);
                    } else {
                        self.foreign.insert(key.clone(), (core, stored.clone()));
                    }
                }
                None => {
                    self.foreign.remove(key);
                }
            }
        }
        if self.seq <= seq {
            self.store.refresh(
                current
                    .iter()
                    .map(|(key, value)| (key.as_str(), value.as_deref())),
            )?;
        }
        Ok(())
    }

    /// Forgets what `keys` held in Redis's own text: this copy just wrote them.
    pub(crate) fn wrote<'k>(&mut self, clear: bool, keys: impl Iterator<Item = &'k str>) {
        if clear {
            self.foreign.clear();
        }
        for key in keys {
            self.foreign.remove(key);
        }
    }
}

/// The core's encoding of the record `stored` (its expiry, if any, then its value's JSON):
/// what the copy compares with, and what Redis holds unless another program wrote the value.
fn core_record(key: &str, stored: &[u8]) -> Result<Vec<u8>, Corrupt> {
    if let Ok((at, text)) = decode_record(stored) {
        return Ok(encode_record(&encode_value(&decode_value(key, text)?), at));
    }
    // The expiry does not read: the core's own decoding of the record says why.
    let records = Stored::Records(vec![(key.to_owned(), stored.to_vec())]);
    match CoreStore::from_stored(records, StoreClock::default(), Limits::DEFAULT) {
        Err(corrupt) => Err(corrupt),
        Ok(_) => Ok(stored.to_vec()),
    }
}
