//! What a store path must name: a file, not a directory.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, is_separator};

use crate::error::{FileError, Op};

/// The file name `path` ends in. A path that ends in a separator (`newdir/`) names a
/// directory, even though [`Path::file_name`] ignores the separator: it is refused, rather than
/// taken for a file called `newdir`.
pub(crate) fn file_name(path: &Path) -> Result<&OsStr, FileError> {
    let trailing = path
        .as_os_str()
        .to_str()
        .and_then(|p| p.chars().last())
        .is_some_and(is_separator);
    match path.file_name() {
        Some(name) if !trailing => Ok(name),
        _ => Err(FileError::new(
            Op::Read,
            path,
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path names a directory, not a store file",
            ),
        )),
    }
}
