//! Tables created at run time (`CREATE TABLE`): durable like any other table (a folder of
//! Parquet parts, log and manifest), their definitions — name and columns — saved in
//! `<data>/_tables.json` so a restart opens them again.

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
    /// The folder the table had before a rename that a crash may have interrupted: opening
    /// moves it to the new name if it is still there.
    #[serde(default)]
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
            moved_from: None,
        }
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
    let bytes = serde_json::to_vec_pretty(tables)
        .map_err(|e| CipError::Corrupt(format!("cannot encode {FILE}: {e}")))?;
    write_atomic(&root.join(FILE), &bytes)
}
