//! `to_regclass`, `to_regproc`, `to_regprocedure`, `to_regnamespace` and `to_regrole` of
//! anything but a literal name or a parameter. Those are looked up while the statement is
//! rewritten (statement/rules/reg_functions.rs); a column's values are not known then, and
//! looking them up in a subquery would read a column named like the catalog's (`relname`)
//! from the catalog's row. Such a call is refused while planning with 0A000 and what to do
//! instead, rather than DataFusion's "Invalid function".

use cip_udfs::error::sql_error;
use cip_udfs::sqlstate;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::prelude::SessionContext;

const NAMES: &[&str] = &[
    "to_regclass",
    "to_regproc",
    "to_regprocedure",
    "to_regnamespace",
    "to_regrole",
];

pub fn register(ctx: &SessionContext) {
    for name in NAMES {
        let doc = Documentation::builder(
            super::SECTION,
            format!(
                "The OID of the object a name names, or NULL when none has it, as PostgreSQL's \
                 {name}; the name must be a literal or a parameter."
            ),
            format!("{name}(name)"),
        )
        .with_sql_example(format!("SELECT {name}('members')"))
        .with_argument("name", "The object's name, as text.")
        .build();
        ctx.register_udf(ScalarUDF::from(OfColumn {
            name,
            signature: Signature::any(1, Volatility::Stable),
            doc,
        }));
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct OfColumn {
    name: &'static str,
    signature: Signature,
    doc: Documentation,
}

impl ScalarUDFImpl for OfColumn {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Err(sql_error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            format!(
                "{}() takes a literal name or a parameter here, not a column or expression; \
                 join the catalog instead (e.g. pg_class.relname)",
                self.name
            ),
        ))
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        // Never reached: planning the call already failed.
        self.return_type(&[])
            .map(|_| ColumnarValue::Scalar(ScalarValue::Null))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}
