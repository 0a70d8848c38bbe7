use core::fmt;

use crate::json::Decimal;

/// Bounds on what one store accepts. A write over any of them fails with
/// [`LimitExceeded`] and changes nothing, in memory or in storage.
///
/// Limits apply to writes only: a store that already holds more (written with other limits,
/// or by another program) still opens, and nothing in it is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest key, in UTF-8 bytes.
    pub max_key_bytes: usize,
    /// Largest value, in bytes of its JSON encoding.
    pub max_value_bytes: usize,
    /// Most keys the store holds at once.
    pub max_entries: usize,
}

impl Limits {
    /// Keys up to 1 KiB, values up to 1 MiB encoded, up to a million entries.
    pub const DEFAULT: Self = Self {
        max_key_bytes: 1024,
        max_value_bytes: 1024 * 1024,
        max_entries: 1_000_000,
    };

    /// How deep a value may nest arrays and objects, whatever the limits: inside a snapshot
    /// (one JSON object) a value is one level deeper, and decoders, serde_json's among them,
    /// stop at 128. A write of anything deeper would leave a store that does not open again.
    ///
    /// The one nesting bound: writes are checked against it, and kv-core's JSON scanner reads
    /// exactly one level more (the snapshot's object).
    pub const MAX_NESTING: usize = 126;

    /// No bound but the machine's memory.
    pub const NONE: Self = Self {
        max_key_bytes: usize::MAX,
        max_value_bytes: usize::MAX,
        max_entries: usize::MAX,
    };

    /// These limits with the longest key set to `bytes`.
    #[must_use]
    pub const fn max_key_bytes(mut self, bytes: usize) -> Self {
        self.max_key_bytes = bytes;
        self
    }

    /// These limits with the largest encoded value set to `bytes`.
    #[must_use]
    pub const fn max_value_bytes(mut self, bytes: usize) -> Self {
        self.max_value_bytes = bytes;
        self
    }

    /// These limits with the most entries set to `entries`.
    #[must_use]
    pub const fn max_entries(mut self, entries: usize) -> Self {
        self.max_entries = entries;
        self
    }

    pub(crate) fn check_key(&self, key: &str) -> Result<(), LimitExceeded> {
        check(Limit::KeyBytes, key.len(), self.max_key_bytes)
    }

    pub(crate) fn check_value(&self, encoded: &[u8]) -> Result<(), LimitExceeded> {
        check(Limit::ValueBytes, encoded.len(), self.max_value_bytes)
    }

    /// Checks that `encoded` nests arrays and objects at most [`Self::MAX_NESTING`] deep.
    pub(crate) fn check_nesting(&self, encoded: &[u8]) -> Result<(), LimitExceeded> {
        check(
            Limit::Nesting,
            crate::json::nesting(encoded),
            Self::MAX_NESTING,
        )
    }

    pub(crate) fn check_entries(&self, entries: usize) -> Result<(), LimitExceeded> {
        check(Limit::Entries, entries, self.max_entries)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

fn check(limit: Limit, actual: usize, max: usize) -> Result<(), LimitExceeded> {
    if actual > max {
        Err(LimitExceeded { limit, actual, max })
    } else {
        Ok(())
    }
}

/// Which of the [`Limits`] a write went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// [`Limits::max_key_bytes`].
    KeyBytes,
    /// [`Limits::max_value_bytes`].
    ValueBytes,
    /// [`Limits::max_entries`].
    Entries,
    /// [`Limits::MAX_NESTING`], which is fixed.
    Nesting,
}

impl Limit {
    /// The limit's name as written in [`Limits`].
    pub const fn name(self) -> &'static str {
        match self {
            Self::KeyBytes => "max_key_bytes",
            Self::ValueBytes => "max_value_bytes",
            Self::Entries => "max_entries",
            Self::Nesting => "MAX_NESTING",
        }
    }
}

/// A write would go over one of the store's [`Limits`]; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitExceeded {
    /// The limit that was exceeded.
    pub limit: Limit,
    /// What the write would have made it.
    pub actual: usize,
    /// The limit's value.
    pub max: usize,
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.limit {
            Limit::KeyBytes => "key is",
            Limit::ValueBytes => "encoded value is",
            Limit::Entries => "store would hold",
            Limit::Nesting => "value nests arrays and objects",
        };
        let unit = match self.limit {
            Limit::Entries => "entries",
            Limit::KeyBytes | Limit::ValueBytes => "bytes",
            Limit::Nesting => "deep",
        };
        write!(
            f,
            "{what} {} {unit}, over {} = {}",
            Decimal::new(self.actual as u64),
            self.limit.name(),
            Decimal::new(self.max as u64)
        )
    }
}

impl core::error::Error for LimitExceeded {}
