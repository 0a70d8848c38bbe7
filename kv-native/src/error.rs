use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use kv_core::{Corrupt, Rejected, StorageError, StorageErrorKind};

/// Why a call on a [`Kv`](crate::Kv) or an `AsyncKv` failed.
///
/// Whatever the variant, the store's memory equals what its file holds afterwards (but see
/// [`Op::Restore`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Another handle, in this process or another, holds the store: nothing was read.
    Locked {
        /// The store file.
        path: PathBuf,
    },
    /// The store file does not decode. It was left exactly as it is, and nothing was written.
    Corrupt {
        /// The store file.
        path: PathBuf,
        /// Where and why decoding stopped.
        source: Corrupt,
    },
    /// Reading, writing or locking a file failed; the store file holds what it held before.
    Io(FileError),
    /// The store refused the write before touching the file (a limit, a reserved key).
    Rejected(Rejected),
    /// A value does not convert to or from the Rust type asked for; nothing was written.
    Value {
        /// The key whose value it is.
        key: String,
        /// Why it does not convert.
        source: serde_json::Error,
    },
    /// The call did not run: its async runtime shut down first (or storage did not finish
    /// synchronously, which a file always does). Nothing was changed.
    Incomplete,
}

impl Error {
    /// The store file the error is about, where there is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Locked { path } | Self::Corrupt { path, .. } => Some(path),
            Self::Io(e) => Some(&e.path),
            Self::Rejected(_) | Self::Value { .. } | Self::Incomplete => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Locked { path } => write!(
                f,
                "{} is locked: another handle, in this process or another, has it open",
                path.display()
            ),
            Self::Corrupt { path, source } => write!(f, "{}: {source}", path.display()),
            Self::Io(e) => e.fmt(f),
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
            Self::Corrupt { source, .. } => Some(source),
            Self::Io(e) => Some(e),
            Self::Rejected(r) => Some(r),
            Self::Value { source, .. } => Some(source),
            Self::Locked { .. } | Self::Incomplete => None,
        }
    }
}

impl From<FileError> for Error {
    fn from(e: FileError) -> Self {
        Self::Io(e)
    }
}

impl From<Rejected> for Error {
    fn from(r: Rejected) -> Self {
        Self::Rejected(r)
    }
}

/// A file operation that failed, on which path, and why. [`FilePersist`](crate::FilePersist)'s
/// storage error.
#[derive(Debug)]
pub struct FileError {
    op: Op,
    path: PathBuf,
    source: io::Error,
}

impl FileError {
    pub(crate) fn new(op: Op, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self {
            op,
            path: path.into(),
            source,
        }
    }

    /// The same failure, for another call of the group it failed.
    pub(crate) fn duplicate(&self) -> Self {
        Self::new(
            self.op,
            self.path.clone(),
            io::Error::new(self.source.kind(), self.source.to_string()),
        )
    }

    pub(crate) fn into_io(self) -> io::Error {
        self.source
    }

    /// What was being done.
    pub fn op(&self) -> Op {
        self.op
    }

    /// The file or directory it was done to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The operating system's error.
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "could not {} {}: {}",
            self.op.verb(),
            self.path.display(),
            self.source
        )?;
        if self.op == Op::Restore {
            f.write_str(" (after a failed directory sync; the file may hold the newer contents)")?;
        }
        Ok(())
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl StorageError for FileError {
    fn kind(&self) -> StorageErrorKind {
        match self.source.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
                StorageErrorKind::QuotaExceeded
            }
            io::ErrorKind::ReadOnlyFilesystem | io::ErrorKind::PermissionDenied => {
                StorageErrorKind::Unavailable
            }
            _ => StorageErrorKind::Io,
        }
    }
}

/// The file operations a store performs, named in its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// Creating the store's directory.
    CreateDir,
    /// Opening or locking the lock file.
    Lock,
    /// Removing a temporary file a crashed writer left behind.
    RemoveLeftover,
    /// Reading the store file.
    Read,
    /// Creating a temporary file next to the store file.
    CreateTemp,
    /// Writing the temporary file.
    Write,
    /// Syncing the temporary file to the device.
    Sync,
    /// Renaming the temporary file over the store file.
    Rename,
    /// Replacing the store file at all: refused when it is read-only, or when this user may
    /// not write it.
    Replace,
    /// Syncing the directory, which makes the rename durable.
    SyncDir,
    /// Appending a record to the journal.
    Append,
    /// Syncing the journal after an append. When this fails the record is cut off again;
    /// should even that fail and the process then crash, the unacknowledged record may be
    /// found on the next open (as with [`Op::Restore`]).
    SyncJournal,
    /// Writing a fresh journal after the file was replaced (or removing it, without a
    /// journal). The file then holds the whole state already; the stale journal is ignored
    /// on open and reset before the next write.
    ResetJournal,
    /// Putting the old contents back after [`Op::SyncDir`] failed. When this fails the store
    /// file may hold the new contents while memory holds the old; the next successful write
    /// makes them equal again.
    Restore,
}

impl Op {
    fn verb(self) -> &'static str {
        match self {
            Self::CreateDir => "create the directory",
            Self::Lock => "lock",
            Self::RemoveLeftover => "remove the leftover temporary file",
            Self::Read => "read",
            Self::CreateTemp => "create a temporary file for",
            Self::Write => "write the temporary file for",
            Self::Sync => "sync the temporary file for",
            Self::Rename => "rename the temporary file over",
            Self::Replace => "replace",
            Self::SyncDir => "sync the directory of",
            Self::Restore => "restore the previous contents of",
            Self::Append => "append to",
            Self::SyncJournal => "sync",
            Self::ResetJournal => "reset",
        }
    }
}
