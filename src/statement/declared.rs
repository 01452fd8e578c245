//! Parameter types a client declares at Parse. PostgreSQL types `$n` as declared; DataFusion
//! infers a parameter's type from where it is used and leaves it untyped where nothing says
//! (`SELECT $1`, `coalesce($1, $2)`), which clients were then told was text. postgres.js
//! declares bool, int8 and timestamptz for JavaScript booleans, BigInts and Dates, psycopg
//! the Python value's type, pgjdbc each setter's. Where the plan leaves a declared parameter
//! untyped, the statement is planned again with that parameter cast to its declared type, so
//! its columns and ParameterDescription say what PostgreSQL would. Parameters the plan types
//! itself keep the plan's type: nothing that plans today is changed.

use super::rules::ast::cast;
use datafusion::sql::sqlparser::ast::{visit_expressions_mut, DataType, Expr, Statement, Value};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use std::collections::HashMap;
use std::ops::ControlFlow;

/// The SQL type to cast a parameter declared as `type_name` (PostgreSQL's name: `bool`,
/// `int8`, `_int4` for arrays…) to; None for types cip does not cast to (left untyped).
pub fn sql_type(type_name: &str) -> Option<String> {
    if let Some(element) = type_name.strip_prefix('_') {
        return sql_type(element).map(|e| format!("{e}[]"));
    }
    Some(
        match type_name {
            "bool" => "boolean",
            "int2" => "smallint",
            "int4" => "integer",
            "int8" => "bigint",
            "float4" => "real",
            "float8" => "double precision",
            "numeric" => "numeric",
            "text" | "varchar" | "bpchar" | "name" | "json" | "jsonb" => "text",
            "date" => "date",
            "time" => "time",
            "timestamp" => "timestamp",
            "timestamptz" => "timestamptz",
            "interval" => "interval",
            "bytea" => "bytea",
            _ => return None,
        }
        .to_string(),
    )
}

/// `statement` with each `$n` in `types` (1-based) cast to its SQL type; None when no type
/// parses or no such parameter is written.
pub fn cast_parameters(statement: &Statement, types: &HashMap<usize, String>) -> Option<Statement> {
    let parsed: HashMap<usize, DataType> = types
        .iter()
        .filter_map(|(n, t)| Some((*n, data_type(t)?)))
        .collect();
    if parsed.is_empty() {
        return None;
    }
    let mut typed = statement.clone();
    let mut changed = false;
    let _ = visit_expressions_mut(&mut typed, |expr| {
        let Expr::Value(v) = expr else {
            return ControlFlow::<()>::Continue(());
        };
        let Value::Placeholder(id) = &v.value else {
            return ControlFlow::Continue(());
        };
        if let Some(t) = super::params::position(id).and_then(|n| parsed.get(&n)) {
            *expr = cast(expr.clone(), t.clone());
            changed = true;
        }
        ControlFlow::Continue(())
    });
    changed.then_some(typed)
}

fn data_type(sql: &str) -> Option<DataType> {
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .ok()?
        .parse_data_type()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_parameters_are_cast_and_the_rest_left() {
        let s = crate::statement::rules::parse("SELECT $1, $2, coalesce($3, 1) FROM t");
        let types = HashMap::from([
            (1, sql_type("bool").expect("bool")),
            (3, sql_type("_int4").expect("int4[]")),
        ]);
        let cast = cast_parameters(&s, &types).expect("cast");
        assert_eq!(
            cast.to_string(),
            "SELECT CAST($1 AS BOOLEAN), $2, coalesce(CAST($3 AS INTEGER[]), 1) FROM t"
        );
        assert_eq!(sql_type("point"), None);
        assert_eq!(sql_type("timestamptz").as_deref(), Some("timestamptz"));
        assert!(cast_parameters(&s, &HashMap::from([(9, "bigint".to_string())])).is_none());
    }
}
