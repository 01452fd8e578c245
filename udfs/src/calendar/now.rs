//! `now()` / `CURRENT_TIMESTAMP` as cip's timestamps need them: the local wall-clock time in
//! cip.timezone (the venues' timezone), as a timestamp without time zone. cip stores local
//! wall-clock time (a POS prints it; business days are cut on it), as PostgreSQL does when
//! `now()` is stored in a `timestamp` column with TimeZone set; DataFusion's own `now()` is
//! UTC, so a visit inserted with it landed hours away from the events cip itself stamps.
//! CURRENT_DATE and CURRENT_TIME read the same local clock: UTC's date is the venues'
//! yesterday for eight hours of every Shanghai morning.

use crate::session::CipOptions;
use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::config::ConfigOptions;
use datafusion::common::{internal_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use std::sync::OnceLock;

/// What a clock function reads of the statement's local start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Clock {
    /// `now()`, CURRENT_TIMESTAMP, LOCALTIMESTAMP: the timestamp.
    Timestamp,
    /// CURRENT_DATE: its date — the venue's calendar date, not UTC's.
    Date,
    /// CURRENT_TIME, LOCALTIME: its time of day.
    Time,
    /// clock_timestamp(): the time when it is called, not the statement's start.
    Wall,
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LocalNowUdf {
    clock: Clock,
    signature: Signature,
    aliases: Vec<String>,
}

impl LocalNowUdf {
    pub fn new() -> Self {
        Self::reading(Clock::Timestamp)
    }

    pub fn reading(clock: Clock) -> Self {
        let aliases: &[&str] = match clock {
            // PostgreSQL's statement_timestamp() is the statement's start, as now() is here;
            // its transaction_timestamp() is now() itself.
            Clock::Timestamp => &[
                "current_timestamp",
                "localtimestamp",
                "statement_timestamp",
                "transaction_timestamp",
            ],
            Clock::Date | Clock::Wall => &[],
            Clock::Time => &["localtime"],
        };
        LocalNowUdf {
            clock,
            // Stable: one value per statement (the statement's start time); the wall clock
            // moves while the statement runs.
            signature: Signature::nullary(match clock {
                Clock::Wall => Volatility::Volatile,
                _ => Volatility::Stable,
            }),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
        }
    }
}

impl Default for LocalNowUdf {
    fn default() -> Self {
        Self::new()
    }
}

/// `at` as local wall-clock time in the session's cip.timezone.
fn local(at: DateTime<Utc>, config: &ConfigOptions) -> Result<NaiveDateTime> {
    let tz = CipOptions::of(config).tz()?;
    Ok(at.with_timezone(&tz).naive_local())
}

impl ScalarUDFImpl for LocalNowUdf {
    fn name(&self) -> &str {
        match self.clock {
            Clock::Timestamp => "now",
            Clock::Date => "current_date",
            Clock::Time => "current_time",
            Clock::Wall => "clock_timestamp",
        }
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
                "type mismatch: {}() takes no arguments, got {}",
                self.name(),
                args.len()
            );
        }
        Ok(match self.clock {
            Clock::Timestamp | Clock::Wall => DataType::Timestamp(TimeUnit::Nanosecond, None),
            Clock::Date => DataType::Date32,
            Clock::Time => DataType::Time64(TimeUnit::Nanosecond),
        })
    }
    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        if self.clock == Clock::Wall {
            return Ok(ExprSimplifyResult::Original(args));
        }
        let Some(start) = info.query_execution_start_time() else {
            return Ok(ExprSimplifyResult::Original(args));
        };
        let at = local(start, info.config_options())?;
        let value = match self.clock {
            Clock::Timestamp | Clock::Wall => {
                ScalarValue::TimestampNanosecond(at.and_utc().timestamp_nanos_opt(), None)
            }
            Clock::Date => ScalarValue::Date32(Some(
                (at.date() - chrono::NaiveDate::default()).num_days() as i32,
            )),
            Clock::Time => {
                let t = at.time();
                let nanos = i64::from(t.num_seconds_from_midnight()) * 1_000_000_000
                    + i64::from(t.nanosecond());
                ScalarValue::Time64Nanosecond(Some(nanos))
            }
        };
        Ok(ExprSimplifyResult::Simplified(Expr::Literal(value, None)))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if self.clock == Clock::Wall {
            let at = local(Utc::now(), &args.config_options)?;
            let nanos = at.and_utc().timestamp_nanos_opt();
            return Ok(ColumnarValue::Scalar(ScalarValue::TimestampNanosecond(
                nanos, None,
            )));
        }
        // As DataFusion's own now(): planning replaces every call by the statement's start
        // time (simplify), so all calls of a statement agree. Answering here instead would
        // let constant folding give each call its own instant.
        internal_err!(
            "{}() is replaced by the statement's start time when planned",
            self.name()
        )
    }
    fn documentation(&self) -> Option<&Documentation> {
        static DOCS: [OnceLock<Documentation>; 4] = [
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
        ];
        let (slot, text, syntax, example) = match self.clock {
            Clock::Timestamp => (
                0,
                "The current local wall-clock time in cip.timezone (the venues' timezone, \
                 [time] timezone by default), as a timestamp without time zone: what cip \
                 stores in its timestamp columns. One value for the whole statement. \
                 Also CURRENT_TIMESTAMP, LOCALTIMESTAMP, statement_timestamp() and \
                 transaction_timestamp().",
                "now()",
                "SET cip.timezone = 'Asia/Shanghai';\nSELECT now(); -- 2026-12-01T23:43:29.496 when it is 15:43:29 UTC",
            ),
            Clock::Date => (
                1,
                "Today's date in cip.timezone (the venues' calendar date, not UTC's), from the \
                 statement's start time as now() is.",
                "current_date",
                "SET cip.timezone = 'Asia/Shanghai';\nSELECT current_date; -- 2026-12-02 when it is 2026-12-01 16:05 UTC",
            ),
            Clock::Time => (
                2,
                "The current local time of day in cip.timezone, from the statement's start \
                 time as now() is. Also LOCALTIME.",
                "current_time",
                "SET cip.timezone = 'Asia/Shanghai';\nSELECT current_time; -- 00:05:00 when it is 16:05 UTC",
            ),
            Clock::Wall => (
                3,
                "The local wall-clock time in cip.timezone when it is called (it moves while \
                 a statement runs, unlike now()), as a timestamp without time zone.",
                "clock_timestamp()",
                "SELECT clock_timestamp() >= now(); -- true",
            ),
        };
        Some(DOCS[slot].get_or_init(|| {
            Documentation::builder(super::SECTION, text, syntax)
                .with_sql_example(example)
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
        assert_eq!(
            local(at, &config).unwrap().to_string(),
            "2026-12-01 23:43:29"
        );
        // After the venues' midnight, their date is a day ahead of UTC's.
        let late = DateTime::parse_from_rfc3339("2026-12-01T16:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            local(late, &config).unwrap().date().to_string(),
            "2026-12-02"
        );
    }
}
