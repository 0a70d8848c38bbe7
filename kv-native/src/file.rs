use std::fmt;
use std::fs::{self, File};
use std::io;
use std::path::Path;

use kv_core::{Commit, Json, Persist, Stored};

use crate::error::{Error, FileError, Op};
use crate::fault::Hook;
use crate::lock;
use crate::options::Options;
use crate::replace::{self, Target};

/// The store as one JSON object in one file, replaced durably and atomically on every commit.
///
/// A snapshot adapter: [`load`](Persist::load) reads the whole file (no file is an empty
/// store) and [`commit`](Persist::commit) writes [`Commit::snapshot`] through a temporary file,
/// `fsync`, rename and an `fsync` of the directory. It holds the store's lock from
/// [`open`](Self::open) until it is dropped.
pub struct FilePersist {
    target: Target,
    /// Permission bits for the store file if it does not exist yet.
    new_mode: u32,
    hook: Option<Hook>,
    /// Held, never read: the lock lasts as long as this file stays open.
    _lock: File,
}

impl FilePersist {
    /// Locks the store file at `path` with the default [`Options`]; see
    /// [`Options::open_persist`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::open_with(path.as_ref(), &Options::default())
    }

    /// Creates the parent directories, takes the lock, and removes temporary files that a
    /// crashed writer left. Reads nothing yet: the store does, through [`Persist::load`].
    pub(crate) fn open_with(path: &Path, options: &Options) -> Result<Self, Error> {
        let target = resolve(path)?;
        let lock = lock::acquire(&target.path, options.lock, options.mode)?;
        target.remove_leftovers()?;
        Ok(Self {
            target,
            new_mode: options.mode,
            hook: options.hook.clone(),
            _lock: lock,
        })
    }

    /// The store file, as an absolute path.
    pub fn path(&self) -> &Path {
        &self.target.path
    }
}

/// Makes `path` absolute, through symbolic links, so that a rename replaces the file the user
/// meant rather than a link to it, and so that a later change of directory changes nothing.
fn resolve(path: &Path) -> Result<Target, Error> {
    let dir = parent_dir(path);
    let name = crate::path::file_name(path)?;
    create_dirs(dir)?;
    let path = match fs::canonicalize(path) {
        Ok(path) => path,
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::canonicalize(dir)
            .map_err(|e| FileError::new(Op::CreateDir, dir, e))?
            .join(name),
        Err(e) => return Err(FileError::new(Op::Read, path, e).into()),
    };
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => Ok(Target {
            dir: dir.to_path_buf(),
            name: name.to_os_string(),
            path: path.clone(),
        }),
        _ => {
            let e = io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file");
            Err(FileError::new(Op::Read, path, e).into())
        }
    }
}

/// Creates `dir` and any missing parents, durably: each new directory's entry is synced in
/// its parent, so a store written into it cannot vanish with it after a power loss.
fn create_dirs(dir: &Path) -> Result<(), FileError> {
    // A relative path's ancestors end in "", which is "." and exists: stop there, so that
    // "." is synced once, as the parent of the first missing directory.
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(|e| FileError::new(Op::CreateDir, dir, e))?;
    for created in missing.iter().rev() {
        replace::sync_dir(parent_dir(created), None)
            .map_err(|e| FileError::new(Op::CreateDir, *created, e))?;
    }
    Ok(())
}

/// The directory `path` is in: its parent, or "." for a bare file name.
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

impl Persist for FilePersist {
    type Error = FileError;

    async fn load(&mut self) -> Result<Stored, FileError> {
        match fs::read(&self.target.path) {
            Ok(bytes) => Ok(Stored::Snapshot(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Stored::Nothing),
            Err(e) => Err(FileError::new(Op::Read, &self.target.path, e)),
        }
    }

    async fn commit(&mut self, commit: &Commit<'_, impl Json>) -> Result<(), FileError> {
        let bytes = commit.snapshot();
        replace::replace(&self.target, &bytes, self.new_mode, self.hook.as_ref())
    }
}

impl fmt::Debug for FilePersist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilePersist")
            .field("path", &self.target.path)
            .finish_non_exhaustive()
    }
}
