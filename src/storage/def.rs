//! A table's definition as storage needs it: its Arrow schema, key, the defaults it fills in
//! (AUTO_INCREMENT ids, the current time) and the constraints it enforces on every write. Which
//! tables exist is the warehouse's business (crate::warehouse::tables); storage only keeps them.

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// How the engine fills a column an INSERT or a load leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnDefault {
    None,
    /// AUTO_INCREMENT: the next id of the table.
    AutoId,
    /// DEFAULT CURRENT_TIMESTAMP, in local time.
    Now,
    /// DEFAULT gen_random_uuid(): a new random uuid per row.
    RandomUuid,
    /// A constant a CREATE TABLE gave (`DEFAULT 3`), as text read in the column's type. The
    /// planner fills it in (CipTable::get_column_default), so an explicit NULL stays NULL.
    Literal(&'static str),
}

#[derive(Debug, Clone)]
pub struct TableDef {
    pub name: &'static str,
    pub schema: SchemaRef,
    /// The columns that identify a row: upserts replace by them.
    pub key: &'static [&'static str],
    /// Whether the key is enforced on every INSERT (small dimension tables only: enforcing it
    /// on a fact table would scan it per insert).
    pub unique: bool,
    pub defaults: &'static [(&'static str, ColumnDefault)],
    /// Text columns whose non-NULL values must be one of a list (CHECK ... IN (...)).
    pub domains: &'static [(&'static str, &'static [&'static str])],
    /// Columns whose non-NULL values must be a key of another table (a foreign key).
    pub references: &'static [(&'static str, &'static str)],
    /// Indexes a CREATE INDEX declared: kept with the table (and listed by the catalog), not
    /// structures of their own — a part is read by its statistics and page index either way.
    pub indexes: &'static [IndexDef],
    /// COMMENT ON the table and its columns: kept and listed (pg_description), nothing else.
    pub descriptions: &'static [Description],
    /// How its parts are cut into pages (parquet_io.rs).
    pub layout: Layout,
}

/// What a table's parts are laid out for. Scans read whole columns; point reads of one key
/// in a part sorted by it decode, of each column, the pages that may hold the key — and the
/// dictionary page, whichever page is read — so they want small pages and no dictionaries,
/// at some cost in size and scan speed. A table read by points is also changed by points
/// (a few rows of a snapshot at a time): its parts are capped in rows
/// (StoreOptions::point_read_part_rows), so such a change rewrites one part, not all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Scans,
    PointReads,
}

/// A description of a table (`column` None) or of one of its columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Description {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub text: String,
}

/// An index over columns of a table, as CREATE INDEX declared it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexDef {
    pub name: String,
    pub columns: Vec<IndexColumn>,
    /// Only over the key's columns: storage enforces no other uniqueness.
    #[serde(default)]
    pub unique: bool,
    /// The access method it was declared with (btree, hash, …).
    pub method: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexColumn {
    pub name: String,
    #[serde(default)]
    pub descending: bool,
    #[serde(default)]
    pub nulls_first: bool,
}

impl TableDef {
    /// The columns as writers hand rows in: all nullable, as a serial id or a defaulted time
    /// left out is NULL until storage fills it (then it checks NOT NULL, rows.rs).
    pub fn input_schema(&self) -> SchemaRef {
        let fields: Vec<_> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect();
        Arc::new(Schema::new_with_metadata(
            fields,
            self.schema.metadata().clone(),
        ))
    }

    pub fn default_of(&self, column: &str) -> ColumnDefault {
        self.defaults
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, d)| *d)
            .unwrap_or(ColumnDefault::None)
    }

    pub fn auto_id_column(&self) -> Option<&'static str> {
        self.defaults
            .iter()
            .find(|(_, d)| *d == ColumnDefault::AutoId)
            .map(|(c, _)| *c)
    }
}
