//! `array_to_string(NULL, sep)` is NULL, as in PostgreSQL. DataFusion's function plans an
//! untyped NULL and then fails when it runs ("array_to_string expects list as first
//! argument"), which a catalog query meets whenever a subquery over no rows stands in for an
//! array (psql's `\dp`: the policies' role lists). This wraps DataFusion's function and answers
//! a NULL-typed array itself; every other call is DataFusion's.

use datafusion::arrow::array::new_null_array;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::functions_nested::string::array_to_string_udf;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};
use datafusion::prelude::SessionContext;
use std::sync::Arc;

pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::from(NullTolerant {
        inner: array_to_string_udf(),
    }));
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct NullTolerant {
    inner: Arc<ScalarUDF>,
}

impl ScalarUDFImpl for NullTolerant {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        self.inner.return_type(args)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        match args.args.first().map(|a| a.data_type()) {
            Some(DataType::Null) => Ok(match &args.args[0] {
                ColumnarValue::Scalar(_) => ColumnarValue::Scalar(ScalarValue::Utf8(None)),
                ColumnarValue::Array(a) => {
                    ColumnarValue::Array(new_null_array(&DataType::Utf8, a.len()))
                }
            }),
            _ => self.inner.invoke_with_args(args),
        }
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}
