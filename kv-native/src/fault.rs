//! A seam through which tests make one step of a durable replace fail, as a full disk or a
//! failing device would. Not part of the supported API.
//!
//! With no hook installed (always, outside tests) each step costs one branch on a `None`.

use std::fmt;
use std::io;
use std::sync::Arc;

/// One step of writing the store file or its journal. A replace of the file is `CreateTemp`,
/// `Write`, `Sync`, `Rename`, `SyncDir`; a commit to the journal is `Append`, `SyncJournal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// Creating the temporary file.
    CreateTemp,
    /// Writing the new contents into it.
    Write,
    /// `fsync` of the temporary file.
    Sync,
    /// Renaming it over the store file.
    Rename,
    /// `fsync` of the directory, which makes the rename durable.
    SyncDir,
    /// Appending a record to the journal.
    Append,
    /// `fdatasync` of the journal after an append.
    SyncJournal,
    /// Writing a fresh journal (after a compaction, or before the first append).
    ResetJournal,
}

/// Called before each [`Step`]; an `Err` is reported as that step's failure.
#[derive(Clone)]
pub struct Hook(Arc<dyn Fn(Step) -> io::Result<()> + Send + Sync>);

impl Hook {
    /// A hook that calls `f`.
    pub fn new(f: impl Fn(Step) -> io::Result<()> + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    pub(crate) fn before(hook: Option<&Self>, step: Step) -> io::Result<()> {
        match hook {
            Some(hook) => (hook.0)(step),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hook(..)")
    }
}
