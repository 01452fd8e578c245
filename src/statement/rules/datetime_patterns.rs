//! PostgreSQL's date/time format patterns in `to_timestamp(text, pattern)`, `to_date` and
//! `to_char`: DataFusion's functions read chrono's (`%Y-%m-%d`), so Superset's time filter
//! `TO_TIMESTAMP('2026-10-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US')` failed ("input
//! contains invalid characters"). A literal pattern without `%` (chrono's marker, which a
//! PostgreSQL pattern does not use) is translated: YYYY YY MM DD DDD HH24 HH12 HH MI SS MS US
//! AM PM Month Mon Day Dy TZ OF, FM dropped, "quoted" text and anything else kept literally.

use super::ast::called;
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Statement, Value,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

#[derive(Debug)]
pub struct DatetimePatterns;

/// PostgreSQL's field names, longest first, and chrono's spelling.
const FIELDS: &[(&str, &str)] = &[
    ("HH24", "%H"),
    ("HH12", "%I"),
    ("YYYY", "%Y"),
    ("MONTH", "%B"),
    ("DDD", "%j"),
    ("MON", "%b"),
    ("DAY", "%A"),
    ("YY", "%y"),
    ("MM", "%m"),
    ("DD", "%d"),
    ("HH", "%I"),
    ("MI", "%M"),
    ("SS", "%S"),
    ("MS", "%3f"),
    ("US", "%6f"),
    ("AM", "%p"),
    ("PM", "%p"),
    ("DY", "%a"),
    ("TZ", "%Z"),
    ("OF", "%:z"),
];

/// chrono's format for PostgreSQL's `pattern`.
pub fn chrono_format(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    'outer: while i < chars.len() {
        if chars[i] == '"' {
            // Quoted text is literal.
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                out.push(chars[i]);
                i += 1;
            }
            i += 1;
            continue;
        }
        let rest: String = chars[i..].iter().take(5).collect::<String>().to_uppercase();
        if rest.starts_with("FM") {
            i += 2;
            continue;
        }
        for (field, chrono) in FIELDS {
            if rest.starts_with(field) {
                out.push_str(chrono);
                i += field.chars().count();
                continue 'outer;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn translate(expr: &mut Expr) {
    let is_ours = called(expr)
        .is_some_and(|(name, _)| matches!(name.as_str(), "to_timestamp" | "to_date" | "to_char"));
    let Expr::Function(f) = expr else {
        return;
    };
    let FunctionArguments::List(list) = &mut f.args else {
        return;
    };
    if !is_ours || list.args.len() != 2 {
        return;
    }
    if let FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v))) = &mut list.args[1] {
        if let Value::SingleQuotedString(pattern) = &mut v.value {
            if !pattern.contains('%') {
                *pattern = chrono_format(pattern);
            }
        }
    }
}

impl SqlStatementRewriteRule for DatetimePatterns {
    fn rewrite(&self, mut s: Statement) -> Statement {
        let _ = visit_expressions_mut(&mut s, |e| {
            translate(e);
            ControlFlow::<()>::Continue(())
        });
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgresql_patterns_become_chronos() {
        assert_eq!(
            chrono_format("YYYY-MM-DD HH24:MI:SS.US"),
            "%Y-%m-%d %H:%M:%S.%6f"
        );
        assert_eq!(
            chrono_format("FMDD Mon YYYY \"at\" HH12 AM"),
            "%d %b %Y at %I %p"
        );
        assert_eq!(chrono_format("yyyy/mm/dd"), "%Y/%m/%d");
        let out = DatetimePatterns.rewrite(super::super::parse(
            "SELECT to_timestamp(x, 'YYYY-MM-DD'), to_char(y, '%Y'), to_date(z, 'DD/MM/YYYY')",
        ));
        assert_eq!(
            out.to_string(),
            "SELECT to_timestamp(x, '%Y-%m-%d'), to_char(y, '%Y'), to_date(z, '%d/%m/%Y')"
        );
    }
}
