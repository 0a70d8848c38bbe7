//! The portable core of a small, persistent key-value store.
//!
//! [`Store`] holds a map from string keys to JSON values and owns every rule of the store:
//! what a read returns, that a value-less write stores the current unix time, how a batch
//! commits, which limits apply, how a snapshot is encoded. It does no I/O of its own: the
//! host supplies storage through [`Persist`] and time through [`Clock`].
//!
//! ```
//! # use kv_core::{Store, MemoryPersist, ManualClock};
//! # use serde_json::json;
//! # kv_core::block_on(async {
//! let mut store = Store::open(MemoryPersist::new(), ManualClock::new(1_763_700_000)).await?;
//! store.set("last_command", json!("ping")).await?;
//! assert!(store.touch_if_absent("seen:123").await?);
//! assert!(!store.touch_if_absent("seen:123").await?);
//! assert_eq!(store.get("seen:123"), Some(&json!(1_763_700_000)));
//! assert_eq!(store.get_or("absent", json!(0)), json!(0));
//! # Ok::<(), kv_core::Error<core::convert::Infallible>>(())
//! # }).unwrap();
//! ```
//!
//! Values are held as parsed [`Value`]s by default. A host that parses JSON itself (a browser)
//! can hold them as [`JsonText`] instead: the text, checked but never parsed, with the same
//! rules and the same stored format, and no JSON parser linked:
//!
//! ```
//! # use kv_core::{Store, MemoryPersist, ManualClock, JsonText};
//! # kv_core::block_on(async {
//! let mut store: Store<_, _, JsonText> =
//!     Store::open(MemoryPersist::new(), ManualClock::new(1_763_700_000)).await?;
//! store.set("user", JsonText::new(r#"{"name": "Ada"}"#)?).await?;
//! store.touch("seen:123").await?;
//! assert_eq!(store.get("seen:123").map(JsonText::as_str), Some("1763700000"));
//! assert!(JsonText::new("{\"unclosed\": ").is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod block_on;
mod clock;
mod codec;
#[cfg(not(target_arch = "wasm32"))]
mod entries;
mod error;
mod expiry;
mod json;
mod limits;
mod memory;
mod persist;
mod sorted;
mod store;
mod transaction;
mod value;

pub use block_on::{NotReady, block_on};
#[cfg(feature = "std")]
pub use clock::SystemClock;
pub use clock::{Clock, ManualClock};
pub use codec::{RESERVED_PREFIX, decode_value, encode_value};
pub use error::{Corrupt, Error, ErrorKind, Rejected};
pub use expiry::{InvalidTtl, MAX_EXPIRY_MS, Ttl, TtlProblem, decode_record, encode_record};
pub use json::{InvalidJson, InvalidJsonKind, JsonText};
pub use limits::{Limit, LimitExceeded, Limits};
pub use memory::MemoryPersist;
pub use persist::{
    Change, Commit, Persist, Prepared, Replay, StorageError, StorageErrorKind, Stored,
};
pub use store::Store;
pub use transaction::{Pending, Transaction};
pub use value::Json;

pub use serde_json::{Map, Value, json};
