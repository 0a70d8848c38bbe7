use alloc::string::String;
use core::fmt;

use crate::expiry::InvalidTtl;
use crate::json::{Decimal, JsonText};
use crate::limits::LimitExceeded;
use crate::persist::{StorageError, StorageErrorKind};

/// Why a store operation failed. `E` is the storage adapter's error.
///
/// Whatever the variant, the store's memory equals what storage holds afterwards.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error<E> {
    /// Storage failed; nothing was changed.
    Storage(E),
    /// What storage holds does not decode; nothing was written.
    Corrupt(Corrupt),
    /// The store refused the write before touching storage.
    Rejected(Rejected),
}

impl<E: StorageError> Error<E> {
    /// What kind of failure this is, the same across every adapter.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Storage(e) => ErrorKind::Storage(e.kind()),
            Self::Corrupt(_) => ErrorKind::Corrupt,
            Self::Rejected(Rejected::Limit(_)) => ErrorKind::LimitExceeded,
            Self::Rejected(Rejected::ReservedKey(_)) => ErrorKind::ReservedKey,
            Self::Rejected(Rejected::Ttl(_)) => ErrorKind::InvalidTtl,
        }
    }
}

impl<E> Error<E> {
    /// The same error with the storage error mapped through `f`.
    pub fn map_storage<F>(self, f: impl FnOnce(E) -> F) -> Error<F> {
        match self {
            Self::Storage(e) => Error::Storage(f(e)),
            Self::Corrupt(c) => Error::Corrupt(c),
            Self::Rejected(r) => Error::Rejected(r),
        }
    }
}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Storage(e) => write!(f, "storage failed: {e}"),
            Self::Corrupt(c) => c.fmt(f),
            Self::Rejected(r) => r.fmt(f),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for Error<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Storage(e) => Some(e),
            Self::Corrupt(c) => Some(c),
            Self::Rejected(r) => Some(r),
        }
    }
}

impl<E> From<Rejected> for Error<E> {
    fn from(rejected: Rejected) -> Self {
        Self::Rejected(rejected)
    }
}

impl<E> From<Corrupt> for Error<E> {
    fn from(corrupt: Corrupt) -> Self {
        Self::Corrupt(corrupt)
    }
}

/// The kinds of failure a caller can tell apart, whatever the adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Storage failed, in this way.
    Storage(StorageErrorKind),
    /// Stored data does not decode.
    Corrupt,
    /// A write went over one of the store's limits.
    LimitExceeded,
    /// A key in the reserved namespace was written.
    ReservedKey,
    /// A time to live under 1 ms, or ending after the latest expiry a store holds.
    InvalidTtl,
}

/// Stored data that does not decode. Nothing was written over it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Corrupt {
    /// The record that does not decode, for record adapters; `None` for a whole snapshot.
    pub key: Option<String>,
    /// The line where decoding stopped, from 1; 0 when no position applies.
    pub line: usize,
    /// The column where decoding stopped, from 1; 0 when no position applies.
    pub column: usize,
    /// Why it does not decode.
    pub reason: String,
}

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "stored record {} does not decode", JsonText::string(key))?,
            None => f.write_str("stored data does not decode")?,
        }
        if self.line > 0 {
            write!(
                f,
                " at line {}, column {}",
                Decimal::new(self.line as u64),
                Decimal::new(self.column as u64)
            )?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl core::error::Error for Corrupt {}

/// A write the store refuses before touching storage.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejected {
    /// The write would go over one of the store's limits.
    Limit(LimitExceeded),
    /// The key begins with [`RESERVED_PREFIX`](crate::RESERVED_PREFIX).
    ReservedKey(String),
    /// The time to live is not one a store holds.
    Ttl(InvalidTtl),
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Limit(e) => e.fmt(f),
            Self::ReservedKey(key) => write!(
                f,
                "key {} begins with U+0000, which is reserved for the store's format",
                JsonText::string(key)
            ),
            Self::Ttl(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for Rejected {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Limit(e) => Some(e),
            Self::Ttl(e) => Some(e),
            Self::ReservedKey(_) => None,
        }
    }
}

impl From<InvalidTtl> for Rejected {
    fn from(e: InvalidTtl) -> Self {
        Self::Ttl(e)
    }
}

impl From<LimitExceeded> for Rejected {
    fn from(e: LimitExceeded) -> Self {
        Self::Limit(e)
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;

    use super::*;
    use crate::limits::Limit;

    #[test]
    fn messages_quote_keys_as_json_strings() {
        let corrupt = Corrupt {
            key: Some("a\"b\u{1}é".into()),
            line: 12,
            column: 3,
            reason: "expected value".into(),
        };
        assert_eq!(
            corrupt.to_string(),
            r#"stored record "a\"b\u0001é" does not decode at line 12, column 3: expected value"#
        );
        assert_eq!(
            Rejected::ReservedKey("\u{0}meta".into()).to_string(),
            r#"key "\u0000meta" begins with U+0000, which is reserved for the store's format"#
        );
    }

    #[test]
    fn messages_write_numbers_in_plain_digits() {
        let over = LimitExceeded {
            limit: Limit::Entries,
            actual: 1_000_001,
            max: 1_000_000,
        };
        assert_eq!(
            over.to_string(),
            "store would hold 1000001 entries, over max_entries = 1000000"
        );
        let corrupt = Corrupt {
            key: None,
            line: 0,
            column: 0,
            reason: "empty".into(),
        };
        assert_eq!(corrupt.to_string(), "stored data does not decode: empty");
    }
}
