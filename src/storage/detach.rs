//! DROP TABLE inside a transaction block: the table leaves the store at once (as DDL in a block
//! does), but its folder is only moved aside, to `_dropped/`, so a block that does not commit
//! puts it back whole, and its files go only when the block commits. `_dropped/_pending.json`
//! names the tables moved aside and not yet let go: opening the store puts them back (a block
//! cut short by a crash did not commit), so no crash loses a table a block dropped.

use super::created::{self, SavedTable};
use super::fsutil::{fsync_dir, write_atomic};
use super::Store;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const DIR: &str = "_dropped";
const PENDING: &str = "_pending.json";
static NEXT: AtomicU64 = AtomicU64::new(1);

/// A table moved aside by DROP TABLE in a block.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Detached {
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

impl Store {
    /// Takes a table created at run time out of the store, its folder moved aside (see the
    /// module's docs); `reattach` puts it back, `let_go` removes it for good.
    pub fn detach_table(&self, name: &str) -> Result<Detached> {
        let mut tables = self.tables.write().unwrap_or_else(|p| p.into_inner());
        let mut run_time = self.run_time.lock().unwrap_or_else(|p| p.into_inner());
        let Some(at) = run_time.iter().position(|t| t.name == name) else {
            return Err(CipError::invalid(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!("\"{name}\" was not created with CREATE TABLE and cannot be dropped"),
            ));
        };
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let detached = Detached {
            saved: run_time[at].clone(),
            folder: format!("{name}.{}.{n}", std::process::id()),
        };
        // Named in the pending list before it moves: a crash from here on puts it back.
        let mut pending = read_pending(&self.root)?;
        pending.push(detached.clone());
        write_pending(&self.root, &pending)?;
        rename(&self.root.join(name), &self.aside(&detached))?;
        fsync_dir(&self.root)?;
        let mut next = run_time.clone();
        next.remove(at);
        created::save(&self.root, &next)?;
        *run_time = next;
        if let Some(table) = tables.remove(name) {
            table.stale.store(true, Ordering::SeqCst);
        }
        self.generation.fetch_add(1, Ordering::SeqCst);
        Ok(detached)
    }

    /// Puts a detached table back under its name (42P07 if the name was taken since).
    pub fn reattach_table(&self, detached: &Detached) -> Result<()> {
        let mut tables = self.tables.write().unwrap_or_else(|p| p.into_inner());
        let mut run_time = self.run_time.lock().unwrap_or_else(|p| p.into_inner());
        let name = detached.saved.name.as_str();
        if tables.contains_key(name) {
            return Err(CipError::invalid(
                sqlstate::DUPLICATE_TABLE,
                format!("cannot put back \"{name}\": another table has its name now"),
            ));
        }
        let home = self.root.join(name);
        rename(&self.aside(detached), &home)?;
        fsync_dir(&self.root)?;
        let mut next = run_time.clone();
        next.push(detached.saved.clone());
        created::save(&self.root, &next)?;
        *run_time = next;
        self.forget_pending(detached)?;
        let table = self.run_time_table(detached.saved.def()?, home);
        tables.insert(table.name(), table);
        self.generation.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// Removes a detached table's files for good (its block committed).
    pub fn let_go(&self, detached: &Detached) -> Result<()> {
        let _serial = self.run_time.lock().unwrap_or_else(|p| p.into_inner());
        let aside = self.aside(detached);
        if aside.exists() {
            std::fs::remove_dir_all(&aside)
                .map_err(|e| CipError::io(format!("remove {}", aside.display()), e))?;
        }
        self.forget_pending(detached)
    }

    fn aside(&self, detached: &Detached) -> PathBuf {
        self.root.join(DIR).join(&detached.folder)
    }

    /// Callers hold `run_time`'s lock, which serialises every change of the pending list.
    fn forget_pending(&self, detached: &Detached) -> Result<()> {
        let mut pending = read_pending(&self.root)?;
        pending.retain(|d| d.folder != detached.folder);
        write_pending(&self.root, &pending)
    }
}

/// Lets `store` be captured by a block's undo and finish steps.
pub fn undo_and_finish(
    store: &Arc<Store>,
    detached: Detached,
) -> (super::txn::Undo, super::txn::Undo) {
    let (s1, d1) = (store.clone(), detached.clone());
    let (s2, d2) = (store.clone(), detached);
    (
        Box::new(move || s1.reattach_table(&d1)),
        Box::new(move || s2.let_go(&d2)),
    )
}
