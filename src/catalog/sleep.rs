//! PostgreSQL's `pg_sleep(seconds)`: the statement waits, once per row it is called for. Test
//! scripts, load tools and people trying out cancel and statement_timeout use it. It is an
//! asynchronous function: a sleeping statement holds no thread, and a cancel request,
//! pg_cancel_backend or statement_timeout ends the wait (57014), as in PostgreSQL.

use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, AsArray, NullArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::async_udf::{AsyncScalarUDF, AsyncScalarUDFImpl};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

pub fn register(ctx: &SessionContext) {
    let sleep = Sleep {
        signature: Signature::exact(vec![DataType::Float64], Volatility::Volatile),
    };
    ctx.register_udf(AsyncScalarUDF::new(Arc::new(sleep)).into_scalar_udf());
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Sleep {
    signature: Signature,
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::SECTION,
        "Waits this many seconds (fractions too) each time it is called, then returns \
         nothing. Zero, a negative number or NULL waits not. A cancel request, \
         pg_cancel_backend or statement_timeout ends the wait with 57014.",
        "pg_sleep(seconds)",
    )
    .with_sql_example("SELECT pg_sleep(0.5);")
    .with_argument("seconds", "How long to wait.")
    .build()
});

/// How long one call waits: nothing for NULL, zero, negative or NaN, as PostgreSQL.
fn wait_of(seconds: Option<f64>) -> Duration {
    match seconds {
        Some(s) if s > 0.0 => Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX),
        _ => Duration::ZERO,
    }
}

impl ScalarUDFImpl for Sleep {
    fn name(&self) -> &str {
        "pg_sleep"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Null)
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        exec_err!("pg_sleep runs asynchronously")
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

#[async_trait]
impl AsyncScalarUDFImpl for Sleep {
    async fn invoke_async_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let Some(seconds) = args.args.first() else {
            return exec_err!("pg_sleep takes the seconds to wait");
        };
        let seconds = cast(&seconds.to_array(n)?, &DataType::Float64)?;
        for s in seconds.as_primitive::<Float64Type>().iter() {
            let wait = wait_of(s);
            if !wait.is_zero() {
                // Dropped when the statement is stopped: the wait ends there.
                tokio::time::sleep(wait).await;
            }
        }
        Ok(ColumnarValue::Array(Arc::new(NullArray::new(n)) as ArrayRef))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_positive_number_of_seconds_waits() {
        assert_eq!(wait_of(Some(0.25)), Duration::from_millis(250));
        for none in [None, Some(0.0), Some(-1.0), Some(f64::NAN)] {
            assert_eq!(wait_of(none), Duration::ZERO);
        }
        assert_eq!(wait_of(Some(f64::INFINITY)), Duration::MAX);
    }
}
