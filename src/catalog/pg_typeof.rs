//! `pg_typeof(any)`: the PostgreSQL type of a value, as PostgreSQL prints the regtype it
//! returns ('integer', 'text', 'numeric', 'timestamp without time zone'). Users and tools ask
//! it to see what a column or expression is; the name is the one the wire describes the
//! column with, through format_type, so the two always agree.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion_postgres::arrow_pg::datatypes::into_pg_type;
use std::sync::LazyLock;

pub fn udf() -> ScalarUDF {
    ScalarUDF::from(PgTypeof {
        signature: Signature::any(1, Volatility::Immutable),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct PgTypeof {
    signature: Signature,
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::SECTION,
        "The PostgreSQL type of the value, as its name (PostgreSQL's regtype output): the type \
         the wire protocol describes the value with. Also for NULL: the type of the NULL \
         (an untyped NULL is text).",
        "pg_typeof(value)",
    )
    .with_sql_example(
        "SELECT pg_typeof(1.5), pg_typeof(now()); -- numeric, timestamp with time zone",
    )
    .with_argument("value", "Any expression.")
    .build()
});

/// The type's name as format_type prints it; the Arrow type's name when it has no
/// PostgreSQL counterpart on the wire.
fn type_name(t: &DataType) -> Result<String> {
    let t = match t {
        DataType::Null => &DataType::Utf8,
        other => other,
    };
    let Ok(pg) = into_pg_type(t) else {
        return Ok(t.to_string());
    };
    Ok(super::format_type::name(pg.oid() as i32, -1))
}

impl ScalarUDFImpl for PgTypeof {
    fn name(&self) -> &str {
        "pg_typeof"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [field] = args.arg_fields.as_slice() else {
            return exec_err!("pg_typeof takes one argument");
        };
        // The catalog's `name` columns and declared uuid / varchar columns are Utf8 with an
        // extension type (name_type.rs, crate::column_types); PostgreSQL's pg_typeof prints no
        // modifier.
        let declared = crate::column_types::ColumnType::of(field);
        let name = match (super::name_type::pg_type(field), declared) {
            (Some(t), _) => super::format_type::name(t.oid() as i32, -1),
            (None, Some(t)) => super::format_type::name(t.oid(), -1),
            (None, None) => type_name(field.data_type())?,
        };
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(name))))
    }
    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}
