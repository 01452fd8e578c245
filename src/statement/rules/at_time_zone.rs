//! `value AT TIME ZONE zone` becomes `timezone(zone, value)` (catalog/at_time_zone.rs), which
//! converts both ways as PostgreSQL does; DataFusion planned it as a cast that kept a
//! timestamptz's instant and accepted only a literal zone. Two operands are given the type
//! PostgreSQL would give them: a quoted literal is a timestamptz (PostgreSQL resolves the
//! unknown to it), and so are now() and its kin, which PostgreSQL declares timestamptz and
//! cip answers as local wall-clock time. An interval zone (`INTERVAL '+08:00'`, east of UTC)
//! becomes the zone PostgreSQL names from it (`<+08>-08`). `timezone(zone, value)` called by
//! name gets the same operand types (`timezone('CET', now())` read now()'s local wall clock
//! as CET's).

use super::ast::{call, called, cast, last_name, string};
use crate::catalog::at_time_zone::NAME;
use crate::settings::time_zone::of_interval;
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, DataType, Expr, FunctionArg, FunctionArgExpr, FunctionArguments,
    Statement, TimezoneInfo, Value,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

#[derive(Debug)]
pub struct AtTimeZone;

/// The functions PostgreSQL declares as returning timestamptz that cip answers without zone.
const ZONED_NOW: &[&str] = &[
    "now",
    "current_timestamp",
    "transaction_timestamp",
    "statement_timestamp",
    "clock_timestamp",
];

fn timestamptz(e: Expr) -> Expr {
    cast(e, DataType::Timestamp(None, TimezoneInfo::WithTimeZone))
}

fn operand(value: Expr) -> Expr {
    let literal = matches!(
        &value,
        Expr::Value(v) if matches!(v.value, Value::SingleQuotedString(_))
    );
    let now = called(&value).is_some_and(|(name, _)| ZONED_NOW.contains(&name.as_str()));
    if literal || now {
        timestamptz(value)
    } else {
        value
    }
}

impl SqlStatementRewriteRule for AtTimeZone {
    fn rewrite(&self, mut s: Statement) -> Statement {
        let _ = visit_expressions_mut(&mut s, |e| {
            if let Expr::AtTimeZone {
                timestamp,
                time_zone,
            } = e
            {
                let zone = match time_zone.as_ref() {
                    // An interval that names no zone stays for DataFusion to refuse.
                    Expr::Interval(i) => match of_interval(i) {
                        Ok(name) => string(&name),
                        Err(_) => return ControlFlow::<()>::Continue(()),
                    },
                    other => other.clone(),
                };
                *e = call(NAME, vec![zone, operand((**timestamp).clone())]);
            } else if let Expr::Function(f) = e {
                // Called by name, its operand is typed the same way.
                if last_name(&f.name).is_some_and(|n| n.eq_ignore_ascii_case(NAME)) {
                    if let FunctionArguments::List(list) = &mut f.args {
                        if let [_, FunctionArg::Unnamed(FunctionArgExpr::Expr(value))] =
                            list.args.as_mut_slice()
                        {
                            *value = operand(value.clone());
                        }
                    }
                }
            }
            ControlFlow::Continue(())
        });
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        AtTimeZone.rewrite(super::super::parse(sql)).to_string()
    }

    #[test]
    fn at_time_zone_calls_timezone_with_postgresqls_operand_types() {
        assert_eq!(
            rewritten("SELECT t AT TIME ZONE 'UTC' FROM v"),
            "SELECT timezone('UTC', t) FROM v"
        );
        assert_eq!(
            rewritten("SELECT '2024-01-01 12:00' AT TIME ZONE z FROM v"),
            "SELECT timezone(z, CAST('2024-01-01 12:00' AS TIMESTAMP WITH TIME ZONE)) FROM v"
        );
        assert_eq!(
            rewritten("SELECT now() AT TIME ZONE 'UTC'"),
            "SELECT timezone('UTC', CAST(now() AS TIMESTAMP WITH TIME ZONE))"
        );
        assert_eq!(
            rewritten("SELECT t AT TIME ZONE INTERVAL '+08:00' HOUR TO MINUTE FROM v"),
            "SELECT timezone('<+08>-08', t) FROM v"
        );
        // Nested: the inner one first.
        assert_eq!(
            rewritten("SELECT t AT TIME ZONE 'UTC' AT TIME ZONE 'Asia/Shanghai' FROM v"),
            "SELECT timezone('Asia/Shanghai', timezone('UTC', t)) FROM v"
        );
        // timezone() called by name: the same operand types.
        assert_eq!(
            rewritten("SELECT timezone('CET', now()), TIMEZONE('UTC', t) FROM v"),
            "SELECT timezone('CET', CAST(now() AS TIMESTAMP WITH TIME ZONE)), \
             TIMEZONE('UTC', t) FROM v"
        );
        let refused = "SELECT t AT TIME ZONE INTERVAL '1' DAY FROM v";
        assert_eq!(rewritten(refused), refused);
    }
}
