//! `SELECT name, count(*) + 1 FROM t GROUP BY name ORDER BY 2`: PostgreSQL sorts by the
//! second output column. DataFusion 55 reads the position as a column named after the item
//! (`count(*) + Int64(1)`), which an aggregating query does not have unless the item is
//! aliased, and refuses the statement (42803, "Column in ORDER BY must be in GROUP BY").
//! In an aggregating SELECT, a position naming an unaliased item that is not a plain column
//! is replaced by that item's expression, which DataFusion matches to the same aggregate
//! output. Outside aggregation positions already work and are left alone (a copied volatile
//! expression would be evaluated twice there).
//!
//! `SELECT member_id::text FROM members ORDER BY member_id`: PostgreSQL matches a bare name in
//! ORDER BY to the output columns first, and the cast's column is named `member_id`. DataFusion
//! names the cast after its column too, then adds the input column for the sort under the same
//! name and refuses the statement ("Projections require unique expression names",
//! apache/datafusion#13558). A bare name that is the name of exactly one unaliased computed item
//! (and of no other item) becomes that item's position, which is PostgreSQL's meaning.

use super::super::names;
use super::ast::has_aggregate;
use datafusion::sql::sqlparser::ast::{
    Expr, GroupByExpr, OrderByKind, Query, Select, SelectItem, SetExpr, Statement, Value,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;

#[derive(Debug)]
pub struct OrderByPositions;

fn aggregating(select: &Select) -> bool {
    let grouped = match &select.group_by {
        GroupByExpr::All(_) => true,
        GroupByExpr::Expressions(exprs, _) => !exprs.is_empty(),
    };
    grouped
        || select.having.is_some()
        || select.projection.iter().any(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                has_aggregate(e)
            }
            _ => false,
        })
}

/// The expression of the 1-based output position `n` when it is an unaliased computed item
/// (none when a wildcard comes first: its width is not known here).
fn item_at(select: &Select, n: usize) -> Option<&Expr> {
    let before = select.projection.get(..n.checked_sub(1)?)?;
    if before.iter().any(|i| {
        matches!(
            i,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
        )
    }) {
        return None;
    }
    match select.projection.get(n - 1)? {
        SelectItem::UnnamedExpr(e)
            if !matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) =>
        {
            Some(e)
        }
        _ => None,
    }
}

/// The 1-based position of the one output column named `name` when it is an unaliased
/// computed item; none when a wildcard could hold another of that name or when any other item
/// has it.
fn named_position(select: &Select, name: &str) -> Option<usize> {
    let mut found = None;
    for (i, item) in select.projection.iter().enumerate() {
        let (named, computed) = match item {
            SelectItem::UnnamedExpr(e) => (
                names::figure(e),
                !matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_)),
            ),
            SelectItem::ExprWithAlias { alias, .. } => (
                Some(names::ident(&alias.value, alias.quote_style.is_some())),
                false,
            ),
            _ => return None,
        };
        if named.as_deref() == Some(name) {
            if found.is_some() || !computed {
                return None;
            }
            found = Some(i + 1);
        }
    }
    found
}

fn rewrite_query(query: &mut Query) {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return;
    };
    let Some(OrderByKind::Expressions(order)) = query.order_by.as_mut().map(|o| &mut o.kind) else {
        return;
    };
    for o in order.iter_mut() {
        let Expr::Identifier(i) = &o.expr else {
            continue;
        };
        let name = names::ident(&i.value, i.quote_style.is_some());
        if let Some(n) = named_position(select, &name) {
            o.expr = Expr::value(Value::Number(n.to_string(), false));
        }
    }
    if !aggregating(select) {
        return;
    }
    for o in order.iter_mut() {
        let Expr::Value(v) = &o.expr else { continue };
        let Value::Number(n, _) = &v.value else {
            continue;
        };
        if let Some(e) = n.parse::<usize>().ok().and_then(|n| item_at(select, n)) {
            o.expr = e.clone();
        }
    }
}

impl SqlStatementRewriteRule for OrderByPositions {
    fn rewrite(&self, s: Statement) -> Statement {
        super::ast::each_query(s, rewrite_query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        OrderByPositions
            .rewrite(super::super::parse(sql))
            .to_string()
    }

    #[test]
    fn positions_of_computed_items_become_the_items() {
        assert_eq!(
            rewritten("SELECT a, count(*) + 1 FROM t GROUP BY a ORDER BY 2 DESC, 1"),
            "SELECT a, count(*) + 1 FROM t GROUP BY a ORDER BY count(*) + 1 DESC, 1"
        );
        assert_eq!(
            rewritten("SELECT a || 'x', sum(b) FROM t GROUP BY 1 ORDER BY 1"),
            "SELECT a || 'x', sum(b) FROM t GROUP BY 1 ORDER BY a || 'x'"
        );
        assert_eq!(
            rewritten("SELECT count(*) + 1 FROM t ORDER BY 1"),
            "SELECT count(*) + 1 FROM t ORDER BY count(*) + 1"
        );
        // In a subquery too.
        assert_eq!(
            rewritten("SELECT * FROM (SELECT a, max(b) * 2 FROM t GROUP BY a ORDER BY 2) s"),
            "SELECT * FROM (SELECT a, max(b) * 2 FROM t GROUP BY a ORDER BY max(b) * 2) s"
        );
    }

    #[test]
    fn a_name_of_a_computed_item_is_its_position() {
        assert_eq!(
            rewritten("SELECT member_id::text FROM members ORDER BY member_id DESC"),
            "SELECT member_id::TEXT FROM members ORDER BY 1 DESC"
        );
        // Aggregating: on to the item itself.
        assert_eq!(
            rewritten("SELECT g::text, count(*) FROM t GROUP BY g ORDER BY g"),
            "SELECT g::TEXT, count(*) FROM t GROUP BY g ORDER BY g::TEXT"
        );
        for sql in [
            // The plain column, an alias, two items of the name, a wildcard: left alone.
            "SELECT a FROM t ORDER BY a",
            "SELECT a::TEXT AS a FROM t ORDER BY a",
            "SELECT a::TEXT, a FROM t ORDER BY a",
            "SELECT *, a::TEXT FROM t ORDER BY a",
            "SELECT a::TEXT FROM t ORDER BY t.a",
        ] {
            assert_eq!(rewritten(sql), sql);
        }
    }

    #[test]
    fn other_positions_are_left_alone() {
        for sql in [
            // Not aggregating: DataFusion resolves these itself.
            "SELECT a + 1 FROM t ORDER BY 1",
            "SELECT random() FROM t ORDER BY 1",
            // Aliased, a plain column, out of range, after a wildcard, not a number.
            "SELECT a, count(*) + 1 AS n FROM t GROUP BY a ORDER BY 2",
            "SELECT a, count(*) FROM t GROUP BY a ORDER BY 1",
            "SELECT a, count(*) + 1 FROM t GROUP BY a ORDER BY 3",
            "SELECT *, count(*) + 1 FROM t GROUP BY a ORDER BY 2",
            "SELECT a, count(*) + 1 FROM t GROUP BY a ORDER BY 0",
            "SELECT a, count(*) + 1 FROM t GROUP BY a ORDER BY 'x'",
            "SELECT a, count(*) + 1 FROM t GROUP BY a UNION SELECT 1, 2 ORDER BY 2",
        ] {
            assert_eq!(rewritten(sql), sql, "{sql}");
        }
    }
}
