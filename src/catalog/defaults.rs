//! Column defaults where PostgreSQL lists them: a pg_attrdef row per column with a default
//! (its expression's text in `adbin`, which `pg_get_expr` gives back) and `atthasdef` in
//! pg_attribute. psql's `\d` "Default" column, SQLAlchemy's `get_columns` (`default`,
//! `autoincrement`), pgjdbc's `getColumns` (`COLUMN_DEF`, `IS_AUTOINCREMENT`) and
//! information_schema.columns read them. A serial or identity column is shown as PostgreSQL
//! shows a serial one, `nextval('<table>_<column>_seq'::regclass)`, which is how those
//! clients recognise a column that fills itself (cip keeps no sequence objects: the table
//! holds its counter).

use super::keys::{Relation, FIRST_OBJECT_OID};
use crate::storage::ColumnDefault;
use crate::warehouse::stored_definition;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use std::collections::HashSet;

/// pg_attrdef OIDs: past the key indexes' and constraints' ranges (keys.rs), 2,048 per table
/// (a table has at most 1,600 columns).
const ATTRDEF_OID_BASE: i32 = 1_200_000_000;

/// One column's default.
#[derive(Debug, Clone)]
pub struct AttrDefault {
    pub table_oid: i32,
    pub attnum: i16,
    /// The expression as `pg_get_expr` gives it.
    pub text: String,
}

impl AttrDefault {
    pub fn oid(&self) -> i32 {
        (self.table_oid - FIRST_OBJECT_OID)
            .max(0)
            .saturating_mul(2_048)
            .saturating_add(ATTRDEF_OID_BASE)
            .saturating_add(i32::from(self.attnum))
    }
}

/// The defaults of `relations`' columns.
pub fn declared(relations: &[Relation]) -> Vec<AttrDefault> {
    let mut out = Vec::new();
    for r in relations {
        let Some(def) = stored_definition(&r.provider) else {
            continue;
        };
        for (column, default) in def.defaults {
            let Ok(index) = def.schema.index_of(column) else {
                continue;
            };
            let Ok(attnum) = i16::try_from(index + 1) else {
                continue;
            };
            let data_type = def.schema.field(index).data_type();
            if let Some(text) = expression(&r.table, column, *default, data_type) {
                out.push(AttrDefault {
                    table_oid: r.table_oid,
                    attnum,
                    text,
                });
            }
        }
    }
    out
}

/// The default as PostgreSQL prints it (its deparsed expression).
fn expression(table: &str, column: &str, d: ColumnDefault, t: &DataType) -> Option<String> {
    let quoted = |s: &str| format!("'{}'", s.replace('\'', "''"));
    Some(match d {
        ColumnDefault::None => return None,
        ColumnDefault::AutoId => {
            format!(
                "nextval({}::regclass)",
                quoted(&format!("{table}_{column}_seq"))
            )
        }
        ColumnDefault::Now => "now()".to_string(),
        ColumnDefault::RandomUuid => "gen_random_uuid()".to_string(),
        ColumnDefault::Literal(text) => match t {
            t if t.is_numeric() && !text.starts_with('-') => text.to_string(),
            DataType::Boolean => text.to_string(),
            _ => format!("{}::{}", quoted(text), type_name(t)),
        },
    })
}

/// PostgreSQL's name of a column type in a cast.
fn type_name(t: &DataType) -> &'static str {
    match t {
        DataType::Int16 | DataType::Int8 | DataType::UInt8 => "smallint",
        DataType::Int32 | DataType::UInt16 => "integer",
        DataType::Int64 | DataType::UInt32 => "bigint",
        DataType::Float32 => "real",
        DataType::Float64 => "double precision",
        DataType::Decimal128(..) | DataType::Decimal256(..) | DataType::UInt64 => "numeric",
        DataType::Date32 | DataType::Date64 => "date",
        DataType::Timestamp(_, Some(_)) => "timestamp with time zone",
        DataType::Timestamp(_, None) => "timestamp without time zone",
        _ => "text",
    }
}

/// A pg_attrdef value of `d`.
pub fn attrdef_value(d: &AttrDefault, column: &str) -> Option<ScalarValue> {
    match column {
        "oid" => Some(ScalarValue::Int32(Some(d.oid()))),
        "adrelid" => Some(ScalarValue::Int32(Some(d.table_oid))),
        "adnum" => Some(ScalarValue::Int16(Some(d.attnum))),
        "adbin" | "adsrc" => Some(ScalarValue::Utf8(Some(d.text.clone()))),
        _ => None,
    }
}

/// pg_attribute's rows with `atthasdef` true for the columns that have a default.
pub fn with_defaults_flagged(batch: &RecordBatch, defaults: &[AttrDefault]) -> Result<RecordBatch> {
    let has: HashSet<Vec<i32>> = defaults
        .iter()
        .map(|d| vec![d.table_oid, i32::from(d.attnum)])
        .collect();
    super::keys::flagged(batch, "atthasdef", &["attrelid", "attnum"], &has)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::TimeUnit;

    #[test]
    fn defaults_read_as_postgresql_prints_them() {
        let e = |d, t: &DataType| expression("t", "c", d, t);
        assert_eq!(
            e(ColumnDefault::AutoId, &DataType::Int32).as_deref(),
            Some("nextval('t_c_seq'::regclass)")
        );
        assert_eq!(
            e(ColumnDefault::Now, &DataType::Int32).as_deref(),
            Some("now()")
        );
        assert_eq!(
            e(ColumnDefault::Literal("3"), &DataType::Int32).as_deref(),
            Some("3")
        );
        assert_eq!(
            e(ColumnDefault::Literal("-3"), &DataType::Int64).as_deref(),
            Some("'-3'::bigint")
        );
        assert_eq!(
            e(ColumnDefault::Literal("it's"), &DataType::Utf8).as_deref(),
            Some("'it''s'::text")
        );
        assert_eq!(
            e(ColumnDefault::Literal("true"), &DataType::Boolean).as_deref(),
            Some("true")
        );
        let ts = DataType::Timestamp(TimeUnit::Microsecond, None);
        assert_eq!(
            e(ColumnDefault::Literal("2026-01-01 00:00:00"), &ts).as_deref(),
            Some("'2026-01-01 00:00:00'::timestamp without time zone")
        );
        assert_eq!(e(ColumnDefault::None, &DataType::Utf8), None);
    }

    #[test]
    fn oids_stay_apart() {
        let d = |table_oid, attnum| AttrDefault {
            table_oid,
            attnum,
            text: String::new(),
        };
        assert_ne!(d(16_384, 2).oid(), d(16_385, 2).oid());
        assert_ne!(d(16_384, 2).oid(), d(16_384, 3).oid());
        assert!(d(16_384, 1).oid() > 1_100_000_000 + 100_000);
    }
}
