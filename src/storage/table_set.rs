//! The tables of a data directory as one shared set: the warehouse's own (the layer above
//! defines them) and those created at run time, whose definitions and folders `_tables.json`
//! saves (created.rs).
//!
//! Table DDL changes the set only at a transaction's commit (txn_ddl.rs records it, commit.rs
//! commits it): `prepare` checks the transaction's changes against the set as it is now and
//! computes the next `_tables.json`, which the commit writes together with the rows — in its
//! commit record when there is more than one thing to write — so a crash leaves all of it or
//! none; `publish` then makes it what every session sees. The set's lock is held from one to
//! the other, so two commits cannot lose each other's changes.

use super::created::{self, SavedTable};
use super::table::{StoreOptions, Table};
use super::txn_index::{index_holder, index_taken};
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

/// A folder a transaction made for a table: `_txn_owner` in it names the process, so opening
/// the directory removes it when no table uses it and that process is gone (a block cut short).
const OWNER: &str = "_txn_owner";

/// A folder being removed is first renamed to this prefix and its name: a removal a crash cuts
/// short leaves a name the next open recognises and finishes.
const GONE: &str = ".gone-";

pub(super) type Map = BTreeMap<&'static str, Arc<Table>>;

pub struct TableSet {
    pub(super) root: PathBuf,
    pub(super) opts: StoreOptions,
    map: RwLock<Map>,
    saved: Mutex<Vec<SavedTable>>,
    generation: AtomicU64,
}

/// One table DDL of a transaction: `old` leaves the set, `new` enters it. CREATE TABLE has
/// no `old`, DROP TABLE no `new`; a rename or added columns have both (the new object reads
/// the old one's folder).
#[derive(Clone)]
pub struct TableChange {
    pub(super) old: Option<Arc<Table>>,
    pub(super) new: Option<Arc<Table>>,
}

/// The set as a commit will leave it, checked and not yet visible.
pub(super) struct Publication<'a> {
    set: &'a TableSet,
    saved: MutexGuard<'a, Vec<SavedTable>>,
    next_saved: Vec<SavedTable>,
    next_map: Map,
    replaced: Vec<Arc<Table>>,
}

impl TableSet {
    pub(super) fn new(root: &Path, opts: StoreOptions, map: Map, saved: Vec<SavedTable>) -> Self {
        TableSet {
            root: root.to_path_buf(),
            opts,
            map: RwLock::new(map),
            saved: Mutex::new(saved),
            generation: AtomicU64::new(1),
        }
    }

    pub(super) fn read(&self) -> RwLockReadGuard<'_, Map> {
        self.map.read().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_saved(&self) -> MutexGuard<'_, Vec<SavedTable>> {
        self.saved.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves whenever a table is created, dropped, renamed or given columns.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub fn created_at_run_time(&self, name: &str) -> bool {
        self.lock_saved().iter().any(|t| t.name == name)
    }

    /// A new folder for a table `name` that transaction `txn` creates: named as the table when
    /// that name is free on disk, else after the transaction too. Made at once (so no other
    /// creator takes it), with the owner's mark.
    pub(super) fn reserve_folder(&self, name: &str, txn: &str) -> Result<PathBuf> {
        let mut dir = self.root.join(name);
        if let Err(e) = std::fs::create_dir(&dir) {
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                return Err(CipError::io(format!("create {}", dir.display()), e));
            }
            dir = self.root.join(format!("{name}~{txn}"));
            std::fs::create_dir(&dir)
                .map_err(|e| CipError::io(format!("create {}", dir.display()), e))?;
        }
        let owner = std::process::id().to_string();
        std::fs::write(dir.join(OWNER), owner)
            .map_err(|e| CipError::io(format!("mark {}", dir.display()), e))?;
        Ok(dir)
    }

    /// Checks `changes` against the set as it is now: 42P07 for a name taken meanwhile, 40001
    /// for a table another transaction dropped, renamed or altered since this one changed it.
    pub(super) fn prepare(&self, changes: &[TableChange]) -> Result<Publication<'_>> {
        let saved = self.lock_saved();
        let mut next_saved = saved.clone();
        let mut next_map = self.read().clone();
        let mut replaced = Vec::new();
        for c in changes {
            if let Some(old) = &c.old {
                let name = old.name();
                let current = next_map.get(name).is_some_and(|t| Arc::ptr_eq(t, old));
                let at = next_saved.iter().position(|t| t.name == name);
                let (true, Some(at)) = (current, at) else {
                    return Err(CipError::invalid(
                        sqlstate::SERIALIZATION_FAILURE,
                        format!(
                            "\"{name}\" was dropped, renamed or altered by another transaction \
                             since this one changed it; retry"
                        ),
                    ));
                };
                next_saved.remove(at);
                next_map.remove(name);
                replaced.push(old.clone());
            }
            if let Some(new) = &c.new {
                if next_map.contains_key(new.name()) {
                    return Err(CipError::invalid(
                        sqlstate::DUPLICATE_TABLE,
                        format!("relation \"{}\" already exists", new.name()),
                    ));
                }
                next_saved.push(SavedTable::of_table(new));
                next_map.insert(new.name(), new.clone());
            }
        }
        // An index name another transaction took meanwhile (checked on the tables as the
        // commit leaves them: a table changed twice passes through objects it replaces).
        let kept = changes.iter().filter_map(|c| c.new.as_ref());
        for new in kept.filter(|n| next_map.get(n.name()).is_some_and(|t| Arc::ptr_eq(t, n))) {
            for index in new.def.indexes {
                let others = next_map.values().filter(|t| !Arc::ptr_eq(t, new));
                if index_holder(others, new.name(), &index.name).is_some() {
                    return Err(index_taken(&index.name));
                }
            }
        }
        Ok(Publication {
            set: self,
            saved,
            next_saved,
            next_map,
            replaced,
        })
    }
}

