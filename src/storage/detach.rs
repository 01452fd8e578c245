//! Tables that earlier versions moved aside: their DROP TABLE in a block moved the folder to
//! `_dropped/` until COMMIT and named it in `_dropped/_pending.json`. A directory such a
//! version left after a crash inside the block still has it there: opening puts it back, as
//! that version would have. (A drop now is one write of `_tables.json` at COMMIT:
//! table_set.rs.)

use super::created::{self, SavedTable};
use super::fsutil::{fsync_dir, write_atomic};
use crate::error::{CipError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

const DIR: &str = "_dropped";
const PENDING: &str = "_pending.json";

/// A table moved aside by DROP TABLE in a block.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Detached {
    saved: SavedTable,
    /// Its folder's name under `_dropped/`.
    folder: String,
}

fn read_pending(root: &Path) -> Result<Vec<Detached>> {
    let path = root.join(DIR).join(PENDING);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| CipError::Corrupt(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
        Err(e) => Err(CipError::io(format!("read {}", path.display()), e)),
    }
}

fn write_pending(root: &Path, pending: &[Detached]) -> Result<()> {
    let dir = root.join(DIR);
    std::fs::create_dir_all(&dir)
        .map_err(|e| CipError::io(format!("create {}", dir.display()), e))?;
    let bytes = serde_json::to_vec_pretty(pending)
        .map_err(|e| CipError::Corrupt(format!("cannot encode {PENDING}: {e}")))?;
    write_atomic(&dir.join(PENDING), &bytes)
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| CipError::io(format!("move {}", from.display()), e))
}

/// At open, before the run-time tables are read: puts back every table a block moved aside
/// and did not let go, in `saved` (the list `_tables.json` holds) too.
pub(super) fn restore_all(root: &Path, saved: &mut Vec<SavedTable>) -> Result<()> {
    let pending = read_pending(root)?;
    if pending.is_empty() {
        return Ok(());
    }
    for d in &pending {
        let (aside, home) = (root.join(DIR).join(&d.folder), root.join(&d.saved.name));
        if aside.exists() && !home.exists() {
            rename(&aside, &home)?;
        }
        if home.exists() && !saved.iter().any(|t| t.name == d.saved.name) {
            saved.push(d.saved.clone());
        }
    }
    fsync_dir(root)?;
    created::save(root, saved)?;
    tracing::info!(
        "put back {} table(s) dropped by blocks that did not commit",
        pending.len()
    );
    write_pending(root, &[])
}
