//! A table's definition as storage needs it: its Arrow schema, key, the defaults it fills in
//! (AUTO_INCREMENT ids, the current time) and the constraints it enforces on every write. Which
//! tables exist is the warehouse's business (crate::warehouse::tables); storage only keeps them.

use datafusion::arrow::datatypes::SchemaRef;

/// How the engine fills a column an INSERT or a load leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnDefault {
    None,
    /// AUTO_INCREMENT: the next id of the table.
    AutoId,
    /// DEFAULT CURRENT_TIMESTAMP, in local time.
    Now,
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
}

impl TableDef {
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
