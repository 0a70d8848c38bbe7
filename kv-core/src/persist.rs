use alloc::string::String;
use alloc::vec::Vec;
use core::convert::Infallible;
use core::fmt;
use core::future::Future;

use serde_json::Value;

use smol_str::SmolStr;

use crate::codec::{self, Entries};
use crate::error::Corrupt;
use crate::expiry::Expiries;
use crate::transaction::Staged;
use crate::value::Json;

/// Storage supplied by the host: a file, IndexedDB, `localStorage`, memory.
///
/// Two kinds of adapter fit this one trait. A *snapshot* adapter keeps the whole store as one
/// encoded blob and writes [`Commit::snapshot`]; a *record* adapter keeps one encoded value
/// per key and writes only [`Commit::changes`]. Adapters move bytes; the encoding is the
/// core's (see [`encode_value`](crate::encode_value)).
///
/// # Contract
///
/// - After [`commit`](Self::commit) returns `Ok`, the change is durable: a later
///   [`load`](Self::load), in this process or the next, sees it.
/// - After `commit` returns `Err`, a later `load` sees the state from before the call, and
///   the adapter can still be used.
/// - A crash (the process killed, the machine losing power) at any point during `commit`
///   leaves storage holding either the state before it or the state after it, never a mix.
///   Record adapters whose medium cannot promise this for a batch (`localStorage`) say so.
/// - `commit` is called only after `load` succeeded, and never concurrently with itself: the
///   store takes `&mut self` for both.
///
/// Methods are `async` because some storage is (IndexedDB). Adapters over synchronous storage
/// finish on the first poll, which lets a host drive them with [`block_on`](fn@crate::block_on).
pub trait Persist {
    /// Why storage failed.
    type Error: StorageError;

    /// Reads everything stored. A store that was never written is [`Stored::Nothing`].
    fn load(&mut self) -> impl Future<Output = Result<Stored, Self::Error>>;

    /// Makes `commit` durable, all of it or none of it (see the trait's contract).
    ///
    /// Generic over how the store holds values ([`Json`]); an adapter only moves the encoded
    /// bytes `commit` hands it, whichever it is.
    fn commit(
        &mut self,
        commit: &Commit<'_, impl Json>,
    ) -> impl Future<Output = Result<(), Self::Error>>;
}

/// What [`Persist::load`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// Nothing was ever written: the store opens empty.
    Nothing,
    /// One encoded snapshot, as written from [`Commit::snapshot`].
    Snapshot(Vec<u8>),
    /// One encoded value per key, as written from [`Commit::changes`].
    Records(Vec<(String, Vec<u8>)>),
    /// A snapshot (`None`: none was written yet) and the changes committed after it, in the
    /// order they were committed: what a journaling adapter keeps (kv-native's files).
    Journaled {
        /// The snapshot the changes apply over.
        snapshot: Option<Vec<u8>>,
        /// The changes, oldest first.
        changes: Vec<Replay>,
    },
    /// What storage holds does not read, found by the adapter itself (a damaged journal):
    /// opening fails with this, and nothing is written.
    Corrupt(Corrupt),
}

/// One change read back from a journal, owned: what [`Stored::Journaled`] replays over its
/// snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// Every key is erased.
    Clear,
    /// The key now holds this encoded value.
    Put {
        /// The key.
        key: String,
        /// The key's record, as [`Change::Put`]'s.
        value: Vec<u8>,
    },
    /// The key no longer exists.
    Delete {
        /// The key.
        key: String,
    },
}

/// One change to one key, its value already encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'a> {
    /// The key now holds this encoded value.
    Put {
        /// The key.
        key: &'a str,
        /// The key's record: its value encoded as JSON, or for a key with an expiry that
        /// encoding preceded by the expiry ([`encode_record`](crate::encode_record)). A record
        /// adapter stores it as it is; the key may be the format's own reserved key
        /// (U+0000 `format`), which a record adapter stores like any other.
        value: &'a [u8],
    },
    /// The key no longer exists.
    Delete {
        /// The key.
        key: &'a str,
    },
}

