//! Session settings of cip, set per session with `SET cip.<name> = …` and read with
//! `SHOW cip.<name>`. They live in DataFusion's config as the `cip` extension, so every
//! session (every pgwire connection) has its own.

use chrono::NaiveDate;
use datafusion::common::config::{ConfigExtension, ConfigField, Visit};
use datafusion::common::{extensions_options, DataFusionError, Result};

/// The business date every time-dependent view is computed as of; `today` by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AsOf(pub Option<NaiveDate>);

impl AsOf {
    /// The date in force: the set one, else today in `tz`.
    pub fn date(&self, tz: chrono_tz::Tz) -> NaiveDate {
        self.0
            .unwrap_or_else(|| chrono::Utc::now().with_timezone(&tz).date_naive())
    }
}

impl ConfigField for AsOf {
    fn visit<V: Visit>(&self, v: &mut V, key: &str, description: &'static str) {
        match self.0 {
            Some(d) => v.some(key, d, description),
            None => v.some(key, "today", description),
        }
    }

    fn set(&mut self, _key: &str, value: &str) -> Result<()> {
        let value = value.trim().trim_matches('\'');
        if value.is_empty()
            || value.eq_ignore_ascii_case("today")
            || value.eq_ignore_ascii_case("default")
        {
            self.0 = None;
            return Ok(());
        }
        let date = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
            DataFusionError::Configuration(format!(
                "invalid value for cip.as_of: {value:?} (expected a date YYYY-MM-DD, or 'today')"
            ))
        })?;
        self.0 = Some(date);
        Ok(())
    }

    fn reset(&mut self, _key: &str) -> Result<()> {
        self.0 = None;
        Ok(())
    }
}

extensions_options! {
    /// cip's per-session settings.
    pub struct CipOptions {
        /// The business date views are computed as of (YYYY-MM-DD); default: today.
        pub as_of: AsOf, default = AsOf::default()
    }
}

impl ConfigExtension for CipOptions {
    const PREFIX: &'static str = "cip";
}

/// The value of a `cip.*` setting in this session, for `SHOW cip.<name>`; None when `name`
/// is not one of ours. An unknown `cip.*` name is an error (42704).
pub fn show(
    ctx: &datafusion::prelude::SessionContext,
    name: &str,
) -> Option<crate::error::Result<datafusion::arrow::record_batch::RecordBatch>> {
    use datafusion::arrow::array::StringArray;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::common::config::ExtensionOptions;
    let key = name.to_ascii_lowercase();
    let field = key.strip_prefix("cip.")?.to_string();
    let state = ctx.state();
    let value = state
        .config()
        .options()
        .extensions
        .get::<CipOptions>()
        .and_then(|o| o.entries().into_iter().find(|e| e.key == field))
        .map(|e| e.value.unwrap_or_default());
    Some(match value {
        None => Err(crate::error::CipError::invalid(
            "42704",
            format!("unrecognized configuration parameter \"{name}\""),
        )),
        Some(v) => {
            let schema =
                std::sync::Arc::new(Schema::new(vec![Field::new(&key, DataType::Utf8, false)]));
            datafusion::arrow::record_batch::RecordBatch::try_new(
                schema,
                vec![std::sync::Arc::new(StringArray::from(vec![v]))],
            )
            .map_err(Into::into)
        }
    })
}

/// The dotted name of a SHOW variable, as the parser splits it (`cip.as_of`).
pub fn variable_name(parts: &[datafusion::sql::sqlparser::ast::Ident]) -> String {
    parts
        .iter()
        .map(|i| i.value.as_str())
        .collect::<Vec<_>>()
        .join(".")
}
