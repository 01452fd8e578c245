//! `pg_regtype_names(oids)`: an array of type OIDs as the type names PostgreSQL prints for a
//! `regtype[]` — what `proargtypes::regtype[]` shows. The catalog keeps oidvector columns as
//! text (`'700 701'`; proallargtypes is a bigint[]), and DataFusion has no regtype,
//! so `x::regtype[]` in a catalog query is spelled as this function (regtype_text.rs). pgcli
//! reads every function's argument types so (`COALESCE(proallargtypes::regtype[],
//! proargtypes::regtype[])::text[]`) and completes nothing when that fails.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListArray, StringArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Int32Type};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use std::sync::{Arc, LazyLock};

pub const NAME: &str = "pg_regtype_names";

pub fn udf() -> ScalarUDF {
    ScalarUDF::from(RegtypeNames {
        signature: Signature::any(1, Volatility::Immutable),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct RegtypeNames {
    signature: Signature,
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::SECTION,
        "The type names of an array of type OIDs, as PostgreSQL prints a regtype[]; NULL for \
         NULL. Accepts an oidvector's text ('700 701'), an array's text ('{23,25}', \
         '[23, 25]') or an integer array.",
        "pg_regtype_names(oids)",
    )
    .with_sql_example("SELECT pg_regtype_names('23 25'); -- [integer, text]")
    .with_argument("oids", "Type OIDs: text or an integer array.")
    .build()
});

/// The OIDs written in an oidvector's or an array's text; None if one is not a number.
fn parse(text: &str) -> Option<Vec<i32>> {
    let inner = text
        .trim()
        .trim_matches(|c| matches!(c, '{' | '}' | '[' | ']'));
    inner
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().ok())
        .collect()
}

/// One list of OIDs per row, None for a NULL row.
fn oid_lists(values: &ArrayRef) -> Result<Vec<Option<Vec<i32>>>> {
    match values.data_type() {
        DataType::Null => Ok(vec![None; values.len()]),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let text = datafusion::arrow::compute::cast(values, &DataType::Utf8)?;
            text.as_string::<i32>()
                .iter()
                .map(|t| match t {
                    None => Ok(None),
                    Some(t) => match parse(t) {
                        Some(oids) => Ok(Some(oids)),
                        None => exec_err!("{NAME}: {t:?} is not a list of type OIDs"),
                    },
                })
                .collect()
        }
        DataType::List(_) => {
            let lists = values.as_list::<i32>();
            (0..lists.len())
                .map(|i| {
                    if lists.is_null(i) {
                        return Ok(None);
                    }
                    let cast = datafusion::arrow::compute::cast(&lists.value(i), &DataType::Int32)?;
                    Ok(Some(
                        cast.as_primitive::<Int32Type>().iter().flatten().collect(),
                    ))
                })
                .collect()
        }
        other => exec_err!("{NAME} takes text or an integer array, not {other}"),
    }
}

impl ScalarUDFImpl for RegtypeNames {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(DataType::Utf8, true))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [values] = args.args.as_slice() else {
            return exec_err!("{NAME} takes one argument");
        };
        let lists = oid_lists(&values.to_array(args.number_rows)?)?;
        // Each OID named as format_type(oid, NULL) names it.
        let names: StringArray = lists
            .iter()
            .flatten()
            .flatten()
            .map(|oid| Some(super::format_type::name(*oid, -1)))
            .collect();
        let names: ArrayRef = Arc::new(names);
        let lengths = lists.iter().map(|l| l.as_ref().map_or(0, Vec::len));
        let nulls: Vec<bool> = lists.iter().map(Option::is_some).collect();
        let list = ListArray::try_new(
            Arc::new(Field::new_list_field(DataType::Utf8, true)),
            OffsetBuffer::from_lengths(lengths),
            names,
            Some(nulls.into()),
        )?;
        Ok(ColumnarValue::Array(Arc::new(list)))
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn oid_lists_in_every_text_form() {
        assert_eq!(parse("700 701"), Some(vec![700, 701]));
        assert_eq!(parse("[1034, 26]"), Some(vec![1034, 26]));
        assert_eq!(parse("{23,25}"), Some(vec![23, 25]));
        assert_eq!(parse(""), Some(vec![]));
        assert_eq!(parse("int4"), None);
    }
}
