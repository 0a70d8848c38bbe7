//! One key-value store shared by many processes and machines, kept in Redis.
//!
//! The store named `NAME` is one Redis hash, `kv:{NAME}`, with each key's JSON text as its
//! field's value. [`Kv`] has the calls of kv-native's `Kv`: reads come from a copy in memory;
//! each write is decided against the copy and committed by one server-side script only if
//! the keys it read still hold what it read, so set-if-absent, `update`, transactions and
//! batches are atomic across processes. Every commit is announced on the channel `kv:{NAME}`,
//! and each open `Kv` follows the others' announcements (and reads the whole store again
//! after a reconnect).
//!
//! ```no_run
//! # fn main() -> Result<(), kv_redis::Error> {
//! let kv = kv_redis::Kv::open("redis://127.0.0.1:6379/0", "seen")?;
//! if kv.touch_if_absent("seen:123")? {
//!     // no other process has seen 123
//! }
//! # Ok(())
//! # }
//! ```
//!
//! `AsyncKv` (feature `tokio`) has the same calls as `async fn`. [`RedisPersist`] is the
//! same hash as a plain [`kv_core::Persist`]. `rediss://` URLs need the feature `tls`.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod address;
mod announce;
#[cfg(feature = "tokio")]
mod async_kv;
mod copy;
mod error;
mod kv;
mod layout;
mod link;
mod listener;
mod persist;
mod shared;

#[cfg(feature = "tokio")]
pub use async_kv::AsyncKv;
pub use error::{Error, RedisError};
pub use kv::{Kv, Options};
pub use kv_core::{Clock, ManualClock, SystemClock};
pub use persist::RedisPersist;

pub use kv_core::{
    Corrupt, ErrorKind, InvalidTtl, Limit, LimitExceeded, Limits, Map, Rejected, StorageError,
    StorageErrorKind, Transaction, Ttl, TtlProblem, Value,
};

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
