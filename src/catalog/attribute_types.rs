//! pg_attribute as PostgreSQL fills it for what datafusion-pg-catalog derives from Arrow types
//! alone: a column declared uuid, varchar(n) or char(n) (crate::column_types) has that type's
//! OID and length modifier instead of text's, a numeric(p, s) its precision and scale in
//! `atttypmod`, and a key or serial column is NOT NULL. psql's `\d`, pgjdbc's `getColumns`
//! (COLUMN_SIZE, DECIMAL_DIGITS, NULLABLE), SQLAlchemy's and Sequelize's column reflection
//! read them through `format_type(atttypid, atttypmod)` and `attnotnull`.

use super::keys::Relation;
use crate::column_types::ColumnType;
use crate::storage::ColumnDefault;
use crate::warehouse::stored_definition;
use datafusion::arrow::array::{Array, AsArray, BooleanArray, Int16Array, Int32Array, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int16Type, Int32Type};
use datafusion::common::Result;
use std::collections::HashMap;
use std::sync::Arc;

/// What a column's row says beyond datafusion-pg-catalog's.
#[derive(Debug, Clone, Copy)]
struct Typed {
    /// (atttypid, attlen) when the column's type is not the one its Arrow type gives.
    oid: Option<(i32, i16)>,
    typmod: i32,
    not_null: bool,
}

fn typed(field: &Field, not_null: bool) -> Typed {
    let declared = ColumnType::of(field);
    let typmod = match (declared, field.data_type()) {
        (Some(t), _) => t.typmod(),
        (None, DataType::Decimal128(p, s) | DataType::Decimal256(p, s)) if *s >= 0 => {
            ((i32::from(*p) << 16) | i32::from(*s as u8)) + 4
        }
        _ => -1,
    };
    Typed {
        oid: declared.map(|t| (t.oid(), t.length())),
        typmod,
        not_null,
    }
}

/// The columns of `relations` whose rows change, by (attrelid, attnum).
fn columns(relations: &[Relation]) -> HashMap<(i32, i16), Typed> {
    let mut out = HashMap::new();
    for r in relations {
        let def = stored_definition(&r.provider);
        let schema = r.provider.schema();
        for (i, field) in schema.fields().iter().enumerate() {
            let Ok(attnum) = i16::try_from(i + 1) else {
                continue;
            };
            let not_null = def.as_ref().is_some_and(|d| {
                d.key.contains(&field.name().as_str())
                    || d.default_of(field.name()) == ColumnDefault::AutoId
            });
            let t = typed(field, not_null);
            if t.oid.is_some() || t.typmod >= 0 || t.not_null {
                out.insert((r.table_oid, attnum), t);
            }
        }
    }
    out
}

/// pg_attribute's `batch` with the declared types, modifiers and NOT NULLs of `relations`.
pub fn with_declared_types(batch: &RecordBatch, relations: &[Relation]) -> Result<RecordBatch> {
    let schema = batch.schema();
    let at = |name: &str| schema.index_of(name).ok();
    let (Some(rel), Some(num), Some(typid), Some(typmod), Some(len), Some(notnull)) = (
        at("attrelid"),
        at("attnum"),
        at("atttypid"),
        at("atttypmod"),
        at("attlen"),
        at("attnotnull"),
    ) else {
        return Ok(batch.clone());
    };
    let found = columns(relations);
    if found.is_empty() {
        return Ok(batch.clone());
    }
    let rels = cast(batch.column(rel), &DataType::Int32)?;
    let nums = cast(batch.column(num), &DataType::Int16)?;
    let (rels, nums) = (
        rels.as_primitive::<Int32Type>(),
        nums.as_primitive::<Int16Type>(),
    );
    let old_typid = cast(batch.column(typid), &DataType::Int32)?;
    let old_typmod = cast(batch.column(typmod), &DataType::Int32)?;
    let old_len = cast(batch.column(len), &DataType::Int16)?;
    let (old_typid, old_typmod, old_len) = (
        old_typid.as_primitive::<Int32Type>(),
        old_typmod.as_primitive::<Int32Type>(),
        old_len.as_primitive::<Int16Type>(),
    );
    let old_notnull = batch.column(notnull).as_boolean();
    let n = batch.num_rows();
    let (mut typids, mut typmods, mut lens, mut notnulls) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for row in 0..n {
        let t = (rels.is_valid(row) && nums.is_valid(row))
            .then(|| found.get(&(rels.value(row), nums.value(row))))
            .flatten();
        let (oid, length) = match t.and_then(|t| t.oid) {
            Some((oid, length)) => (Some(oid), Some(length)),
            None => (
                old_typid.is_valid(row).then(|| old_typid.value(row)),
                old_len.is_valid(row).then(|| old_len.value(row)),
            ),
        };
        typids.push(oid);
        lens.push(length);
        typmods.push(match t {
            Some(t) => Some(t.typmod),
            None => old_typmod.is_valid(row).then(|| old_typmod.value(row)),
        });
        notnulls.push(match t {
            Some(t) if t.not_null => Some(true),
            _ => old_notnull.is_valid(row).then(|| old_notnull.value(row)),
        });
    }
    let mut out = batch.columns().to_vec();
    out[typid] = cast(&Int32Array::from(typids), schema.field(typid).data_type())?;
    out[typmod] = cast(&Int32Array::from(typmods), schema.field(typmod).data_type())?;
    out[len] = cast(&Int16Array::from(lens), schema.field(len).data_type())?;
    out[notnull] = Arc::new(BooleanArray::from(notnulls));
    Ok(RecordBatch::try_new(schema, out)?)
}
