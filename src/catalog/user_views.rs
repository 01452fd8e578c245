//! The views and schemas users create (`CREATE VIEW`, `CREATE SCHEMA`): their SQL text saved
//! beside the tables in `<data>/_user_views.json`, so every connection sees them at once (a
//! block's at its COMMIT, durably with its rows) and after a restart. Each session re-creates them when the saved set's generation moves
//! (statement/ddl.rs); a TEMPORARY view stays the session's own and is never saved.

use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::storage::fsutil::write_atomic;
use crate::storage::Description;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

const FILE: &str = "_user_views.json";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Saved {
    /// Schemas in the order they were created.
    pub schemas: Vec<String>,
    /// Views in the order they were (last) created, so one may build on an earlier one.
    pub views: Vec<SavedView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SavedView {
    /// The view's name as its statement resolves it: `schema.view` (lower-cased unless quoted).
    pub name: String,
    /// A `CREATE OR REPLACE VIEW …` statement that re-creates it.
    pub sql: String,
    /// Who created it.
    pub owner: String,
    /// COMMENT ON VIEW / COMMENT ON COLUMN of it: kept across CREATE OR REPLACE and a
    /// rename, as PostgreSQL keeps them on the view's OID.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub descriptions: Vec<Description>,
}

/// One change to the saved set. Outside a block it is applied at once; inside one the block
/// keeps its changes (statement/transaction.rs) and they are applied, all together, by its
/// COMMIT (`UserViews::commit`), so no other session sees them before.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// CREATE VIEW; `replace` for OR REPLACE (and for re-creating what is saved).
    PutView {
        view: SavedView,
        replace: bool,
    },
    DropView(String),
    PutSchema(String),
    /// A schema and, with it, the saved views in it (DROP SCHEMA … CASCADE).
    DropSchema(String),
    /// A view renamed: `to` is its statement under the new name.
    RenameView {
        from: String,
        to: SavedView,
    },
    /// COMMENT ON the view `view` or one of its columns; None removes the description.
    Describe {
        view: String,
        column: Option<String>,
        text: Option<String>,
    },
}

impl Saved {
    /// Applies one change: 42P07 when a CREATE VIEW finds the name taken (another block
    /// committed a view of that name since this one created its own).
    pub fn apply(&mut self, change: &Change) -> Result<()> {
        match change {
            Change::PutView { view, replace } => {
                if !replace && self.views.iter().any(|v| v.name == view.name) {
                    return Err(CipError::invalid(
                        sqlstate::DUPLICATE_TABLE,
                        format!("relation \"{}\" already exists", view.name),
                    ));
                }
                // It moves to the end, after the views it may build on, with what was said
                // of it.
                let mut view = view.clone();
                if let Some(was) = self.view(&view.name) {
                    view.descriptions = was.descriptions.clone();
                }
                self.views.retain(|v| v.name != view.name);
                self.views.push(view);
            }
            Change::DropView(name) => self.views.retain(|v| v.name != *name),
            Change::PutSchema(name) => {
                if !self.schemas.contains(name) {
                    self.schemas.push(name.clone());
                }
            }
            Change::DropSchema(name) => {
                let prefix = format!("{name}.");
                self.schemas.retain(|x| x != name);
                self.views.retain(|v| !v.name.starts_with(&prefix));
            }
            Change::RenameView { from, to } => {
                if let Some(v) = self.views.iter_mut().find(|v| v.name == *from) {
                    let descriptions = std::mem::take(&mut v.descriptions);
                    *v = SavedView {
                        descriptions,
                        ..to.clone()
                    };
                }
            }
            Change::Describe { view, column, text } => {
                let Some(v) = self.views.iter_mut().find(|v| v.name == *view) else {
                    return Err(CipError::invalid(
                        sqlstate::UNDEFINED_TABLE,
                        format!("relation \"{view}\" does not exist"),
                    ));
                };
                v.descriptions.retain(|d| d.column != *column);
                if let Some(text) = text.as_ref().filter(|t| !t.is_empty()) {
                    v.descriptions.push(Description {
                        column: column.clone(),
                        text: text.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// This set with `changes` applied in order.
    pub fn with(&self, changes: &[Change]) -> Result<Saved> {
        let mut next = self.clone();
        for c in changes {
            next.apply(c)?;
        }
        Ok(next)
    }

    /// `with`, skipping a change that no longer applies: what a block sees of the saved set
    /// while it is open (its COMMIT will refuse such a change).
    pub fn overlaid(&self, changes: &[Change]) -> Saved {
        let mut next = self.clone();
        for c in changes {
            let _ = next.apply(c);
        }
        next
    }

    pub fn view(&self, name: &str) -> Option<&SavedView> {
        self.views.iter().find(|v| v.name == name)
    }
}

#[derive(Debug)]
pub struct UserViews {
    path: PathBuf,
    saved: Mutex<Saved>,
    generation: AtomicU64,
}

impl UserViews {
    /// Reads what the data directory holds (nothing yet is an empty set).
    pub fn open(root: &Path) -> Result<UserViews> {
        let path = root.join(FILE);
        let saved = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| CipError::Corrupt(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Saved::default(),
            Err(e) => return Err(CipError::io(format!("read {}", path.display()), e)),
        };
        Ok(UserViews {
            path,
            saved: Mutex::new(saved),
            generation: AtomicU64::new(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Saved> {
        self.saved.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves whenever the saved set changes; sessions compare it with what they last applied.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub fn snapshot(&self) -> (u64, Saved) {
        let saved = self.lock();
        (self.generation(), saved.clone())
    }

    /// Applies `changes` at once (DDL outside a block) and writes the result durably;
    /// nothing changes if a change is refused or the write fails.
    pub fn apply_now(&self, changes: &[Change]) -> Result<()> {
        self.commit(changes, |file| match file {
            Some((path, bytes)) => write_atomic(&path, &bytes),
            None => Ok(()),
        })
    }

    /// A block's COMMIT: the saved set with `changes` applied is handed to `write` (the
    /// storage transaction, which makes it durable together with the block's rows — or
    /// None when the block changed nothing here) and is what every session sees once it
    /// succeeds. The set stays locked meanwhile, so two commits cannot lose each other's
    /// changes.
    pub fn commit(
        &self,
        changes: &[Change],
        write: impl FnOnce(Option<(PathBuf, Vec<u8>)>) -> Result<()>,
    ) -> Result<()> {
        if changes.is_empty() {
            return write(None);
        }
        let mut saved = self.lock();
        let next = saved.with(changes)?;
        let bytes = serde_json::to_vec_pretty(&next)
            .map_err(|e| CipError::Corrupt(format!("cannot encode {FILE}: {e}")))?;
        write(Some((self.path.clone(), bytes)))?;
        *saved = next;
        self.generation.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}
