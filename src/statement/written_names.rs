//! Result columns are named after the statement as the client wrote it, not as the rules
//! (rules/) rewrote it. A rule may replace an expression by another that PostgreSQL would
//! name differently: `'visits'::regclass` becomes a checked lookup over pg_class (reg_lookups.rs),
//! `x::regtype::text` a call of format_type. PostgreSQL names those columns `regclass` and
//! `x`. The names of the top-level select list are taken before the rules run; where a
//! rewritten item would be named otherwise, it gets a synthetic alias carrying the written
//! name (rules/unique_output_names.rs), which names.rs reads back for the wire.

use super::names::figure;
use super::rules::unique_output_names::{synthetic, synthetic_name};
use datafusion::sql::sqlparser::ast::{Query, SelectItem, SetExpr, Statement};

/// The names PostgreSQL gives the unaliased items of the statement's top-level select list:
/// one entry per item, None for an item that is not an unaliased expression.
pub fn of(statement: &Statement) -> Vec<Option<String>> {
    let Some(items) = top_items(statement) else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| match item {
            SelectItem::UnnamedExpr(e) => Some(figure(e).unwrap_or_else(|| "?column?".into())),
            _ => None,
        })
        .collect()
}

/// Gives each rewritten item whose name changed the written one.
pub fn keep(written: &[Option<String>], statement: &mut Statement) {
    let Some(items) = top_items_mut(statement) else {
        return;
    };
    if items.len() != written.len() {
        return;
    }
    for (i, (item, name)) in items.iter_mut().zip(written).enumerate() {
        let Some(name) = name else { continue };
        // The name the item goes out with now: PostgreSQL's for its expression, or the one a
        // synthetic alias (a repeated name) carries. A user's own alias is left alone.
        let (expr, now) = match &*item {
            SelectItem::UnnamedExpr(e) => (e, figure(e).unwrap_or_else(|| "?column?".into())),
            SelectItem::ExprWithAlias { expr, alias } => match synthetic_name(&alias.value) {
                Some(carried) => (expr, carried.to_string()),
                None => continue,
            },
            _ => continue,
        };
        if now != *name {
            *item = SelectItem::ExprWithAlias {
                expr: expr.clone(),
                alias: synthetic(i + 1, name),
            };
        }
    }
}

fn first_select(query: &Query) -> Option<&Vec<SelectItem>> {
    let mut body = query.body.as_ref();
    loop {
        match body {
            SetExpr::SetOperation { left, .. } => body = left,
            SetExpr::Query(q) => body = q.body.as_ref(),
            SetExpr::Select(s) => return Some(&s.projection),
            _ => return None,
        }
    }
}

fn top_items(statement: &Statement) -> Option<&Vec<SelectItem>> {
    match statement {
        Statement::Query(q) => first_select(q),
        _ => None,
    }
}

fn top_items_mut(statement: &mut Statement) -> Option<&mut Vec<SelectItem>> {
    let Statement::Query(q) = statement else {
        return None;
    };
    let mut body = q.body.as_mut();
    loop {
        match body {
            SetExpr::SetOperation { left, .. } => body = left,
            SetExpr::Query(q) => body = q.body.as_mut(),
            SetExpr::Select(s) => return Some(&mut s.projection),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::super::parse::Parsed;

    fn rewritten(sql: &str) -> String {
        match parse(sql).expect("parses").remove(0) {
            Parsed::Sql(s) => s.to_string(),
            _ => panic!("not SQL"),
        }
    }

    #[test]
    fn a_rewritten_item_keeps_the_name_it_was_written_with() {
        let sql = rewritten("SELECT 'int4'::regtype, oid::regtype::text FROM pg_type");
        assert!(sql.contains("AS \"__cip_column_1_regtype\""), "{sql}");
        assert!(sql.contains("AS \"__cip_column_2_oid\""), "{sql}");
        // Items the rules leave named as written are not aliased.
        let plain = rewritten("SELECT 1, count(*), a AS b, c FROM t");
        assert!(!plain.contains("__cip_column_"), "{plain}");
    }
}
