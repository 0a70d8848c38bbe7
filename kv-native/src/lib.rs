//! A durable, file-backed key-value store for small, long-lived local state: seen IDs, the
//! last command, rate-limit timestamps.
//!
//! The whole store is one JSON object in one file (a file written by Python's aiokv opens
//! unchanged). Every write is durable when it returns: the new contents go to a temporary file
//! in the same directory, which is synced and renamed over the old one, and the directory is
//! synced. A crash leaves the old file or the new one, never a mix. One handle writes at a
//! time: opening takes an exclusive lock, and a second open fails at once with
//! [`Error::Locked`].
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
mod clock;
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
mod replace;

#[cfg(feature = "tokio")]
pub use async_kv::AsyncKv;
pub use clock::SystemClock;
pub use error::{Error, FileError, Op};
pub use file::FilePersist;
pub use kv::Kv;
pub use options::{Lock, Options};

pub use kv_core::{
    Corrupt, Limit, LimitExceeded, Limits, Map, Rejected, StorageError, StorageErrorKind,
    Transaction, Value,
};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The workspace README's Rust example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct WorkspaceReadmeDoctests;
