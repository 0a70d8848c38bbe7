//! One key-value store shared by many processes and machines, kept in Redis.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod address;
mod announce;
mod clock;
mod copy;
mod error;
mod kv;
mod layout;
mod link;
mod listener;
mod persist;
mod shared;

pub use clock::SystemClock;
pub use error::{Error, RedisError};
pub use kv::{Kv, Options};
pub use persist::RedisPersist;

pub use kv_core::{
    Corrupt, ErrorKind, Limit, LimitExceeded, Limits, Map, Rejected, StorageError,
    StorageErrorKind, Transaction, Value,
};
