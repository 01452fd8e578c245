//! A quoted literal cast to a date or a timestamp — `TIMESTAMP '2026-01-01 10:00'`,
//! `'2026-01-01 10:00'::timestamp`, or a literal DataFusion's type coercion casts to meet a
//! timestamp column (`WHERE visit_time > '2026-10-01 08:00'`) — read with PostgreSQL's
//! input rules (datetime_input.rs) rather than Arrow's. Arrow refuses a time without seconds,
//! month names and the special words, and it moves a `timestamp` literal with a zone to UTC
//! (`TIMESTAMP '… 10:00+08'` became 02:00), where PostgreSQL ignores the zone of a timestamp
//! without time zone. Text neither reads is 22007, as in PostgreSQL.
//!
//! It runs after DataFusion's type coercion, which is what makes these casts. 'now', 'today'
//! and the like are the local wall-clock time in cip.timezone, as `now()` is; 'now' for a
//! timestamp without time zone is `now()` itself.

use super::datetime_input::{parse, Input};
use chrono::{NaiveDateTime, Utc};
use cip_udfs::error::sql_error;
use cip_udfs::session::CipOptions;
use cip_udfs::sqlstate;
use cip_udfs::LocalNowUdf;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Result, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{cast, Cast, Expr, LogicalPlan, ScalarUDF, TryCast};
use datafusion::optimizer::analyzer::AnalyzerRule;
use std::sync::Arc;

#[derive(Debug)]
pub struct DatetimeLiterals;

impl AnalyzerRule for DatetimeLiterals {
    fn name(&self) -> &str {
        "cip_datetime_literals"
    }

    fn analyze(&self, plan: LogicalPlan, config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            // Most nodes of most plans have no such literal, and every statement is analysed:
            // look before saving names.
            if !super::any_expression(&node, |e| candidate(e).is_some())? {
                return Ok(Transformed::no(node));
            }
            // A literal's name is its text: the node keeps the names it had, as DataFusion's
            // type coercion does when it rewrites expressions.
            let names = NamePreserver::new(&node);
            node.map_expressions(|e| {
                let name = names.save(&e);
                e.transform_up(|e| literal(e, config))?
                    .map_data(|e| Ok(name.restore(e)))
            })
        })
        .map(|t| t.data)
    }
}

/// A text literal cast to a date or a timestamp: its text, the type, and whether the cast is
/// strict (CAST) rather than TRY_CAST.
fn candidate(e: &Expr) -> Option<(&str, &DataType, bool)> {
    let (text, data_type, strict) = match e {
        Expr::Cast(Cast { expr, field }) => (super::text_literal(expr)?, field.data_type(), true),
        Expr::TryCast(TryCast { expr, field }) => {
            (super::text_literal(expr)?, field.data_type(), false)
        }
        _ => return None,
    };
    matches!(
        data_type,
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
    )
    .then_some((text, data_type, strict))
}

fn literal(e: Expr, config: &ConfigOptions) -> Result<Transformed<Expr>> {
    let Some((text, data_type, strict)) = candidate(&e) else {
        return Ok(Transformed::no(e));
    };
    let input = parse(text);
    if input == Some(Input::Now) && matches!(data_type, DataType::Timestamp(_, None)) {
        // now() itself, so that 'now' is the statement's time as now() is (PostgreSQL: both
        // are the transaction's start).
        let now = Expr::ScalarFunction(ScalarFunction::new_udf(
            Arc::new(ScalarUDF::from(LocalNowUdf::new())),
            vec![],
        ));
        return Ok(Transformed::yes(cast(now, data_type.clone())));
    }
    let value = match input {
        Some(input) => value(input, data_type, config)?,
        None => None,
    };
    if let Some(value) = value {
        return Ok(Transformed::yes(Expr::Literal(value, None)));
    }
    // What PostgreSQL's rules do not read, Arrow may (it is left to cast at run time);
    // text neither reads is PostgreSQL's error.
    if !strict
        || ScalarValue::Utf8(Some(text.to_string()))
            .cast_to(data_type)
            .is_ok()
    {
        return Ok(Transformed::no(e));
    }
    let type_name = match data_type {
        DataType::Timestamp(..) => "timestamp",
        _ => "date",
    };
    Err(sql_error(
        sqlstate::INVALID_DATETIME_FORMAT,
        format!("invalid input syntax for type {type_name}: \"{text}\""),
    ))
}

/// The literal of `data_type` for `input`; None when it does not fit the type.
fn value(
    input: Input,
    data_type: &DataType,
    config: &ConfigOptions,
) -> Result<Option<ScalarValue>> {
    let local_now = || -> Result<NaiveDateTime> {
        Ok(Utc::now()
            .with_timezone(&CipOptions::of(config).tz()?)
            .naive_local())
    };
    // The wall-clock time the literal names, and the UTC instant when a zone was written.
    let (wall, offset) = match input {
        Input::At(t, offset) => (t, offset),
        Input::Now => (local_now()?, None),
        Input::Midnight(days) => {
            let today = local_now()?.date();
            let Some(day) = today.checked_add_signed(chrono::TimeDelta::days(days)) else {
                return Ok(None);
            };
            (day.and_time(chrono::NaiveTime::MIN), None)
        }
    };
    Ok(match data_type {
        DataType::Date32 => {
            let days = wall
                .date()
                .signed_duration_since(chrono::DateTime::UNIX_EPOCH.date_naive());
            i32::try_from(days.num_days())
                .ok()
                .map(|d| ScalarValue::Date32(Some(d)))
        }
        DataType::Date64 => Some(ScalarValue::Date64(Some(wall.and_utc().timestamp_millis()))),
        // A timestamp without time zone keeps the wall-clock time and ignores a written
        // zone, as PostgreSQL does.
        DataType::Timestamp(unit, None) => in_unit(wall, unit).map(|v| timestamp(v, unit, None)),
        DataType::Timestamp(unit, Some(zone)) => {
            let utc = match offset {
                Some(offset) => wall - offset,
                // Read in the session's TimeZone, as PostgreSQL reads a timestamptz: cip's
                // timestamptz type carries the venues' zone, which SET TimeZone may differ from.
                None => {
                    let Ok(tz) = crate::catalog::datetime_text::Zones::of(config).for_values(zone)
                    else {
                        return Ok(None);
                    };
                    match wall.and_local_timezone(tz).single() {
                        Some(t) => t.naive_utc(),
                        None => return Ok(None),
                    }
                }
            };
            in_unit(utc, unit).map(|v| timestamp(v, unit, Some(zone.clone())))
        }
        _ => None,
    })
}

/// `t` (as UTC) since the epoch in `unit`; None beyond the unit's range.
fn in_unit(t: NaiveDateTime, unit: &TimeUnit) -> Option<i64> {
    let t = t.and_utc();
    match unit {
        TimeUnit::Second => Some(t.timestamp()),
        TimeUnit::Millisecond => Some(t.timestamp_millis()),
        TimeUnit::Microsecond => Some(t.timestamp_micros()),
        TimeUnit::Nanosecond => t.timestamp_nanos_opt(),
    }
}

fn timestamp(v: i64, unit: &TimeUnit, zone: Option<Arc<str>>) -> ScalarValue {
    match unit {
        TimeUnit::Second => ScalarValue::TimestampSecond(Some(v), zone),
        TimeUnit::Millisecond => ScalarValue::TimestampMillisecond(Some(v), zone),
        TimeUnit::Microsecond => ScalarValue::TimestampMicrosecond(Some(v), zone),
        TimeUnit::Nanosecond => ScalarValue::TimestampNanosecond(Some(v), zone),
    }
}
