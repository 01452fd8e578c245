//! Tables created at run time (`CREATE TABLE`): durable like any other table (a folder of
//! Parquet parts, log and manifest), their definitions — name, columns and folder — saved in
//! `<data>/_tables.json` so a restart opens them again. A table's folder is named after it
//! when it is created, and keeps that name through renames: a rename or a drop is one write of
//! this list, which a transaction's commit makes together with its rows (table_set.rs).

use super::def::TableDef;
use super::fsutil::write_atomic;
use crate::error::{CipError, Result};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

const FILE: &str = "_tables.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedTable {
    pub name: String,
    /// (column, Arrow type as Arrow writes it, nullable)
    pub columns: Vec<(String, String, bool)>,
    /// Its folder under the data directory, when not named as the table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    /// Written by earlier versions, whose renames moved the folder: the folder before a rename
    /// a crash may have interrupted, which opening finishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<String>,
}

impl SavedTable {
    pub fn of(name: &str, schema: &Schema) -> SavedTable {
        SavedTable {
            name: name.to_string(),
            columns: schema
                .fields()
                .iter()
                .map(|f| (f.name().clone(), f.data_type().to_string(), f.is_nullable()))
                .collect(),
            folder: None,
            moved_from: None,
        }
    }

    /// The saved form of a table object: its definition and folder.
    pub fn of_table(table: &super::table::Table) -> SavedTable {
        let mut saved = SavedTable::of(table.name(), &table.def.schema);
        let folder = table
            .dir
            .file_name()
            .map(|f| f.to_string_lossy().into_owned());
        if folder.as_deref() != Some(table.name()) {
            saved.folder = folder;
        }
        saved
    }

    /// The folder under `root` that holds the table.
    pub fn dir(&self, root: &Path) -> std::path::PathBuf {
        root.join(self.folder.as_deref().unwrap_or(&self.name))
    }

    /// The definition storage keeps: no key, defaults or constraints. The name lives as long
    /// as the process (definitions name tables by `&'static str`; a table is created once).
    pub fn def(&self) -> Result<TableDef> {
        let fields = self
            .columns
            .iter()
            .map(|(name, ty, nullable)| {
                let ty = DataType::from_str(ty).map_err(|e| {
                    CipError::Corrupt(format!("{FILE}: {}.{name}: type {ty:?}: {e}", self.name))
                })?;
                Ok(Field::new(name, ty, *nullable))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(TableDef {
            name: Box::leak(self.name.clone().into_boxed_str()),
            schema: Arc::new(Schema::new(fields)),
            key: &[],
            unique: false,
            defaults: &[],
            domains: &[],
            references: &[],
        })
    }
}

pub fn load(root: &Path) -> Result<Vec<SavedTable>> {
    let path = root.join(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| CipError::Corrupt(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
        Err(e) => Err(CipError::io(format!("read {}", path.display()), e)),
    }
}

pub fn save(root: &Path, tables: &[SavedTable]) -> Result<()> {
    write_atomic(&path(root), &encode(tables)?)
}

pub fn path(root: &Path) -> std::path::PathBuf {
    root.join(FILE)
}

pub fn encode(tables: &[SavedTable]) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(tables)
        .map_err(|e| CipError::Corrupt(format!("cannot encode {FILE}: {e}")))
}
