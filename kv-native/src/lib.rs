//! A durable, file-backed key-value store for small, long-lived local state: seen IDs, the
//! last command, rate-limit timestamps.
//!
//! The store is one JSON object in one file (a file written by Python's aiokv opens
//! unchanged) and a journal beside it. Every write is durable when it returns: it appends one
//! checksummed record to the journal and syncs it, at a cost that does not grow with the store;
//! writes from several threads that arrive during a sync share the next one. The journal is
//! folded into the file (compacted, by a durable replace: temporary file, sync, rename,
//! directory sync) when it outgrows the file, on [`Kv::compact`], and when the store is closed.
//! A crash leaves every acknowledged write readable. One handle writes at a time: opening takes
//! an exclusive lock, and a second open fails at once with [`Error::Locked`].
//! [`Options::journal`]`(false)` rewrites the file on every write instead.
//! [`Kv::open_read_only`] reads without the lock.
//!
//! A key may be written with a time to live ([`Kv::set_with_ttl`], [`Kv::touch_if_absent_with_ttl`],
//! [`Kv::expire`]): from the moment it expires it is absent for every read, and a later write or
//! [`Kv::purge`] removes it from the files. [`Kv::get_or_insert_with`] memoizes a computation
//! under a key, with or without a ttl.
//!
//! Numbers keep their digits (2**64, 10**30, `1.0`): this crate turns on serde_json's
//! `arbitrary_precision` feature, for every crate in the build; see the README.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("state.json");
//! use kv_native::Kv;
//!
//! let kv = Kv::open(&path)?;
//! kv.set("last_command", "ping")?;
//! if kv.touch_if_absent("seen:123")? {
//!     // first sighting of ID 123: its unix time is now stored under "seen:123"
//! }
//! assert_eq!(kv.get("last_command"), Some("ping".into()));
//! # Ok(())
//! # }
//! ```
//!
//! [`Kv`] is the blocking API (`Send + Sync`, every call on `&self`); `AsyncKv` (feature
//! `tokio`) offers the same calls as `async fn`. [`FilePersist`] is the storage adapter
//! underneath, for use with [`kv_core::Store`] directly.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "tokio")]
mod async_kv;
mod compact;
mod disk;
mod error;
#[doc(hidden)]
pub mod fault;
mod file;
mod group;
mod journal;
mod kv;
mod lock;
mod options;
mod path;
mod read_only;
mod replace;
mod transaction;

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use async_kv::AsyncKv;
pub use error::{Error, FileError, Op};
pub use file::FilePersist;
pub use kv::Kv;
pub use kv_core::{Clock, InvalidTtl, MAX_EXPIRY_MS, ManualClock, SystemClock, Ttl};
pub use options::{Lock, Options};
pub use read_only::ReadOnlyKv;

pub use kv_core::{
    Corrupt, JsonText, Limit, LimitExceeded, Limits, Map, Rejected, StorageError, StorageErrorKind,
    Value, json,
};
pub use transaction::Transaction;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The workspace README's Rust example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct WorkspaceReadmeDoctests;
