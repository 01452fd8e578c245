//! pg_proc's array columns as arrays. datafusion-pg-catalog exports PostgreSQL's built-in
//! functions with `proargnames`, `proargmodes` (text[] and "char"[] in PostgreSQL) and
//! `proallargtypes` (oid[]) as the text of a list — `['', 'x']`, `[1034, 26]` — so a driver
//! that reads them as arrays got a string: pgjdbc's getProcedureColumns /
//! getFunctionColumns (`rs.getArray("proargnames")`, `(Long[]) proallargtypes`) ended in
//! ArrayIndexOutOfBoundsException. Here they are real lists (text[] and bigint[] on the
//! wire), converted once for every session, as the built-ins never change.

use datafusion::arrow::array::{
    ArrayRef, AsArray, Int64Builder, ListBuilder, RecordBatch, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::{exec_err, Result};
use datafusion::datasource::MemTable;
use std::sync::{Arc, OnceLock};

/// The columns held as the text of a list of names or modes.
const TEXT_LISTS: &[&str] = &["proargnames", "proargmodes"];
/// … and of a list of type OIDs.
const OID_LISTS: &[&str] = &["proallargtypes"];

/// `field` with the list columns as lists.
fn typed_field(field: &Field) -> Field {
    let name = field.name().as_str();
    let data_type = if TEXT_LISTS.contains(&name) {
        DataType::new_list(DataType::Utf8, true)
    } else if OID_LISTS.contains(&name) {
        DataType::new_list(DataType::Int64, true)
    } else {
        return field.clone();
    };
    Field::new(name, data_type, field.is_nullable())
}

/// The schema of pg_proc with the list columns typed.
pub fn typed_schema(builtin: &Schema) -> SchemaRef {
    Arc::new(Schema::new(
        builtin
            .fields()
            .iter()
            .map(|f| typed_field(f))
            .collect::<Vec<_>>(),
    ))
}

/// PostgreSQL's built-in functions with typed list columns, built once.
pub fn builtins() -> Result<Arc<MemTable>> {
    static TABLE: OnceLock<Arc<MemTable>> = OnceLock::new();
    if let Some(t) = TABLE.get() {
        return Ok(t.clone());
    }
    let (schema, batches) = typed_batches()?;
    let table = Arc::new(MemTable::try_new(schema, vec![batches])?);
    Ok(TABLE.get_or_init(|| table).clone())
}

/// The built-ins' rows with typed list columns.
pub fn typed_batches() -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let exported = super::static_tables()
        .map_err(crate::error::to_df)?
        .pg_proc
        .clone();
    let schema = typed_schema(&exported.schema());
    let batches = exported
        .data()
        .iter()
        .map(|b| typed_batch(b, &schema))
        .collect::<Result<Vec<_>>>()?;
    Ok((schema, batches))
}

fn typed_batch(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, column)| {
            let name = field.name().as_str();
            if TEXT_LISTS.contains(&name) {
                text_lists(name, column)
            } else if OID_LISTS.contains(&name) {
                oid_lists(name, column)
            } else {
                Ok(column.clone())
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// The elements written in a list's text: quoted strings (`'a'`, `"it's"`, with backslash
/// escapes) or bare words; None when the text is not such a list.
fn elements(text: &str) -> Option<Vec<String>> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?;
    let mut out = Vec::new();
    let mut chars = inner.trim().chars().peekable();
    while chars.peek().is_some() {
        let element = match chars.peek() {
            Some(&quote) if quote == '\'' || quote == '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next()? {
                        '\\' => s.push(chars.next()?),
                        c if c == quote => break,
                        c => s.push(c),
                    }
                }
                s
            }
            _ => {
                let mut s = String::new();
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    s.push(c);
                    chars.next();
                }
                s.trim().to_string()
            }
        };
        out.push(element);
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => break,
            Some(',') => {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
            }
            Some(_) => return None,
        }
    }
    Some(out)
}

fn each_text(name: &str, column: &ArrayRef) -> Result<Vec<Option<Vec<String>>>> {
    let text = datafusion::arrow::compute::cast(column, &DataType::Utf8)?;
    let text = text.as_string::<i32>();
    text.iter()
        .map(|t| match t {
            None => Ok(None),
            Some(t) => match elements(t) {
                Some(e) => Ok(Some(e)),
                None => exec_err!("pg_proc.{name}: {t:?} is not a list"),
            },
        })
        .collect()
}

fn text_lists(name: &str, column: &ArrayRef) -> Result<ArrayRef> {
    let mut out = ListBuilder::new(StringBuilder::new());
    for row in each_text(name, column)? {
        match row {
            None => out.append_null(),
            Some(values) => {
                for v in values {
                    out.values().append_value(v);
                }
                out.append(true);
            }
        }
    }
    Ok(Arc::new(out.finish()))
}

fn oid_lists(name: &str, column: &ArrayRef) -> Result<ArrayRef> {
    let mut out = ListBuilder::new(Int64Builder::new());
    for row in each_text(name, column)? {
        match row {
            None => out.append_null(),
            Some(values) => {
                for v in values {
                    match v.parse::<i64>() {
                        Ok(oid) => out.values().append_value(oid),
                        Err(_) => return exec_err!("pg_proc.{name}: {v:?} is not an OID"),
                    }
                }
                out.append(true);
            }
        }
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_texts() {
        assert_eq!(elements("['', 'x', 'n']").unwrap(), vec!["", "x", "n"]);
        assert_eq!(elements("[1034, 26]").unwrap(), vec!["1034", "26"]);
        assert_eq!(elements("[]").unwrap(), Vec::<String>::new());
        assert_eq!(
            elements(r#"["it's", 'a\'b', 'c,d']"#).unwrap(),
            vec!["it's", "a'b", "c,d"]
        );
        assert_eq!(elements("['open"), None);
        assert_eq!(elements("['a' 'b']"), None);
        assert_eq!(elements("1 2"), None);
    }

    #[test]
    fn builtins_have_typed_lists() {
        let table = builtins().unwrap();
        let schema = datafusion::catalog::TableProvider::schema(table.as_ref());
        let field = |n: &str| schema.field_with_name(n).unwrap().data_type().clone();
        assert_eq!(
            field("proargnames"),
            DataType::new_list(DataType::Utf8, true)
        );
        assert_eq!(
            field("proallargtypes"),
            DataType::new_list(DataType::Int64, true)
        );
        assert_eq!(field("proargtypes"), DataType::Utf8);
    }
}
