//! `pg_get_expr(expr, relation [, pretty])`: the text of a stored expression. cip keeps the
//! expressions the catalog lists (pg_attrdef.adbin, defaults.rs) as their text already, so the
//! function gives its first argument back; datafusion-pg-catalog's gave '' for everything,
//! which showed every default as empty.

use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    TypeSignature, Volatility,
};
use datafusion::prelude::SessionContext;
use std::sync::LazyLock;

#[derive(Debug, PartialEq, Eq, Hash)]
struct PgGetExpr {
    signature: Signature,
}

pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::new_from_impl(PgGetExpr {
        signature: Signature::one_of(
            vec![TypeSignature::Any(2), TypeSignature::Any(3)],
            Volatility::Stable,
        ),
    }));
}

impl ScalarUDFImpl for PgGetExpr {
    fn name(&self) -> &str {
        "pg_get_expr"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        // The signature admits two or three arguments: the first is there.
        let expr = args.args[0].to_array(args.number_rows)?;
        Ok(ColumnarValue::Array(cast(&expr, &DataType::Utf8)?))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::SECTION,
        "The text of an expression the catalog stores (a column default's pg_attrdef.adbin), \
         as PostgreSQL's pg_get_expr deparses it. NULL gives NULL; the relation and `pretty` \
         arguments are accepted and change nothing.",
        "pg_get_expr(expr, relation [, pretty])",
    )
    .with_sql_example(
        "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'orders'::regclass;",
    )
    .with_argument("expr", "The stored expression (pg_node_tree; text here).")
    .with_argument("relation", "The OID of the relation it belongs to.")
    .build()
});
