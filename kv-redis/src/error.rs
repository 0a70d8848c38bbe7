//! What can go wrong, and how it is told: every message names the store's URL with its
//! password redacted.

use std::fmt;

use kv_core::{Corrupt, ErrorKind, Rejected, StorageError, StorageErrorKind};

use crate::address::Address;

/// Redis failed a call: it could not be reached, the connection was lost, or the server
/// answered with an error. [`RedisPersist`](crate::RedisPersist)'s storage error.
///
/// It names the URL with its password replaced by `***`, and keeps the client's message as
/// text (scrubbed of the password), never the client's error value itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisError {
    kind: StorageErrorKind,
    url: String,
    detail: String,
}

impl RedisError {
    pub(crate) fn new(address: &Address, error: &redis::RedisError) -> Self {
        // A transaction's error carries its commands' errors; the server's codes say why.
        let codes: Vec<String> = match error.clone().into_server_errors() {
            Some(errors) => errors.iter().map(|(_, e)| e.code().to_owned()).collect(),
            None => Vec::new(),
        };
        let code = |wanted: &[&str]| codes.iter().any(|c| wanted.contains(&c.as_str()));
        let kind = if error.is_io_error()
            || error.is_connection_refusal()
            || error.is_connection_dropped()
            || error.is_timeout()
            || code(&["LOADING", "MASTERDOWN", "TRYAGAIN", "READONLY", "BUSY"])
        {
            StorageErrorKind::Unavailable
        } else if code(&["OOM"]) {
            StorageErrorKind::QuotaExceeded
        } else {
            StorageErrorKind::Other
        };
        Self::with_kind(address, kind, &error.to_string())
    }

    pub(crate) fn with_kind(address: &Address, kind: StorageErrorKind, detail: &str) -> Self {
        Self {
            kind,
            url: address.to_string(),
            detail: address.scrub(detail),
        }
    }

    /// The store's URL, its password replaced by `***`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl fmt::Display for RedisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            StorageErrorKind::Unavailable => {
                write!(f, "Redis at {} is unavailable: {}", self.url, self.detail)
            }
            _ => write!(f, "Redis at {}: {}", self.url, self.detail),
        }
    }
}

impl std::error::Error for RedisError {}

impl StorageError for RedisError {
    fn kind(&self) -> StorageErrorKind {
        self.kind
    }
}

/// Why a call on a [`Kv`](crate::Kv) failed.
///
/// Whatever the variant, memory equals what Redis holds once the call returns, or, after a
/// lost connection, once the next call has reconnected and read the store again.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The URL or the store name cannot be used; nothing was sent.
    Invalid(String),
    /// Redis failed the call (see [`RedisError`]). If the connection was lost after the
    /// write was sent, Redis may hold it: the next call reads the store again either way.
    Redis(RedisError),
    /// What Redis holds for the store does not decode; nothing was written.
    Corrupt {
        /// The store's URL (password redacted) and name.
        store: String,
        /// Which record, and why.
        source: Corrupt,
    },
    /// The store refused the write before sending it (a limit, a reserved key, a ttl it
    /// cannot hold).
    Rejected(Rejected),
    /// A value does not convert to or from the Rust type asked for; nothing was written.
    Value {
        /// The key whose value it is.
        key: String,
        /// Why it does not convert.
        source: serde_json::Error,
    },
    /// The call did not run: its async runtime shut down first. Nothing was changed.
    Incomplete,
}

impl Error {
    /// What kind of failure this is, the same across every adapter (so `Unavailable` for a
    /// Redis that cannot be reached, as for storage that cannot be reached anywhere).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) | Self::Value { .. } | Self::Incomplete => {
                ErrorKind::Storage(StorageErrorKind::Other)
            }
            Self::Redis(e) => ErrorKind::Storage(e.kind()),
            Self::Corrupt { .. } => ErrorKind::Corrupt,
            Self::Rejected(Rejected::Limit(_)) => ErrorKind::LimitExceeded,
            Self::Rejected(Rejected::Ttl(_)) => ErrorKind::InvalidTtl,
            Self::Rejected(_) => ErrorKind::ReservedKey,
        }
    }

    pub(crate) fn corrupt(address: &Address, name: &str, source: Corrupt) -> Self {
        Self::Corrupt {
            store: format!("{address} store {}", serde_json::Value::from(name)),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(message) => f.write_str(message),
            Self::Redis(e) => e.fmt(f),
            Self::Corrupt { store, source } => write!(f, "{store}: {source}"),
            Self::Rejected(r) => r.fmt(f),
            Self::Value { key, source } => {
                write!(f, "the value under {key:?} does not convert: {source}")
            }
            Self::Incomplete => f.write_str("the call did not run: its runtime shut down"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Redis(e) => Some(e),
            Self::Corrupt { source, .. } => Some(source),
            Self::Rejected(r) => Some(r),
            Self::Value { source, .. } => Some(source),
            Self::Invalid(_) | Self::Incomplete => None,
        }
    }
}

impl From<RedisError> for Error {
    fn from(e: RedisError) -> Self {
        Self::Redis(e)
    }
}

impl From<Rejected> for Error {
    fn from(r: Rejected) -> Self {
        Self::Rejected(r)
    }
}
