//! Integer literals for the OID and integer arguments of datafusion-pg-catalog's functions.
//! It declares them with exact Arrow types (`pg_table_is_visible(Int32)`), so
//! `pg_table_is_visible(1259)`, `pg_encoding_to_char(6)` or `pg_relation_size(16390)` —
//! an integer literal is Int64 here — failed with "Failed to coerce arguments", where
//! PostgreSQL reads the literal as the oid or integer asked for. Each such function is
//! registered again with the same behaviour, admitting any integer (or NULL) where it wants
//! an Int32 and any text where it wants text; DataFusion casts the arguments to the declared
//! types before the call.

use datafusion::arrow::array::{Array, BooleanArray};
use datafusion::arrow::compute::kernels::boolean::or;
use datafusion::arrow::compute::{is_null, nullif};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, TypeSignature,
};
use datafusion::prelude::SessionContext;
use std::collections::HashSet;
use std::sync::Arc;

/// The names of the scalar functions registered on `ctx`.
pub fn names(ctx: &SessionContext) -> HashSet<String> {
    ctx.state().scalar_functions().keys().cloned().collect()
}

/// Re-registers each function not in `before` whose one signature is exact and takes an
/// Int32, so that any integer is cast to it.
pub fn widen(ctx: &SessionContext, before: &HashSet<String>) {
    let state = ctx.state();
    let added: Vec<Arc<ScalarUDF>> = state
        .scalar_functions()
        .iter()
        .filter(|(name, _)| !before.contains(*name))
        .map(|(_, f)| f.clone())
        .collect();
    for f in added {
        let TypeSignature::Exact(types) = &f.signature().type_signature else {
            continue;
        };
        if !types.contains(&DataType::Int32) {
            continue;
        }
        let wanted = types.clone();
        let signature = Signature::user_defined(f.signature().volatility);
        ctx.register_udf(ScalarUDF::from(Widened {
            inner: f,
            wanted,
            signature,
        }));
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Widened {
    inner: Arc<ScalarUDF>,
    wanted: Vec<DataType>,
    signature: Signature,
}

/// Whether an argument of type `given` may be cast to the declared `wanted`.
fn admits(given: &DataType, wanted: &DataType) -> bool {
    given == wanted
        || given.is_null()
        || (wanted.is_integer() && given.is_integer())
        || (matches!(
            wanted,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ) && matches!(
            given,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ))
}

impl ScalarUDFImpl for Widened {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, given: &[DataType]) -> Result<Vec<DataType>> {
        if given.len() == self.wanted.len()
            && given.iter().zip(&self.wanted).all(|(g, w)| admits(g, w))
        {
            return Ok(self.wanted.clone());
        }
        plan_err!(
            "function {}({}) does not exist; it takes ({})",
            self.name(),
            given
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            self.wanted
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        self.inner.return_type(args)
    }

    fn return_field_from_args(
        &self,
        args: ReturnFieldArgs,
    ) -> Result<datafusion::arrow::datatypes::FieldRef> {
        self.inner.return_field_from_args(args)
    }

    /// Strict, as PostgreSQL declares each of these: a row with a NULL argument gives NULL
    /// (datafusion-pg-catalog's answered `pg_table_is_visible(NULL)` with true).
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let returns = args.return_field.data_type().clone();
        if args
            .args
            .iter()
            .any(|a| matches!(a, ColumnarValue::Scalar(v) if v.is_null()))
        {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from(&returns)?));
        }
        let mut missing: Option<BooleanArray> = None;
        for a in &args.args {
            if let ColumnarValue::Array(a) = a {
                if a.null_count() > 0 {
                    let nulls = is_null(a)?;
                    missing = Some(match missing {
                        Some(m) => or(&m, &nulls)?,
                        None => nulls,
                    });
                }
            }
        }
        let rows = args.number_rows;
        let out = self.inner.invoke_with_args(args)?;
        match missing {
            None => Ok(out),
            Some(mask) => Ok(ColumnarValue::Array(nullif(&out.to_array(rows)?, &mask)?)),
        }
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

#[cfg(test)]
mod tests {
    use super::admits;
    use datafusion::arrow::datatypes::DataType;

    #[test]
    fn integers_and_texts_are_admitted_for_their_kind_only() {
        assert!(admits(&DataType::Int64, &DataType::Int32));
        assert!(admits(&DataType::Null, &DataType::Int32));
        assert!(admits(&DataType::Utf8View, &DataType::Utf8));
        assert!(!admits(&DataType::Utf8, &DataType::Int32));
        assert!(!admits(&DataType::Float64, &DataType::Int32));
        assert!(!admits(&DataType::Int64, &DataType::Utf8));
    }
}
