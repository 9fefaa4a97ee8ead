//! The directory an index lives in: of this replica's own, locked
//! against a second process, and swept when a gone process left one.

use std::fs::File;
use std::path::{Path, PathBuf};

/// Where the index lives: a directory of this replica's own, locked
/// against a second process for as long as the index is open.
#[derive(Debug)]
pub(super) struct IndexDirectory {
    root: Root,
    _lock: File,
}

#[derive(Debug)]
pub(super) enum Root {
    /// Removed when the index is dropped, or by the next start after a
    /// process that ended without dropping it (see [`IndexDirectory::sweep`]).
    Temporary(tempfile::TempDir),
    /// A directory the operator gave (in Kubernetes, an emptyDir).
    Given(PathBuf),
}

impl Root {
    pub(super) fn path(&self) -> &Path {
        match self {
            Self::Temporary(dir) => dir.path(),
            Self::Given(path) => path,
        }
    }
}

/// Why the index directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("search index directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "search index directory {0} is in use by another process; give every replica a \
         directory of its own"
    )]
    InUse(PathBuf),
}

impl IndexDirectory {
    pub(super) const LOCK: &'static str = ".blangkon-search.lock";
    pub(super) const TEMPORARY_PREFIX: &'static str = "blangkon-search-";

    /// Removes the temporary index directories of processes that are gone
    /// (killed, or ended without dropping their index): those a minute old
    /// whose lock nobody holds.
    pub(super) fn sweep(temp_root: &Path) {
        let Ok(entries) = std::fs::read_dir(temp_root) else {
            return;
        };
        for entry in entries.flatten() {
            if !entry
                .file_name()
                .to_string_lossy()
                .starts_with(Self::TEMPORARY_PREFIX)
            {
                continue;
            }
            let path = entry.path();
            // Only directories a minute old are looked at: a younger one may
            // be another process's being made, whose lock file exists but
            // is not locked yet (taking it now would make that process
            // find its own directory in use, or lose it).
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|at| at.elapsed().ok())
                .is_some_and(|age| age > std::time::Duration::from_secs(60));
            let stale = old
                && match File::open(path.join(Self::LOCK)) {
                    Ok(lock) => lock.try_lock().is_ok(),
                    Err(_) => true,
                };
            if stale {
                match std::fs::remove_dir_all(&path) {
                    Ok(()) => {
                        tracing::info!(path = %path.display(), "removed a stale search index")
                    }
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "could not remove a stale search index")
                    }
                }
            }
        }
    }

    /// A fresh temporary directory, or `given` emptied: the index is
    /// rebuilt at every start, so what an earlier process left is stale.
    /// Returns it with the path to create the index in.
    pub(super) fn open(given: Option<&Path>) -> Result<(Self, PathBuf), DirectoryError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| DirectoryError::Io { path, source }
        };
        let root = match given {
            None => {
                let temp_root = std::env::temp_dir();
                Self::sweep(&temp_root);
                let temp = tempfile::Builder::new()
                    .prefix(Self::TEMPORARY_PREFIX)
                    .tempdir()
                    .map_err(io(&temp_root))?;
                Root::Temporary(temp)
            }
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(io(dir))?;
                Root::Given(dir.to_path_buf())
            }
        };
        let dir = root.path();
        let lock_path = dir.join(Self::LOCK);
        let lock = File::create(&lock_path).map_err(io(&lock_path))?;
        lock.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => DirectoryError::InUse(dir.to_path_buf()),
            std::fs::TryLockError::Error(e) => io(&lock_path)(e),
        })?;
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let entry = entry.map_err(io(dir))?;
            if entry.file_name() == Self::LOCK {
                continue;
            }
            let path = entry.path();
            let removed = if entry.file_type().map_err(io(&path))?.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.map_err(io(&path))?;
        }
        let index = dir.join("index");
        std::fs::create_dir(&index).map_err(io(&index))?;
        Ok((Self { root, _lock: lock }, index))
    }

    pub(super) fn path(&self) -> &Path {
        self.root.path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temporary_directory_left_by_a_gone_process_is_swept_and_a_live_one_kept() {
        let root = tempfile::tempdir().unwrap();
        let two_minutes_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
        let aged = |dir: &Path| {
            File::open(dir)
                .unwrap()
                .set_modified(two_minutes_ago)
                .unwrap()
        };
        let gone = root.path().join("blangkon-search-gone");
        std::fs::create_dir_all(gone.join("index")).unwrap();
        File::create(gone.join(IndexDirectory::LOCK)).unwrap();
        aged(&gone);
        let live = root.path().join("blangkon-search-live");
        std::fs::create_dir_all(&live).unwrap();
        let held = File::create(live.join(IndexDirectory::LOCK)).unwrap();
        held.try_lock().unwrap();
        aged(&live);
        let making = root.path().join("blangkon-search-making");
        std::fs::create_dir_all(&making).unwrap();
        // Another process's, its lock file made but not locked yet.
        let locking = root.path().join("blangkon-search-locking");
        std::fs::create_dir_all(&locking).unwrap();
        File::create(locking.join(IndexDirectory::LOCK)).unwrap();
        let other = root.path().join("someone-else");
        std::fs::create_dir_all(&other).unwrap();
        IndexDirectory::sweep(root.path());
        assert!(!gone.exists(), "nobody holds its lock");
        assert!(live.exists(), "its process holds the lock");
        assert!(making.exists(), "too young to tell");
        assert!(locking.exists(), "too young to tell, though unlocked");
        assert!(other.exists(), "not ours");
    }
}
