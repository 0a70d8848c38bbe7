use std::fmt;
use std::io;
use std::path::Path;

use kv_core::{Commit, Corrupt, Json, Persist, Stored};

use crate::disk::Disk;
use crate::error::{Error, FileError, Op};
use crate::journal::{self, Record};
use crate::options::Options;

/// The store as one JSON object in one file, with a journal beside it (`<file>.journal`) that
/// every commit appends to and syncs; see [`Options::journal`] for rewriting the file instead.
///
/// [`load`](Persist::load) reads the file and replays the journal over it (no file is an
/// empty store). [`commit`](Persist::commit) appends one record of [`Commit::changes`] and
/// `fdatasync`s it; when the journal has outgrown the file, the commit's
/// [`snapshot`](Commit::snapshot) then replaces the file durably (temporary file, `fsync`,
/// rename, `fsync` of the directory) and the journal starts afresh. It holds the store's lock
/// from [`open`](Self::open) until it is dropped. Unlike [`Kv`](crate::Kv), it does not compact
/// when dropped (it does not hold the state), and it writes one commit per sync.
pub struct FilePersist {
    disk: Disk,
    /// What opening read, handed to the first `load`.
    loaded: Option<Stored>,
}

impl FilePersist {
    /// Locks the store file at `path` with the default [`Options`]; see
    /// [`Options::open_persist`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::open_with(path.as_ref(), &Options::default())
    }

    /// Creates the parent directories, takes the lock, removes temporary files that a
    /// crashed writer left, and reads the file and its journal (a damaged journal is
    /// [`Error::Corrupt`] here).
    pub(crate) fn open_with(path: &Path, options: &Options) -> Result<Self, Error> {
        let (disk, stored) = Disk::open(path, options)?;
        Ok(Self {
            disk,
            loaded: Some(stored_or_corrupt(stored)?),
        })
    }

    /// The store file, as an absolute path.
    pub fn path(&self) -> &Path {
        self.disk.path()
    }
}

impl Persist for FilePersist {
    type Error = FileError;

    async fn load(&mut self) -> Result<Stored, FileError> {
        if let Some(stored) = self.loaded.take() {
            return Ok(stored);
        }
        let stored = journal::read(self.disk.path(), true).map(|found| found.stored);
        stored_or_corrupt(stored).map_err(|e| match e {
            Error::Io(e) => e,
            other => FileError::new(
                Op::Read,
                self.disk.path(),
                io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
            ),
        })
    }

    async fn commit(&mut self, commit: &Commit<'_, impl Json>) -> Result<(), FileError> {
        if !self.disk.journaled() {
            return self.disk.replace_file(&commit.snapshot());
        }
        let mut record = Record::new();
        record.push(commit.clears(), commit.changes());
        self.disk.append(&record.finish())?;
        if self.disk.should_compact() {
            // The commit is durable already; a compaction that fails leaves the journal
            // as it is, to be compacted by a later commit.
            let _ = self.disk.replace_file(&commit.snapshot());
        }
        Ok(())
    }
}

/// What was read, with a damaged journal as [`Stored::Corrupt`] (naming the journal), which
/// the store's open reports as corrupt.
pub(crate) fn stored_or_corrupt(stored: Result<Stored, Error>) -> Result<Stored, Error> {
    match stored {
        Err(Error::Corrupt { path, source }) => Ok(Stored::Corrupt(Corrupt::at(
            source.line,
            source.column,
            format!("{}: {}", path.display(), source.reason),
        ))),
        other => other,
    }
}

impl fmt::Debug for FilePersist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilePersist")
            .field("path", &self.disk.path())
            .finish_non_exhaustive()
    }
}
