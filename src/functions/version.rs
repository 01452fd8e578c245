//! `version()` as PostgreSQL clients expect it: SQLAlchemy and others parse the server
//! version from it and refuse to connect when it does not start with "PostgreSQL".

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{utils::take_function_args, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, DocSection, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};
use std::sync::LazyLock;

pub use crate::settings::pg::PG_COMPAT_VERSION;

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PgVersion {
    signature: Signature,
}

impl PgVersion {
    pub fn new() -> Self {
        PgVersion {
            signature: Signature::nullary(Volatility::Immutable),
        }
    }
}

pub fn version_string() -> String {
    format!(
        "PostgreSQL {PG_COMPAT_VERSION} (cip {} on Apache DataFusion {}, {}-{})",
        env!("CARGO_PKG_VERSION"),
        datafusion::DATAFUSION_VERSION,
        std::env::consts::ARCH,
        std::env::consts::OS
    )
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        DocSection {
            include: true,
            label: "Other Functions",
            description: None,
        },
        "Returns the server version in PostgreSQL's format, naming cip and DataFusion.",
        "version()",
    )
    .with_sql_example("SELECT version();\n-- PostgreSQL 16.6 (cip 0.1.0 on Apache DataFusion 55.2.0, x86_64-linux)")
    .build()
});

impl ScalarUDFImpl for PgVersion {
    fn name(&self) -> &str {
        "version"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let [] = take_function_args(self.name(), args)?;
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [] = take_function_args(self.name(), args.args)?;
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(
            version_string(),
        ))))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}
