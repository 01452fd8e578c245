//! Small builders and tests over sqlparser's AST, shared by the rules: the rules build the
//! nodes they put in place, they never print a statement and parse it back.

use datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken;
use datafusion::sql::sqlparser::ast::{
    visit_expressions, visit_relations, BinaryOperator, CastKind, DataType, Expr, Function,
    FunctionArg, FunctionArgExpr, FunctionArgumentList, FunctionArguments, Ident, ObjectName,
    ObjectNamePart, Query, Statement, Value, VisitMut, VisitorMut,
};
use std::ops::ControlFlow;

/// `statement` with `rewrite` applied to every query in it, inner queries first (the shape of
/// the rules that rewrite a query by what its own clauses hold).
pub fn each_query(mut statement: Statement, rewrite: fn(&mut Query)) -> Statement {
    struct Each(fn(&mut Query));
    impl VisitorMut for Each {
        type Break = ();
        fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            (self.0)(query);
            ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut Each(rewrite));
    statement
}

/// The last part of a name, lower-cased (`pg_catalog.pg_proc` → `pg_proc`).
pub fn last_name(name: &ObjectName) -> Option<String> {
    match name.0.last()? {
        ObjectNamePart::Identifier(i) => Some(i.value.to_lowercase()),
        _ => None,
    }
}

/// Every part of a name, lower-cased.
pub fn name_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .filter_map(|p| match p {
            ObjectNamePart::Identifier(i) => Some(i.value.to_lowercase()),
            _ => None,
        })
        .collect()
}

/// `name(args…)`.
pub fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e)))
                .collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

/// The plain (unnamed, non-wildcard) arguments of a call, None when it has others.
pub fn plain_args(f: &Function) -> Option<Vec<&Expr>> {
    let FunctionArguments::List(list) = &f.args else {
        return Some(vec![]);
    };
    plain_exprs(&list.args)
}

/// The expressions of an argument list (a call's or a table function's in FROM) when every
/// argument is plain (unnamed, non-wildcard); None otherwise.
pub fn plain_exprs(args: &[FunctionArg]) -> Option<Vec<&Expr>> {
    args.iter()
        .map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect()
}

/// The name of the function `expr` calls (last part, lower-cased).
pub fn called(expr: &Expr) -> Option<(String, &Function)> {
    match expr {
        Expr::Function(f) => Some((last_name(&f.name)?, f)),
        _ => None,
    }
}

pub fn cast(expr: Expr, data_type: DataType) -> Expr {
    Expr::Cast {
        kind: CastKind::Cast,
        expr: Box::new(expr),
        data_type,
        array: false,
        format: None,
    }
}

pub fn number(n: i64) -> Expr {
    Expr::value(Value::Number(n.to_string(), false))
}

pub fn string(s: &str) -> Expr {
    Expr::value(Value::SingleQuotedString(s.to_string()))
}

pub fn null() -> Expr {
    Expr::value(Value::Null)
}

pub fn binary(left: Expr, op: BinaryOperator, right: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(left),
        op,
        right: Box::new(right),
    }
}

/// `CASE WHEN condition THEN value END`.
pub fn case_when(condition: Expr, value: Expr) -> Expr {
    use datafusion::sql::sqlparser::ast::CaseWhen;
    Expr::Case {
        case_token: AttachedToken::empty(),
        end_token: AttachedToken::empty(),
        operand: None,
        conditions: vec![CaseWhen {
            condition,
            result: value,
        }],
        else_result: None,
    }
}

/// Aggregate functions a catalog subquery may already use.
const AGGREGATES: &[&str] = &[
    "max",
    "min",
    "count",
    "sum",
    "avg",
    "array_agg",
    "string_agg",
    "bool_and",
    "bool_or",
];

/// Whether `expr` calls an aggregate function anywhere.
pub fn has_aggregate(expr: &Expr) -> bool {
    visit_expressions(expr, |e| match called(e) {
        Some((name, f)) if AGGREGATES.contains(&name.as_str()) && f.over.is_none() => {
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// Whether the statement reads a relation of pg_catalog or information_schema (catalog
/// queries are the only ones the catalog rules change).
pub fn reads_catalog(statement: &Statement) -> bool {
    let relation = visit_relations(statement, |name| {
        let parts = name_parts(name);
        let catalog = match parts.as_slice() {
            [one] => one.starts_with("pg_"),
            [.., schema, _] => schema == "pg_catalog" || schema == "information_schema",
            [] => false,
        };
        if catalog {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    relation.is_break()
}

/// Whether the statement calls the function `name` anywhere.
pub fn calls(statement: &Statement, name: &str) -> bool {
    visit_expressions(statement, |e| match called(e) {
        Some((n, _)) if n == name => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// An expression template with placeholders `$1`, `$2`, … (written once, in the rule).
pub fn template(sql: &str) -> Expr {
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .unwrap_or_else(|e| panic!("rule template {sql:?} does not parse: {e}"))
}

/// A query to build on (`SELECT 1`, whose select list and FROM a rule then replaces).
pub fn template_query(sql: &str) -> Option<datafusion::sql::sqlparser::ast::Query> {
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    match Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?.pop()? {
        Statement::Query(q) => Some(*q),
        _ => None,
    }
}

/// `template` with `$k` replaced by `args[k - 1]`. Replacement is post-order, so a
/// placeholder inside an argument (a client's own `$1`) is left alone.
pub fn fill(template: &Expr, args: &[Expr]) -> Expr {
    use datafusion::sql::sqlparser::ast::visit_expressions_mut;
    let mut out = template.clone();
    let _ = visit_expressions_mut(&mut out, |e| {
        if let Expr::Value(v) = e {
            if let Value::Placeholder(id) = &v.value {
                let arg = id
                    .strip_prefix('$')
                    .and_then(|n| n.parse::<usize>().ok())
                    .and_then(|n| args.get(n.wrapping_sub(1)));
                if let Some(arg) = arg {
                    *e = arg.clone();
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    out
}
