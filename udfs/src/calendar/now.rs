//! `now()` / `CURRENT_TIMESTAMP` as cip's timestamps need them: the local wall-clock time in
//! cip.timezone (the venues' timezone), as a timestamp without time zone. cip stores local
//! wall-clock time (a POS prints it; business days are cut on it), as PostgreSQL does when
//! `now()` is stored in a `timestamp` column with TimeZone set; DataFusion's own `now()` is
//! UTC, so a visit inserted with it landed hours away from the events cip itself stamps.

use crate::session::CipOptions;
use chrono::{DateTime, Utc};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::config::ConfigOptions;
use datafusion::common::{internal_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use std::sync::OnceLock;

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LocalNowUdf {
    signature: Signature,
    aliases: Vec<String>,
}

impl LocalNowUdf {
    pub fn new() -> Self {
        LocalNowUdf {
            // Stable: one value per statement (the statement's start time).
            signature: Signature::nullary(Volatility::Stable),
            aliases: vec!["current_timestamp".to_string()],
        }
    }
}

impl Default for LocalNowUdf {
    fn default() -> Self {
        Self::new()
    }
}

/// `at` as local wall-clock time in the session's cip.timezone, in nanoseconds.
fn local_nanos(at: DateTime<Utc>, config: &ConfigOptions) -> Result<Option<i64>> {
    let tz = CipOptions::of(config).tz()?;
    Ok(at
        .with_timezone(&tz)
        .naive_local()
        .and_utc()
        .timestamp_nanos_opt())
}

impl ScalarUDFImpl for LocalNowUdf {
    fn name(&self) -> &str {
        "now"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn aliases(&self) -> &[String] {
        &self.aliases
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        if !args.is_empty() {
            return plan_err!(
                "type mismatch: now() takes no arguments, got {}",
                args.len()
            );
        }
        Ok(DataType::Timestamp(TimeUnit::Nanosecond, None))
    }
    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        let Some(start) = info.query_execution_start_time() else {
            return Ok(ExprSimplifyResult::Original(args));
        };
        let nanos = local_nanos(start, info.config_options())?;
        Ok(ExprSimplifyResult::Simplified(Expr::Literal(
            ScalarValue::TimestampNanosecond(nanos, None),
            None,
        )))
    }
    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        // As DataFusion's own now(): planning replaces every call by the statement's start
        // time (simplify), so all calls of a statement agree. Answering here instead would
        // let constant folding give each call its own instant.
        internal_err!("now() is replaced by the statement's start time when planned")
    }
    fn documentation(&self) -> Option<&Documentation> {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        Some(DOC.get_or_init(|| {
            Documentation::builder(
                super::SECTION,
                "The current local wall-clock time in cip.timezone (the venues' timezone, \
                 [time] timezone by default), as a timestamp without time zone: what cip \
                 stores in its timestamp columns. One value for the whole statement. \
                 Also CURRENT_TIMESTAMP.",
                "now()",
            )
            .with_sql_example(
                "SET cip.timezone = 'Asia/Shanghai';\nSELECT now(); -- 2026-12-01T23:43:29.496 when it is 15:43:29 UTC",
            )
            .build()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_time_in_the_session_timezone() {
        let mut config = ConfigOptions::default();
        config.extensions.insert(CipOptions::default());
        let at = DateTime::parse_from_rfc3339("2026-12-01T15:43:29Z")
            .unwrap()
            .with_timezone(&Utc);
        let local = local_nanos(at, &config).unwrap().unwrap();
        let shown = DateTime::from_timestamp_nanos(local)
            .naive_utc()
            .to_string();
        assert_eq!(shown, "2026-12-01 23:43:29");
    }
}
