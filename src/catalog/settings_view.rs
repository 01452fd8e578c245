//! `pg_catalog.pg_settings` with the session's parameters (settings/pg.rs: what SHOW and
//! current_setting answer), one row each, as PostgreSQL lists them. datafusion-pg-catalog's
//! view has a single row (standard_conforming_strings), so pgjdbc's getImportedKeys —
//! which reads `max_index_keys` there first — failed, and a tool reading `search_path` or
//! `TimeZone` from it found nothing. The rows are read from the session that scans, so a
//! SET shows here at once.

use crate::settings::pg::{Listed, PgSettings};
use datafusion::arrow::array::{ArrayRef, BooleanArray, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::Result;
use datafusion::datasource::MemTable;
use std::sync::Arc;

fn schema() -> SchemaRef {
    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    Arc::new(Schema::new(vec![
        text("name"),
        text("setting"),
        text("unit"),
        text("category"),
        text("short_desc"),
        text("extra_desc"),
        text("context"),
        text("vartype"),
        text("source"),
        text("min_val"),
        text("max_val"),
        text("enumvals"),
        text("boot_val"),
        text("reset_val"),
        text("sourcefile"),
        Field::new("sourceline", DataType::Int32, true),
        Field::new("pending_restart", DataType::Boolean, true),
    ]))
}

/// PostgreSQL's vartype for a value: bool for on/off, integer or real for numbers.
fn vartype(value: &str) -> &'static str {
    if matches!(value, "on" | "off") {
        "bool"
    } else if value.parse::<i64>().is_ok() {
        "integer"
    } else if value.parse::<f64>().is_ok() {
        "real"
    } else {
        "string"
    }
}

fn batch(schema: &SchemaRef, rows: &[Listed]) -> Result<RecordBatch> {
    let texts = |f: &dyn Fn(&Listed) -> Option<String>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<StringArray>())
    };
    let nulls = || texts(&|_| None);
    let columns: Vec<ArrayRef> = vec![
        texts(&|l| Some(l.name.clone())),
        texts(&|l| Some(l.setting.clone())),
        nulls(),
        texts(&|l| {
            let category = match (l.read_only, l.description.is_empty()) {
                (true, _) => "Preset Options",
                (false, true) => "Customized Options",
                (false, false) => "Client Connection Defaults",
            };
            Some(category.to_string())
        }),
        texts(&|l| Some(l.description.clone())),
        nulls(),
        texts(&|l| Some(if l.read_only { "internal" } else { "user" }.to_string())),
        texts(&|l| Some(vartype(&l.reset).to_string())),
        texts(&|l| Some(if l.set { "session" } else { "default" }.to_string())),
        nulls(),
        nulls(),
        nulls(),
        texts(&|l| Some(l.reset.clone())),
        texts(&|l| Some(l.reset.clone())),
        nulls(),
        Arc::new(Int32Array::from(vec![None; rows.len()])),
        Arc::new(BooleanArray::from(vec![Some(false); rows.len()])),
    ];
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// pg_settings: the reading session's parameters.
pub fn view() -> super::live_view::LiveView {
    super::live_view::LiveView::new("pg_settings", schema(), |state| {
        let rows = PgSettings::of(state.config_options())
            .map(PgSettings::listed)
            .unwrap_or_default();
        let schema = schema();
        let batch = batch(&schema, &rows)?;
        MemTable::try_new(schema, vec![vec![batch]])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_per_parameter_with_its_type() {
        let settings = PgSettings::new("Asia/Shanghai", "cip", true);
        let rows = settings.listed();
        let b = batch(&schema(), &rows).expect("batch");
        assert_eq!(b.num_rows(), rows.len());
        let max_keys = rows.iter().find(|l| l.name == "max_index_keys");
        assert_eq!(max_keys.map(|l| l.setting.as_str()), Some("32"));
        assert_eq!(vartype("on"), "bool");
        assert_eq!(vartype("32"), "integer");
        assert_eq!(vartype("Asia/Shanghai"), "string");
    }
}
