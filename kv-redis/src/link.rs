//! One connection to Redis for a store's reads and commits, reconnected after it is lost.

use std::sync::Arc;
use std::time::Duration;

use kv_core::{Change, StorageErrorKind};
use redis::Value;

use crate::address::Address;
use crate::announce;
use crate::error::RedisError;
use crate::layout::Layout;

/// How long connecting, and then each reply, may take before the call is `Unavailable`.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub(crate) const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// The commit script (`commit.lua`): compare, write, count, announce, in one atomic step.
static COMMIT: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(include_str!("commit.lua")));

/// One hash field and its value, as Redis sends them.
type Field = (Vec<u8>, Vec<u8>);

/// What a store holds, read in one atomic step.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The commit counter when it was read: announcements up to it are already in `records`.
    pub(crate) seq: u64,
    pub(crate) records: Vec<(String, Vec<u8>)>,
}

/// What the server made of a commit.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Written as the commit numbered `seq`.
    Committed(u64),
    /// Every read matched and there was nothing to write.
    Unchanged,
    /// These read keys hold other values now (`None`: absent), as of the commit numbered
    /// `seq`; nothing was written.
    Stale {
        seq: u64,
        current: Vec<(String, Option<Vec<u8>>)>,
    },
}

/// A connection to one Redis, opened on first use and dropped when it fails, so that the
/// next call connects again. Not shared: callers hold it behind their own lock.
pub(crate) struct Link {
    address: Arc<Address>,
    connection: Option<redis::Connection>,
    /// Whether a connection was made after an earlier one was lost: the caller then reads the
    /// whole store again, since announcements may have been missed meanwhile.
    reconnected: bool,
    connected_once: bool,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("address", &self.address)
            .field("connected", &self.connection.is_some())
            .finish()
    }
}

impl Link {
    pub(crate) fn new(address: Arc<Address>) -> Self {
        Self {
            address,
            connection: None,
            reconnected: false,
            connected_once: false,
        }
    }

    pub(crate) fn address(&self) -> &Arc<Address> {
        &self.address
    }

    /// Asks the next caller of [`take_reconnected`](Self::take_reconnected) to read the
    /// whole store again, as after a reconnect.
    pub(crate) fn mark_behind(&mut self) {
        self.reconnected = true;
    }

    /// Whether this link connected anew since the last call to this (after a lost one).
    pub(crate) fn take_reconnected(&mut self) -> bool {
        std::mem::take(&mut self.reconnected)
    }

    /// Connects now unless connected.
    pub(crate) fn connect(&mut self) -> Result<(), RedisError> {
        if self.connection.is_none() {
            let connection = connect(&self.address)?;
            self.reconnected |= self.connected_once;
            self.connected_once = true;
            self.connection = Some(connection);
        }
        Ok(())
    }

    /// Runs `f` on the connection; an I/O failure drops it.
    fn with<T>(
        &mut self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, RedisError> {
        self.connect()?;
        let connection = self.connection.as_mut().ok_or_else(|| {
            RedisError::with_kind(
                &self.address,
                StorageErrorKind::Unavailable,
                "not connected",
            )
        })?;
        f(connection).map_err(|e| {
            if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
                self.connection = None;
            }
            RedisError::new(&self.address, &e)
        })
    }

    /// Reads the whole store and its commit counter, atomically.
    pub(crate) fn load(&mut self, layout: &Layout) -> Result<Loaded, RedisError> {
        let (fields, seq): (Vec<Field>, Option<u64>) = self.with(|c| {
            redis::pipe()
                .atomic()
                .hgetall(&layout.hash)
                .get(&layout.seq)
                .query(c)
        })?;
        let mut records = Vec::with_capacity(fields.len());
        for (field, value) in fields {
            let key = String::from_utf8(field).map_err(|e| {
                let field = String::from_utf8_lossy(e.as_bytes()).into_owned();
                RedisError::with_kind(
                    &self.address,
                    StorageErrorKind::Other,
                    &format!("{}: the field {field:?} is not UTF-8", layout.hash),
                )
            })?;
            records.push((key, value));
        }
        Ok(Loaded {
            seq: seq.unwrap_or(0),
            records,
        })
    }

    /// Commits `changes` (after erasing the store if `clear`) if every read key still holds
    /// the value given for it, in one atomic step that also announces the commit.
    pub(crate) fn commit(
        &mut self,
        layout: &Layout,
        reads: &[(&str, Option<&[u8]>)],
        clear: bool,
        changes: &[Change<'_>],
    ) -> Result<Outcome, RedisError> {
        let mut invocation = COMMIT.prepare_invoke();
        invocation
            .key(&layout.hash)
            .key(&layout.seq)
            .arg(&layout.channel)
            .arg(if clear { "1" } else { "0" })
            .arg(reads.len());
        for (key, value) in reads {
            invocation
                .arg(*key)
                .arg(if value.is_some() { "1" } else { "0" })
                .arg(value.unwrap_or_default());
        }
        invocation.arg(changes.len());
        for change in changes {
            match change {
                Change::Put { key, value } => invocation.arg(key).arg("p").arg(value),
                Change::Delete { key } => invocation.arg(key).arg("d").arg(""),
            };
        }
        invocation.arg(announce::tail(clear, changes.iter().copied()));
        let reply: Value = self.with(|c| invocation.invoke(c))?;
        parse_outcome(reply).ok_or_else(|| {
            RedisError::with_kind(
                &self.address,
                StorageErrorKind::Other,
                "the commit script answered something it never sends",
            )
        })
    }
}

/// Connects to `address` with the timeouts above.
pub(crate) fn connect(address: &Address) -> Result<redis::Connection, RedisError> {
    let fail = |e: redis::RedisError| RedisError::new(address, &e);
    let connection = address
        .client()
        .get_connection_with_timeout(CONNECT_TIMEOUT)
        .map_err(fail)?;
    connection
        .set_read_timeout(Some(REPLY_TIMEOUT))
        .map_err(fail)?;
    connection
        .set_write_timeout(Some(REPLY_TIMEOUT))
        .map_err(fail)?;
    Ok(connection)
}

fn parse_outcome(reply: Value) -> Option<Outcome> {
    let Value::Array(items) = reply else {
        return None;
    };
    let mut items = items.into_iter();
    match items.next()? {
        Value::Int(1) => match items.next()? {
            Value::Int(seq) => Some(Outcome::Committed(u64::try_from(seq).ok()?)),
            _ => None,
        },
        Value::Int(2) => Some(Outcome::Unchanged),
        Value::Int(0) => {
            let Value::Int(seq) = items.next()? else {
                return None;
            };
            let mut current = Vec::new();
            while let Some(key) = items.next() {
                let Value::BulkString(key) = key else {
                    return None;
                };
                let value = match items.next()? {
                    Value::BulkString(value) => Some(value),
                    Value::Nil => None,
                    _ => return None,
                };
                current.push((String::from_utf8(key).ok()?, value));
            }
            Some(Outcome::Stale {
                seq: u64::try_from(seq).ok()?,
                current,
            })
        }
        _ => None,
    }
}