impl<'a> Change<'a> {
    /// The key this change is about.
    pub fn key(&self) -> &'a str {
        match self {
            Self::Put { key, .. } | Self::Delete { key } => key,
        }
    }
}

/// Everything one write call changes, handed to [`Persist::commit`]: a [`Prepared`] commit
/// over the store's memory ([`Store::commit_of`](crate::Store::commit_of)).
///
/// If [`clears`](Self::clears) is true, every stored key is erased first; then each of
/// [`changes`](Self::changes) applies. Each key appears at most once, in ascending byte order.
pub struct Commit<'a, V = Value> {
    pub(crate) prepared: &'a Prepared<V>,
    pub(crate) base: &'a Entries<V>,
    pub(crate) expiries: &'a Expiries,
}

impl<V: Json> Commit<'_, V> {
    /// Whether storage is erased before the changes apply.
    pub fn clears(&self) -> bool {
        self.prepared.clear
    }

    /// The changed keys with their new encoded values, in ascending key order.
    pub fn changes(&self) -> impl ExactSizeIterator<Item = Change<'_>> + '_ {
        self.prepared.changes()
    }

    /// The whole store as it will be once this commit applies, encoded as one snapshot.
    ///
    /// Computed on each call; a record adapter never needs it.
    pub fn snapshot(&self) -> Vec<u8> {
        codec::encode_snapshot(
            self.base,
            self.expiries,
            &self.prepared.changes,
            self.prepared.clear,
        )
    }

    /// How many keys the store holds once this commit applies.
    pub fn len_after(&self) -> usize {
        self.prepared.len_after
    }
}

/// One call's changes, decided against memory and not yet applied: checked against the
/// limits, encoded, and owned, so a host can make them durable however its storage works
/// (a file append, an IndexedDB transaction, a Redis script), then
/// [apply](crate::Store::apply) them. See [`Store::prepare`](crate::Store::prepare).
#[derive(Debug, Clone)]
pub struct Prepared<V = Value> {
    pub(crate) clear: bool,
    /// Sorted by key, each key once.
    pub(crate) changes: Vec<(SmolStr, Staged<V>)>,
    /// The keys the call's answer depends on, sorted, each once, with the encoded value the
    /// call saw (`None`: absent).
    pub(crate) reads: Vec<(SmolStr, Option<Vec<u8>>)>,
    pub(crate) len_after: usize,
}

impl<V: Json> Prepared<V> {
    /// Whether this writes nothing (a `set_if_absent` of a key that exists, say).
    pub fn is_empty(&self) -> bool {
        !self.clear && self.changes.is_empty()
    }

    /// Whether storage is erased before the changes apply.
    pub fn clears(&self) -> bool {
        self.clear
    }

    /// The changed keys with their new encoded values, in ascending key order, each once.
    pub fn changes(&self) -> impl ExactSizeIterator<Item = Change<'_>> + '_ {
        self.changes.iter().map(|(key, value)| match value {
            Some(put) => Change::Put {
                key,
                value: &put.record,
            },
            None => Change::Delete { key },
        })
    }

    /// The keys whose stored state the call's answer depended on (read before the call wrote
    /// them), in ascending order, with the encoded value the call saw, `None` for absent.
    ///
    /// Empty for a blind write (`set`, `set_many`, `clear`). A host shared by several writers
    /// checks, inside its storage transaction, that storage still holds exactly these; if not,
    /// it [refreshes](crate::Store::refresh) memory from what it read and prepares again.
    /// After [`prepare_after`](crate::Store::prepare_after), the values are what memory holds
    /// with the pending commits applied, not what storage holds yet.
    pub fn reads(&self) -> impl ExactSizeIterator<Item = (&str, Option<&[u8]>)> + '_ {
        self.reads
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_deref()))
    }

    /// How many keys the store holds once this applies.
    pub fn len_after(&self) -> usize {
        self.len_after
    }
}