impl Publication<'_> {
    /// The `_tables.json` the commit writes.
    pub(super) fn file(&self) -> Result<(PathBuf, Vec<u8>)> {
        Ok((
            created::path(&self.set.root),
            created::encode(&self.next_saved)?,
        ))
    }

    /// Whether a table of the set after the commit reads `dir`.
    pub(super) fn uses(&self, dir: &Path) -> bool {
        self.next_map.values().any(|t| t.dir == dir)
    }

    /// After the commit point: every session sees the new set; the objects replaced refuse
    /// writes from now on (40001), and the folders no table reads any more are removed.
    pub(super) fn publish(mut self) {
        let set = self.set;
        *set.map.write().unwrap_or_else(|p| p.into_inner()) = self.next_map;
        *self.saved = self.next_saved;
        let map = set.read();
        for old in &self.replaced {
            old.stale.store(true, Ordering::SeqCst);
            if !map.values().any(|t| t.dir == old.dir) {
                // A scan of the dropped table already running may fail, as a DROP in
                // PostgreSQL waits for it instead.
                if let Err(e) = discard(&old.dir) {
                    tracing::warn!(
                        "{}: removing a dropped table failed: {e}",
                        old.dir.display()
                    );
                }
            }
        }
        set.generation.fetch_add(1, Ordering::SeqCst);
    }
}

/// At open: folders no table uses that a transaction made for a table it did not commit (the
/// process its mark names is gone), or that hold nothing — a folder cut short between its
/// making and its mark, or a dropped table's that a writer's lock file kept from going.
pub(super) fn sweep_unused(root: &Path, used: &[PathBuf]) -> Result<()> {
    let entries =
        std::fs::read_dir(root).map_err(|e| CipError::io(format!("list {}", root.display()), e))?;
    for entry in entries.filter_map(|e| e.ok()) {
        let dir = entry.path();
        if used.contains(&dir) || !dir.is_dir() {
            continue;
        }
        if entry.file_name().to_string_lossy().starts_with(GONE) {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| CipError::io(format!("remove {}", dir.display()), e))?;
            continue;
        }
        let abandoned = match std::fs::read_to_string(dir.join(OWNER)) {
            // Our own pid at open is a dead process's that had it before us.
            Ok(pid) if !pid.trim().is_empty() => {
                let pid = pid.trim();
                pid == std::process::id().to_string() || !Path::new("/proc").join(pid).exists()
            }
            _ => holds_nothing(&dir),
        };
        if abandoned {
            discard(&dir).map_err(|e| CipError::io(format!("remove {}", dir.display()), e))?;
            tracing::info!(
                "removed {}: a table no transaction committed",
                dir.display()
            );
        }
    }
    Ok(())
}

/// Removes a table's folder: renamed aside first, then removed.
pub(super) fn discard(dir: &Path) -> std::io::Result<()> {
    let Some(name) = dir.file_name() else {
        return Ok(());
    };
    let aside = dir.with_file_name(format!("{GONE}{}", name.to_string_lossy()));
    if aside.exists() {
        std::fs::remove_dir_all(&aside)?;
    }
    std::fs::rename(dir, &aside)?;
    std::fs::remove_dir_all(&aside)
}

/// No manifest, no data: at most a lock file and an empty mark.
fn holds_nothing(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries
        .filter_map(|e| e.ok())
        .all(|e| e.file_name() == "_lock" || e.file_name() == OWNER)
}
