//! `cip_reg_found(oid, name, kind)`: the OID a `'name'::regclass` (regtype, regproc,
//! regnamespace) lookup found, or PostgreSQL's error when it found none — `'nosuch'::regclass`
//! is 42P01 "relation "nosuch" does not exist" in PostgreSQL, and was a silent NULL here,
//! so a client's existence check (`SELECT 'x'::regclass`) passed for any name. The rule
//! statement/rules/reg_lookups.rs writes each such cast as this call around the lookup.

use cip_udfs::error::sql_error;
use cip_udfs::sqlstate;
use datafusion::arrow::array::{Array, AsArray, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::prelude::SessionContext;
use std::sync::LazyLock;

pub const NAME: &str = "cip_reg_found";

/// The OID a lookup gives when more than one object has the name (regproc of an
/// overloaded function).
pub const AMBIGUOUS: i64 = -1;

pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::from(RegFound {
        signature: Signature::any(3, Volatility::Immutable),
    }));
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct RegFound {
    signature: Signature,
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::SECTION,
        "The OID a reg* name lookup found; PostgreSQL's error when it found none (42P01 for a \
         relation, 42704 for a type, 42883 for a function, 3F000 for a schema, 42704 for a role) or, for a \
         function, more than one (42725). NULL for a NULL name. What `'name'::regclass` and \
         the other reg* casts of a name become.",
        "cip_reg_found(oid, name, kind)",
    )
    .with_sql_example("SELECT cip_reg_found(NULL, 'nosuch', 'regclass'); -- 42P01")
    .with_argument(
        "oid",
        "The lookup's result: an OID, NULL for none, -1 for several.",
    )
    .with_argument("name", "The name looked up.")
    .with_argument(
        "kind",
        "regclass, regtype, regproc, regprocedure, regnamespace or regrole.",
    )
    .build()
});

/// PostgreSQL's error for `name` of `kind` not found.
fn missing(kind: &str, name: &str) -> datafusion::common::DataFusionError {
    let (code, what) = match kind {
        "regclass" => (sqlstate::UNDEFINED_TABLE, "relation"),
        "regtype" => (sqlstate::UNDEFINED_OBJECT, "type"),
        "regproc" | "regprocedure" => (sqlstate::UNDEFINED_FUNCTION, "function"),
        "regrole" => (sqlstate::UNDEFINED_OBJECT, "role"),
        _ => (sqlstate::INVALID_SCHEMA_NAME, "schema"),
    };
    sql_error(code, format!("{what} \"{name}\" does not exist"))
}

fn text(value: &ColumnarValue, rows: usize) -> Result<Vec<Option<String>>> {
    let array = cast(&value.to_array(rows)?, &DataType::Utf8)?;
    Ok(array
        .as_string::<i32>()
        .iter()
        .map(|s| s.map(str::to_string))
        .collect())
}

impl ScalarUDFImpl for RegFound {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args.first() {
            Some(DataType::Null) | None => Ok(DataType::Int32),
            Some(t) if t.is_integer() => Ok(t.clone()),
            Some(t) => exec_err!("{NAME}: an OID is an integer, not {t}"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [oid, name, kind] = args.args.as_slice() else {
            return exec_err!("{NAME} takes three arguments");
        };
        let names = text(name, rows)?;
        let kinds = text(kind, rows)?;
        let oids = cast(&oid.to_array(rows)?, &DataType::Int64)?;
        let oids = oids.as_primitive::<Int64Type>();
        for i in 0..rows {
            let (Some(name), Some(kind)) = (&names[i], &kinds[i]) else {
                continue;
            };
            if oids.is_null(i) {
                return Err(missing(kind, name));
            }
            if oids.value(i) == AMBIGUOUS {
                return Err(sql_error(
                    sqlstate::AMBIGUOUS_FUNCTION,
                    format!("more than one function named \"{name}\""),
                ));
            }
        }
        // A NULL name gives NULL, whatever the lookup said.
        let found: Int64Array = (0..rows)
            .map(|i| {
                names[i]
                    .as_ref()
                    .and((!oids.is_null(i)).then(|| oids.value(i)))
            })
            .collect();
        Ok(ColumnarValue::Array(cast(
            &found,
            args.return_field.data_type(),
        )?))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_by_kind() {
        let code = |kind: &str| match missing(kind, "x") {
            datafusion::common::DataFusionError::External(e) => e
                .downcast_ref::<cip_udfs::error::SqlError>()
                .map(|e| e.sqlstate),
            _ => None,
        };
        assert_eq!(code("regclass"), Some("42P01"));
        assert_eq!(code("regtype"), Some("42704"));
        assert_eq!(code("regproc"), Some("42883"));
        assert_eq!(code("regprocedure"), Some("42883"));
        assert_eq!(code("regnamespace"), Some("3F000"));
    }
}
