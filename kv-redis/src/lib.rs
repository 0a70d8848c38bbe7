//! One key-value store shared by many processes and machines, kept in Redis.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod address;
mod announce;
mod error;
mod layout;
mod link;
mod persist;

pub use error::{Error, RedisError};
pub use persist::RedisPersist;