impl<V: Json> fmt::Debug for Commit<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Commit")
            .field("clear", &self.prepared.clear)
            .field("changes", &self.changes().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// An adapter's error, classified so that every host can react the same way to the same
/// failure (a full disk and a full IndexedDB quota are both [`StorageErrorKind::QuotaExceeded`]).
pub trait StorageError: core::error::Error {
    /// What kind of failure this is.
    fn kind(&self) -> StorageErrorKind;
}

/// The kinds of storage failure a caller can tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StorageErrorKind {
    /// No room left: a full disk, an exceeded browser quota.
    QuotaExceeded,
    /// The storage cannot be reached here (no `localStorage` in a service worker, a closed
    /// database, a read-only file system).
    Unavailable,
    /// Another writer holds the store.
    Locked,
    /// Reading or writing failed.
    Io,
    /// Anything else.
    Other,
}

impl StorageError for Infallible {
    fn kind(&self) -> StorageErrorKind {
        match *self {}
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;
    use alloc::vec;

    use serde_json::json;

    use super::*;
    use crate::{ManualClock, MemoryPersist, Store, Transaction, block_on};

    /// Storage in memory that keeps, besides the records, what the last commit handed over.
    #[derive(Debug, Default)]
    struct Recording {
        records: MemoryPersist,
        changes: Vec<(String, Option<Vec<u8>>)>,
        snapshot: Vec<u8>,
        len_after: usize,
    }

    impl Persist for Recording {
        type Error = Infallible;

        async fn load(&mut self) -> Result<Stored, Infallible> {
            self.records.load().await
        }

        async fn commit(&mut self, commit: &Commit<'_, impl Json>) -> Result<(), Infallible> {
            self.changes = commit
                .changes()
                .map(|change| match change {
                    Change::Put { key, value } => (key.to_string(), Some(value.to_vec())),
                    Change::Delete { key } => (key.to_string(), None),
                })
                .collect();
            self.snapshot = commit.snapshot();
            self.len_after = commit.len_after();
            self.records.commit(commit).await
        }
    }

    type TestStore = Store<Recording, ManualClock>;

    /// Sets `initial` in one commit, runs `f` as a second one, and returns what that second
    /// commit handed to storage.
    fn second_commit<const N: usize>(
        initial: [(&str, Value); N],
        f: impl FnOnce(&mut Transaction<'_>) -> Result<(), crate::Error<Infallible>>,
    ) -> Recording {
        let result = block_on(async {
            let mut store: TestStore =
                Store::open(Recording::default(), ManualClock::new(0)).await?;
            store.set_many(initial).await?;
            store.transaction(f).await?;
            Ok::<_, crate::Error<Infallible>>(store.close())
        });
        result
            .expect("memory storage completes at once")
            .expect("memory storage does not fail")
    }

    #[test]
    fn a_commit_hands_out_each_changed_key_once_in_ascending_byte_order() {
        let recording = second_commit([("é", json!(1)), ("b", json!(2)), ("d", json!(3))], |tx| {
            tx.set("c", json!("c"))?;
            tx.delete("b");
            tx.set("x", json!(0))?;
            tx.delete("x");
            tx.set("a", json!(null))?;
            tx.set("Z", json!([1]))?;
            tx.delete("d");
            tx.set("a", json!(true))?;
            Ok(())
        });
        let change = |key: &str, value: Option<&str>| {
            (key.to_string(), value.map(|v| v.as_bytes().to_vec()))
        };
        assert_eq!(
            recording.changes,
            vec![
                change("Z", Some("[1]")),
                change("a", Some("true")),
                change("b", None),
                change("c", Some("\"c\"")),
                change("d", None),
            ]
        );
        assert_eq!(
            recording.snapshot,
            b"{\"Z\":[1],\"a\":true,\"c\":\"c\",\"\xc3\xa9\":1}\n"
        );
        assert_eq!(recording.len_after, 4);
    }

    #[test]
    fn a_clearing_commit_snapshots_only_what_it_sets() {
        let recording = second_commit([("a", json!(1)), ("b", json!(2))], |tx| {
            tx.clear();
            tx.set("b", json!(3))?;
            tx.set("c", json!(4))?;
            tx.delete("c");
            Ok(())
        });
        assert_eq!(
            recording.changes,
            vec![("b".to_string(), Some(b"3".to_vec()))]
        );
        assert_eq!(recording.snapshot, b"{\"b\":3}\n");
        assert_eq!(recording.len_after, 1);
    }
}
