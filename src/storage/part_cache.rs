//! What is read once from a part and kept (its footer statistics, its page index): a part
//! never changes under its name, so an entry stays right until the part is gone.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Debug)]
pub(super) struct PartCache<T> {
    by_path: Mutex<HashMap<PathBuf, Arc<T>>>,
}

impl<T> Default for PartCache<T> {
    fn default() -> Self {
        PartCache {
            by_path: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> PartCache<T> {
    /// The entry of the part at `path`, made by `load` the first time (outside the lock:
    /// it reads the file).
    pub(super) fn get_or<E>(
        &self,
        path: &Path,
        load: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        if let Some(entry) = self.lock().get(path) {
            return Ok(Arc::clone(entry));
        }
        let entry = Arc::new(load()?);
        self.lock().insert(path.to_path_buf(), Arc::clone(&entry));
        Ok(entry)
    }

    /// Parts compacted or rewritten away are not asked about again; keeping their entries
    /// until the cache is well past the table's parts spares a reader of an older version
    /// from reading them again.
    pub(super) fn forget_all_but(&self, paths: &[PathBuf]) {
        let mut by_path = self.lock();
        if by_path.len() > 2 * paths.len() + 16 {
            by_path.retain(|p, _| paths.contains(p));
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<PathBuf, Arc<T>>> {
        self.by_path.lock().unwrap_or_else(|e| e.into_inner())
    }
}
