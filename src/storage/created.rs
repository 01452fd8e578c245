//! Tables created at run time (`CREATE TABLE`): durable like any other table (a folder of
//! Parquet parts, log and manifest), their definitions — name, columns and folder — saved in
//! `<data>/_tables.json` so a restart opens them again, with what the statement declared
//! beyond the columns (a primary key, defaults). A table's folder is named after it
//! when it is created, and keeps that name through renames: a rename or a drop is one write of
//! this list, which a transaction's commit makes together with its rows (table_set.rs).

use super::def::{ColumnDefault, Description, IndexDef, Layout, TableDef};
use super::fsutil::write_atomic;
use crate::error::{CipError, Result};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

const FILE: &str = "_tables.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedTable {
    pub name: String,
    /// (column, Arrow type as Arrow writes it, nullable)
    pub columns: Vec<(String, String, bool)>,
    /// The columns' Arrow field metadata, where there is any (a type declared over an Arrow
    /// type, crate::column_types): kept as given, read by nobody here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<(String, BTreeMap<String, String>)>,
    /// Its folder under the data directory, when not named as the table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    /// Written by earlier versions, whose renames moved the folder: the folder before a rename
    /// a crash may have interrupted, which opening finishes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<String>,
    #[serde(flatten)]
    pub declared: Declared,
}

/// What a CREATE TABLE declared beyond its columns, as storage keeps and enforces it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Declared {
    /// The primary key: unique on every write, its columns NOT NULL.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub defaults: Vec<(String, DeclaredDefault)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<IndexDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub descriptions: Vec<Description>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclaredDefault {
    /// serial / GENERATED … AS IDENTITY: the table's next id.
    Serial,
    /// now() / CURRENT_TIMESTAMP.
    Now,
    /// gen_random_uuid().
    RandomUuid,
    /// A constant, as text read in the column's type.
    Value(String),
}

impl Declared {
    /// What `def` declares (the inverse of SavedTable::def).
    pub fn of(def: &TableDef) -> Declared {
        let defaults = def.defaults.iter().filter_map(|(c, d)| {
            let d = match d {
                ColumnDefault::None => return None,
                ColumnDefault::AutoId => DeclaredDefault::Serial,
                ColumnDefault::Now => DeclaredDefault::Now,
                ColumnDefault::RandomUuid => DeclaredDefault::RandomUuid,
                ColumnDefault::Literal(v) => DeclaredDefault::Value(v.to_string()),
            };
            Some((c.to_string(), d))
        });
        Declared {
            key: def.key.iter().map(|k| k.to_string()).collect(),
            defaults: defaults.collect(),
            indexes: def.indexes.to_vec(),
            descriptions: def.descriptions.to_vec(),
        }
    }
}

/// `s` for as long as the process lives: definitions name things by `&'static str`, and a
/// table's definition is made once per CREATE, ALTER or open.
fn forever(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
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
            metadata: schema
                .fields()
                .iter()
                .filter(|f| !f.metadata().is_empty())
                .map(|f| (f.name().clone(), field_metadata(f)))
                .collect(),
            folder: None,
            moved_from: None,
            declared: Declared::default(),
        }
    }

    /// The saved form of `def` under `name` (a rename keeps what the table declared).
    pub fn of_def(name: &str, def: &TableDef) -> SavedTable {
        SavedTable {
            declared: Declared::of(def),
            ..SavedTable::of(name, &def.schema)
        }
    }

    /// The saved form of a table object: its definition and folder.
    pub fn of_table(table: &super::table::Table) -> SavedTable {
        let mut saved = SavedTable::of_def(table.name(), &table.def);
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

    /// The definition storage keeps: the declared key (enforced unique) and defaults.
    pub fn def(&self) -> Result<TableDef> {
        let fields = self
            .columns
            .iter()
            .map(|(name, ty, nullable)| {
                let ty = DataType::from_str(ty).map_err(|e| {
                    CipError::Corrupt(format!("{FILE}: {}.{name}: type {ty:?}: {e}", self.name))
                })?;
                let metadata = self.metadata.iter().find(|(c, _)| c == name);
                let metadata = metadata.map(|(_, m)| m.clone().into_iter().collect());
                Ok(Field::new(name, ty, *nullable).with_metadata(metadata.unwrap_or_default()))
            })
            .collect::<Result<Vec<_>>>()?;
        let key: Vec<&'static str> = self.declared.key.iter().map(|k| forever(k)).collect();
        let defaults: Vec<(&'static str, ColumnDefault)> = self
            .declared
            .defaults
            .iter()
            .map(|(c, d)| {
                let d = match d {
                    DeclaredDefault::Serial => ColumnDefault::AutoId,
                    DeclaredDefault::Now => ColumnDefault::Now,
                    DeclaredDefault::RandomUuid => ColumnDefault::RandomUuid,
                    DeclaredDefault::Value(v) => ColumnDefault::Literal(forever(v)),
                };
                (forever(c), d)
            })
            .collect();
        Ok(TableDef {
            name: forever(&self.name),
            schema: Arc::new(Schema::new(fields)),
            unique: !key.is_empty(),
            key: Box::leak(key.into_boxed_slice()),
            defaults: Box::leak(defaults.into_boxed_slice()),
            domains: &[],
            references: &[],
            indexes: Box::leak(self.declared.indexes.clone().into_boxed_slice()),
            descriptions: Box::leak(self.declared.descriptions.clone().into_boxed_slice()),
            layout: Layout::Scans,
        })
    }
}

/// A field's metadata in the order it is saved.
pub fn field_metadata(f: &Field) -> BTreeMap<String, String> {
    f.metadata().clone().into_iter().collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A column's field metadata (a type declared over an Arrow type) is kept across saving.
    #[test]
    fn field_metadata_is_kept() {
        use std::collections::HashMap;
        let tagged = Field::new("id", DataType::Utf8, false).with_metadata(HashMap::from([(
            "ARROW:extension:name".to_string(),
            "cip.uuid".to_string(),
        )]));
        let schema = Schema::new(vec![tagged.clone(), Field::new("n", DataType::Int64, true)]);
        let saved = vec![SavedTable::of("t", &schema)];
        let read: Vec<SavedTable> =
            serde_json::from_slice(&encode(&saved).expect("encode")).expect("decode");
        let def = read[0].def().expect("def");
        assert_eq!(def.schema.field(0), &tagged);
        assert!(def.schema.field(1).metadata().is_empty());
    }

    /// A list written before tables declared keys reads as tables that declare none.
    #[test]
    fn lists_written_before_declarations_still_read() {
        let old = r#"[{"name": "t", "columns": [["k", "Int64", true]]}]"#;
        let saved: Vec<SavedTable> = serde_json::from_str(old).expect("old list");
        assert_eq!(saved[0].declared, Declared::default());
        let def = saved[0].def().expect("def");
        assert!(def.key.is_empty() && !def.unique && def.defaults.is_empty());
        let written = String::from_utf8(encode(&saved).expect("encode")).expect("utf8");
        assert!(!written.contains("key") && !written.contains("defaults"));
    }
}
