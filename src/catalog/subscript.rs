//! `value[i]` over the catalog's array columns, which cip keeps as text: the int2vector /
//! oidvector columns (pg_index.indkey, indoption, …; `1 2`) are subscripted from 0, as
//! PostgreSQL's vectors are, and the array columns kept as a list's text (pg_constraint.conkey,
//! `[1, 2]` or `{1,2}`) from 1. pgjdbc's getIndexInfo reads `I_INDOPTION[ORDINAL_POSITION - 1]`
//! and its getImportedKeys `con.confkey[pos.n]`, under aliases no rule can follow back to the
//! column — so the choice is made on the value's type and text, not its name. A real list is
//! subscripted by DataFusion's `array_element` (the call simplifies to it). The rule
//! statement/rules/catalog_subscripts.rs writes catalog queries' subscripts as this call.

use cip_udfs::error::sql_error;
use cip_udfs::sqlstate;
use datafusion::arrow::array::{Array, AsArray, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::Result;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::prelude::SessionContext;
use std::sync::{Arc, LazyLock};

pub const NAME: &str = "cip_catalog_subscript";

pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::from(CatalogSubscript {
        signature: Signature::any(2, Volatility::Immutable),
    }));
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct CatalogSubscript {
    signature: Signature,
}

fn is_list(t: &DataType) -> bool {
    matches!(
        t,
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(_, _)
    )
}

fn is_text(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    )
}

/// Element `i` of an array's text: a vector (`1 2`) from 0, a list's text (`[1, 2]`,
/// `{1,2}`) from 1; None outside it, as PostgreSQL gives NULL there.
fn element(text: &str, i: i64) -> Result<Option<i64>> {
    let listed = text.trim_start().starts_with(['[', '{']);
    let values = super::expand_array::elements(text)?;
    let at = if listed { i.checked_sub(1) } else { Some(i) };
    Ok(at
        .and_then(|at| usize::try_from(at).ok())
        .and_then(|at| values.get(at))
        .map(|v| i64::from(*v)))
}

impl ScalarUDFImpl for CatalogSubscript {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args.first() {
            Some(DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)) => {
                Ok(f.data_type().clone())
            }
            Some(t) if is_text(t) => Ok(DataType::Int64),
            Some(t) => Err(sql_error(
                sqlstate::DATATYPE_MISMATCH,
                format!("cannot subscript type {t} because it does not support subscripting"),
            )),
            None => Err(sql_error(
                sqlstate::UNDEFINED_FUNCTION,
                "a subscript needs a value and an index",
            )),
        }
    }

    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        match args.first() {
            Some(value) if is_list(&info.get_data_type(value)?) => {
                Ok(ExprSimplifyResult::Simplified(
                    datafusion::functions_nested::expr_fn::array_element(
                        args[0].clone(),
                        args[1].clone(),
                    ),
                ))
            }
            _ => Ok(ExprSimplifyResult::Original(args)),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [value, index] = args.args.as_slice() else {
            return Err(sql_error(
                sqlstate::UNDEFINED_FUNCTION,
                "a subscript needs a value and an index",
            ));
        };
        let text = cast(&value.to_array(args.number_rows)?, &DataType::Utf8)?;
        let index = cast(&index.to_array(args.number_rows)?, &DataType::Int64).map_err(|_| {
            sql_error(
                sqlstate::DATATYPE_MISMATCH,
                "array subscript must have type integer",
            )
        })?;
        let (text, index) = (text.as_string::<i32>(), index.as_primitive::<Int64Type>());
        let out = (0..text.len())
            .map(|r| match text.is_null(r) || index.is_null(r) {
                true => Ok(None),
                false => element(text.value(r), index.value(r)),
            })
            .collect::<Result<Int64Array>>()?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::SECTION,
        "Element `index` of a catalog array column, which cip keeps as text: an int2vector or \
         oidvector (`1 2`, pg_index.indkey) counts from 0 as in PostgreSQL, a list's text \
         (`[1, 2]`, `{1,2}`, pg_constraint.conkey) from 1; a real list is DataFusion's \
         array_element. NULL outside the array or for a NULL argument. Catalog queries' \
         `value[index]` are written as this call.",
        "cip_catalog_subscript(value, index)",
    )
    .with_sql_example("SELECT cip_catalog_subscript(indkey, 0) FROM pg_catalog.pg_index;")
    .with_argument(
        "value",
        "an int2vector / oidvector / array's text, or a list",
    )
    .with_argument("index", "the subscript, an integer")
    .build()
});

#[cfg(test)]
mod tests {
    use super::element;

    #[test]
    fn vectors_count_from_zero_and_lists_from_one() {
        assert_eq!(element("3 1 2", 0).unwrap(), Some(3));
        assert_eq!(element("3 1 2", 2).unwrap(), Some(2));
        assert_eq!(element("3 1 2", 3).unwrap(), None);
        assert_eq!(element("3 1 2", -1).unwrap(), None);
        assert_eq!(element("[3, 1]", 1).unwrap(), Some(3));
        assert_eq!(element("{3,1}", 2).unwrap(), Some(1));
        assert_eq!(element("{3,1}", 0).unwrap(), None);
        assert_eq!(element("", 0).unwrap(), None);
        assert!(element("a b", 0).is_err());
    }
}
