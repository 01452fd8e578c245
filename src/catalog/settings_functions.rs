//! `current_setting(name [, missing_ok])` and `set_config(name, value, is_local)`: the
//! function forms of SHOW and SET, over the same session table (settings::pg) plus the
//! session's `cip.*` and `datafusion.*` options. asyncpg calls `set_config('jit', 'off', …)`
//! on every new connection; Grafana reads `current_setting('search_path')`.

use crate::error::sqlstate;
use crate::settings::pg::{unknown, PgSettings};
use crate::settings::CipOptions;
use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::{ConfigOptions, ExtensionOptions};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, DocSection, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, TypeSignature, Volatility,
};
use datafusion::prelude::SessionContext;
use std::sync::{Arc, LazyLock};

pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::from(CurrentSetting::new()));
    ctx.register_udf(ScalarUDF::from(SetConfig::new()));
    // The session's user (datafusion-pg-catalog's answers "postgres" whoever logged in).
    for name in ["session_user", "current_user"] {
        ctx.register_udf(ScalarUDF::from(SessionUser {
            name,
            signature: Signature::nullary(Volatility::Stable),
        }));
    }
}

/// `current_setting` alone: what a Ballista process needs of these (the views read
/// `cip.*` settings through it; src/cluster).
pub fn current_setting() -> ScalarUDF {
    ScalarUDF::from(CurrentSetting::new())
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct SessionUser {
    name: &'static str,
    signature: Signature,
}

static SESSION_USER_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        SECTION,
        "The user the session logged in as (PostgreSQL's session_user / current_user).",
        "session_user()",
    )
    .with_sql_example("SELECT session_user")
    .build()
});

impl ScalarUDFImpl for SessionUser {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&SESSION_USER_DOC)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let user = value_of(&args.config_options, "session_authorization");
        Ok(ColumnarValue::Scalar(
            datafusion::common::ScalarValue::Utf8(user),
        ))
    }
}

const SECTION: DocSection = DocSection {
    include: true,
    label: "PostgreSQL settings",
    description: Some("Read and change a session's run-time parameters."),
};

/// The value of `name` in the session whose options these are.
fn value_of(options: &ConfigOptions, name: &str) -> Option<String> {
    let key = name.to_ascii_lowercase();
    if let Some(field) = key.strip_prefix("cip.") {
        return options
            .extensions
            .get::<CipOptions>()
            .and_then(|o| o.entries().into_iter().find(|e| e.key == field))
            .map(|e| e.value.unwrap_or_default());
    }
    if key.starts_with("datafusion.") {
        return options
            .entries()
            .into_iter()
            .find(|e| e.key == key)
            .map(|e| e.value.unwrap_or_default());
    }
    PgSettings::of(options)?.get(name)
}

fn texts(array: &ArrayRef, what: &str) -> Result<StringArray> {
    match datafusion::arrow::compute::cast(array, &DataType::Utf8) {
        Ok(a) => Ok(a
            .as_any()
            .downcast_ref::<StringArray>()
            .cloned()
            .unwrap_or_else(|| StringArray::from(Vec::<Option<String>>::new()))),
        Err(_) => exec_err!("{what} must be text"),
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct CurrentSetting {
    signature: Signature,
}

impl CurrentSetting {
    fn new() -> Self {
        CurrentSetting {
            signature: Signature::one_of(
                vec![
                    TypeSignature::Exact(vec![DataType::Utf8]),
                    TypeSignature::Exact(vec![DataType::Utf8, DataType::Boolean]),
                ],
                Volatility::Stable,
            ),
        }
    }
}

static CURRENT_SETTING_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        SECTION,
        "The session's value of a run-time parameter (PostgreSQL's, cip.*, or \
         datafusion.*); an unknown name is an error (42704), or NULL with missing_ok.",
        "current_setting(name [, missing_ok])",
    )
    .with_sql_example("SELECT current_setting('TimeZone'), current_setting('cip.as_of')")
    .build()
});

impl ScalarUDFImpl for CurrentSetting {
    fn name(&self) -> &str {
        "current_setting"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&CURRENT_SETTING_DOC)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let options = args.config_options.clone();
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let names = texts(&arrays[0], "a setting's name")?;
        let missing_ok = arrays
            .get(1)
            .and_then(|a| a.as_any().downcast_ref::<BooleanArray>().cloned());
        let mut out = Vec::with_capacity(names.len());
        for row in 0..names.len() {
            if names.is_null(row) {
                out.push(None);
                continue;
            }
            let name = names.value(row);
            match value_of(&options, name) {
                Some(v) => out.push(Some(v)),
                None if missing_ok
                    .as_ref()
                    .is_some_and(|m| !m.is_null(row) && m.value(row)) =>
                {
                    out.push(None)
                }
                None => return Err(crate::error::to_df(unknown(name))),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(StringArray::from(out))))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct SetConfig {
    signature: Signature,
}

impl SetConfig {
    fn new() -> Self {
        SetConfig {
            signature: Signature::exact(
                vec![DataType::Utf8, DataType::Utf8, DataType::Boolean],
                // It changes the session: never folded, run once per row as PostgreSQL does.
                Volatility::Volatile,
            ),
        }
    }
}

static SET_CONFIG_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        SECTION,
        "Sets a PostgreSQL run-time parameter of the session, as SET does, and returns its \
         new value. cip.* and datafusion.* settings are changed with SET.",
        "set_config(name, value, is_local)",
    )
    .with_sql_example("SELECT set_config('application_name', 'report', false)")
    .build()
});

impl ScalarUDFImpl for SetConfig {
    fn name(&self) -> &str {
        "set_config"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&SET_CONFIG_DOC)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let options = args.config_options.clone();
        let Some(settings) = PgSettings::of(&options) else {
            return exec_err!("set_config needs a cip session");
        };
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let names = texts(&arrays[0], "a setting's name")?;
        let values = texts(&arrays[1], "a setting's value")?;
        let mut out = Vec::with_capacity(names.len());
        for row in 0..names.len() {
            if names.is_null(row) {
                return Err(crate::error::to_df(crate::error::CipError::invalid(
                    sqlstate::NULL_VALUE_NOT_ALLOWED,
                    "set_config: the parameter name must not be NULL",
                )));
            }
            let name = names.value(row);
            let lower = name.to_ascii_lowercase();
            if lower.starts_with("cip.") || lower.starts_with("datafusion.") {
                return Err(crate::error::to_df(crate::error::CipError::invalid(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!("set_config cannot change {name}: use SET {name} = …"),
                )));
            }
            let value = (!values.is_null(row)).then(|| values.value(row));
            settings.set(name, value).map_err(crate::error::to_df)?;
            out.push(settings.get(name));
        }
        Ok(ColumnarValue::Array(Arc::new(StringArray::from(out))))
    }
}
