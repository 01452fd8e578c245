//! The views and schemas users create (`CREATE VIEW`, `CREATE SCHEMA`): their SQL text saved
//! beside the tables in `<data>/_user_views.json`, so every connection sees them at once and
//! after a restart. Each session re-creates them when the saved set's generation moves
//! (statement/ddl.rs); a TEMPORARY view stays the session's own and is never saved.

use crate::error::{CipError, Result};
use crate::storage::fsutil::write_atomic;
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
}

/// Some views and schemas as they were saved (None / false: not saved).
#[derive(Debug, Clone)]
pub struct Before {
    views: Vec<(String, Option<SavedView>)>,
    schemas: Vec<(String, bool)>,
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

    /// Applies `change` and writes the result durably; nothing changes if the write fails.
    fn update(&self, change: impl FnOnce(&mut Saved)) -> Result<()> {
        let mut saved = self.lock();
        let mut next = saved.clone();
        change(&mut next);
        let bytes = serde_json::to_vec_pretty(&next)
            .map_err(|e| CipError::Corrupt(format!("cannot encode {FILE}: {e}")))?;
        write_atomic(&self.path, &bytes)?;
        *saved = next;
        self.generation.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// Saves (or replaces) a view; it moves to the end, after the views it may build on.
    pub fn put_view(&self, view: SavedView) -> Result<()> {
        self.update(|s| {
            s.views.retain(|v| v.name != view.name);
            s.views.push(view);
        })
    }

    pub fn drop_view(&self, name: &str) -> Result<()> {
        self.update(|s| s.views.retain(|v| v.name != name))
    }

    pub fn put_schema(&self, name: &str) -> Result<()> {
        if self.lock().schemas.iter().any(|s| s == name) {
            return Ok(());
        }
        self.update(|s| s.schemas.push(name.to_string()))
    }

    /// Drops a schema and, with it, the saved views in it (DROP SCHEMA … CASCADE).
    pub fn drop_schema(&self, name: &str) -> Result<()> {
        let prefix = format!("{name}.");
        self.update(|s| {
            s.schemas.retain(|x| x != name);
            s.views.retain(|v| !v.name.starts_with(&prefix));
        })
    }

    /// Renames a saved view: `sql` is its statement under the new name.
    pub fn rename_view(&self, from: &str, to: SavedView) -> Result<()> {
        self.update(|s| {
            if let Some(v) = s.views.iter_mut().find(|v| v.name == from) {
                *v = to;
            }
        })
    }

    /// What is saved now of the views and schemas named: for `restore`.
    pub fn before(&self, views: &[String], schemas: &[String]) -> Before {
        let saved = self.lock();
        Before {
            views: views
                .iter()
                .map(|n| {
                    (
                        n.clone(),
                        saved.views.iter().find(|v| &v.name == n).cloned(),
                    )
                })
                .collect(),
            schemas: schemas
                .iter()
                .map(|n| (n.clone(), saved.schemas.contains(n)))
                .collect(),
        }
    }

    /// Puts the views and schemas `before` names back as they were (a block that changed
    /// them did not commit); what else changed meanwhile stays.
    pub fn restore(&self, before: Before) -> Result<()> {
        self.update(|s| {
            for (schema, had) in before.schemas {
                s.schemas.retain(|x| *x != schema);
                if had {
                    s.schemas.push(schema);
                }
            }
            for (name, view) in before.views {
                s.views.retain(|v| v.name != name);
                s.views.extend(view);
            }
        })
    }

    pub fn view(&self, name: &str) -> Option<SavedView> {
        self.lock().views.iter().find(|v| v.name == name).cloned()
    }

    pub fn has_view(&self, name: &str) -> bool {
        self.lock().views.iter().any(|v| v.name == name)
    }
}
