//! PostgreSQL's `information_schema._pg_expandarray(array)`: one row `(x, n)` per element —
//! the element and its position from 1. pgjdbc's `getPrimaryKeys` and `getIndexInfo` expand
//! `pg_index.indkey` with it in the select list. Here it gives the rows as a list of
//! `(x, n)` structs, which the rule statement/rules/expand_array.rs unnests where the call
//! stands, so it is a set-returning function as in PostgreSQL. The array may be a list of
//! integers or the text of one (`1 2` as an int2vector prints, `{1,2}`, `[1, 2]`), as the
//! catalog keeps such columns.

use cip_udfs::error::sql_error;
use cip_udfs::sqlstate;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int32Array, ListArray, StructArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Int32Type};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::prelude::SessionContext;
use std::sync::{Arc, LazyLock};

pub const NAME: &str = "_pg_expandarray";

pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::from(ExpandArray {
        signature: Signature::any(1, Volatility::Immutable),
    }));
}

fn fields() -> Fields {
    Fields::from(vec![
        Field::new("x", DataType::Int32, true),
        Field::new("n", DataType::Int32, false),
    ])
}

fn item() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Struct(fields()), true))
}

/// The integers of an array's text: `1 2`, `{1,2}` or `[1, 2]`.
pub fn elements(text: &str) -> Result<Vec<i32>> {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | '{' | '}' | '[' | ']'))
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse().map_err(|_| {
                sql_error(
                    sqlstate::INVALID_TEXT_REPRESENTATION,
                    format!("invalid input syntax for type integer array: \"{text}\""),
                )
            })
        })
        .collect()
}

/// Each row's elements; None for a NULL array.
fn rows_of(array: &ArrayRef) -> Result<Vec<Option<Vec<i32>>>> {
    match array.data_type() {
        DataType::List(_) => {
            let list = array.as_list::<i32>();
            (0..list.len())
                .map(|r| {
                    if list.is_null(r) {
                        return Ok(None);
                    }
                    let values = cast(&list.value(r), &DataType::Int32)?;
                    Ok(Some(
                        values
                            .as_primitive::<Int32Type>()
                            .iter()
                            .flatten()
                            .collect(),
                    ))
                })
                .collect()
        }
        _ => {
            let text = cast(array, &DataType::Utf8)?;
            let text = text.as_string::<i32>();
            (0..text.len())
                .map(|r| match text.is_null(r) {
                    true => Ok(None),
                    false => elements(text.value(r)).map(Some),
                })
                .collect()
        }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ExpandArray {
    signature: Signature,
}

impl ScalarUDFImpl for ExpandArray {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(item()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [array] = args.args.as_slice() else {
            return Err(sql_error(
                sqlstate::UNDEFINED_FUNCTION,
                "_pg_expandarray takes one array",
            ));
        };
        let rows = rows_of(&array.to_array(args.number_rows)?)?;
        let (mut xs, mut ns, mut lengths) = (Vec::new(), Vec::new(), Vec::new());
        for row in &rows {
            let values = row.as_deref().unwrap_or_default();
            lengths.push(values.len());
            for (i, v) in values.iter().enumerate() {
                xs.push(*v);
                ns.push(i32::try_from(i + 1).unwrap_or(i32::MAX));
            }
        }
        let structs = StructArray::try_new(
            fields(),
            vec![
                Arc::new(Int32Array::from(xs)) as ArrayRef,
                Arc::new(Int32Array::from(ns)),
            ],
            None,
        )?;
        let nulls = rows.iter().map(Option::is_some).collect::<Vec<_>>();
        let list = ListArray::try_new(
            item(),
            OffsetBuffer::from_lengths(lengths),
            Arc::new(structs),
            Some(nulls.into()),
        )?;
        Ok(ColumnarValue::Array(Arc::new(list)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::SECTION,
        "One row (x, n) per element of an array: the element and its position from 1 \
         (PostgreSQL's information_schema._pg_expandarray, a set-returning function). The \
         array may be a list of integers or its text (an int2vector's `1 2`, `{1,2}`). NULL \
         or an empty array gives no rows; text that is not integers is 22P02.",
        "information_schema._pg_expandarray(array)",
    )
    .with_sql_example(
        "SELECT (information_schema._pg_expandarray(indkey)).n, indexrelid FROM pg_index;",
    )
    .with_argument("array", "An array of integers, or its text.")
    .build()
});

#[cfg(test)]
mod tests {
    use super::elements;

    #[test]
    fn reads_the_texts_of_integer_arrays() {
        assert_eq!(elements("1 2").unwrap(), vec![1, 2]);
        assert_eq!(elements("{3,1}").unwrap(), vec![3, 1]);
        assert_eq!(elements("[1, 7]").unwrap(), vec![1, 7]);
        assert_eq!(elements("").unwrap(), Vec::<i32>::new());
        assert!(elements("1 x").is_err());
    }
}
