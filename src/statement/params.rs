//! Parameters of a prepared statement: the types a plan gives `$1…$n` (what a driver is told
//! in ParameterDescription), and binding values into table-function arguments, which
//! DataFusion resolves while planning, before any value is bound.

use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlan};
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, FunctionArg, FunctionArgExpr, Statement, TableFactor, Value,
    ValueWithSpan, Visit, Visitor,
};
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

/// The position of a `$n` placeholder (1-based).
pub fn position(id: &str) -> Option<usize> {
    id.strip_prefix('$')?.parse().ok().filter(|n| *n >= 1)
}

/// The types of `$1…$n` (n the highest number used) as the plan needs them; None where the
/// plan does not say (the client's type, or text, then decides).
pub fn types(plan: &LogicalPlan) -> Result<Vec<Option<DataType>>> {
    let mut found: HashMap<String, Option<DataType>> = plan.get_parameter_types()?;
    // Where DataFusion leaves a parameter untyped, in one walk of the plan, by precedence:
    // - `$1::float8`: the type it is cast to, as in PostgreSQL;
    // - LIMIT / OFFSET: bigint, as PostgreSQL (knex binds `.limit()` as a number, asyncpg
    //   refuses to send an int for text);
    // - `x = ANY($1)` (DataFusion's array_has($1, x)): an array of x's type, as PostgreSQL
    //   infers it (ADBC's get_objects binds `relkind = ANY($2)` untyped);
    // - an argument of a function: the type the function's signature makes of an unknown
    //   there (`pg_cancel_backend($1)` integer, `pg_sleep($1)` double), as PostgreSQL
    //   describes it.
    let (mut cast, mut limit, mut any) = (HashMap::new(), HashMap::new(), HashMap::new());
    let mut argument = HashMap::new();
    plan.apply_with_subqueries(|p| {
        if let LogicalPlan::Limit(l) = p {
            for e in [&l.skip, &l.fetch].into_iter().flatten() {
                if let Expr::Placeholder(ph) = e.as_ref() {
                    limit.entry(ph.id.clone()).or_insert(DataType::Int64);
                }
            }
        }
        // The node's input schema, built only for an ANY over a parameter.
        let mut schema = None;
        p.apply_expressions(|e| {
            e.apply(|e| {
                let cast_of = match e {
                    Expr::Cast(c) => Some((c.expr.as_ref(), c.field.data_type())),
                    Expr::TryCast(c) => Some((c.expr.as_ref(), c.field.data_type())),
                    _ => None,
                };
                if let Some((Expr::Placeholder(ph), to)) = cast_of {
                    cast.entry(ph.id.clone()).or_insert(to.clone());
                } else if let Some((ph, element)) = any_placeholder(e) {
                    let schema = schema.get_or_insert_with(|| input_schema(p));
                    if let Ok(t) = element.get_type(schema.as_ref()) {
                        any.entry(ph.to_string())
                            .or_insert(DataType::new_list(t, true));
                    }
                } else if let Expr::ScalarFunction(f) = e {
                    if f.args.iter().any(untyped) {
                        let schema = schema.get_or_insert_with(|| input_schema(p));
                        for (id, t) in argument_types(f, schema) {
                            argument.entry(id).or_insert(t);
                        }
                    }
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    })?;
    for inferred in [cast, limit, any, argument] {
        for (id, t) in inferred {
            let slot = found.entry(id).or_insert(None);
            if slot.is_none() {
                *slot = Some(t);
            }
        }
    }
    let n = found.keys().filter_map(|k| position(k)).max().unwrap_or(0);
    Ok((1..=n)
        .map(|i| found.get(&format!("${i}")).cloned().flatten())
        .collect())
}

/// What a node's expressions refer to: its input's schema (its inputs' merged, for a join).
fn input_schema(p: &LogicalPlan) -> Arc<datafusion::common::DFSchema> {
    match p.inputs().as_slice() {
        [one] => one.schema().clone(),
        inputs => Arc::new(merge_schema(inputs)),
    }
}

fn untyped(e: &Expr) -> bool {
    matches!(e, Expr::Placeholder(ph) if ph.field.is_none())
}

/// The types `f`'s signature coerces its untyped `$n` arguments to, where that is one type.
fn argument_types(
    f: &datafusion::logical_expr::expr::ScalarFunction,
    schema: &datafusion::common::DFSchema,
) -> Vec<(String, DataType)> {
    use datafusion::arrow::datatypes::Field;
    let fields: Option<Vec<_>> = f
        .args
        .iter()
        .map(|a| {
            let t = if untyped(a) {
                DataType::Null
            } else {
                a.get_type(schema).ok()?
            };
            Some(Arc::new(Field::new("a", t, true)))
        })
        .collect();
    let Some(fields) = fields else {
        return vec![];
    };
    let Ok(coerced) = datafusion::logical_expr::type_coercion::functions::fields_with_udf(
        &fields,
        f.func.as_ref(),
    ) else {
        return vec![];
    };
    f.args
        .iter()
        .zip(coerced)
        .filter_map(|(a, to)| match a {
            Expr::Placeholder(ph) if ph.field.is_none() && !to.data_type().is_null() => {
                Some((ph.id.clone(), to.data_type().clone()))
            }
            _ => None,
        })
        .collect()
}

/// `$n` and the element it is searched for, in `array_has($n, element)`.
fn any_placeholder(e: &Expr) -> Option<(&str, &Expr)> {
    let Expr::ScalarFunction(f) = e else {
        return None;
    };
    if f.name() != "array_has" {
        return None;
    }
    match f.args.as_slice() {
        [Expr::Placeholder(ph), element] => Some((ph.id.as_str(), element)),
        _ => None,
    }
}

/// The types written in `$n::type` casts, lower-cased, by position: PostgreSQL describes such
/// a parameter as the written type, which matters where DataFusion's type stands for several
/// of PostgreSQL's (asyncpg's own type lookup binds `$1::oid[]` and has a codec for oid[]
/// only, not for the int8[] DataFusion's type would be described as).
pub fn written_types(statement: &Statement) -> HashMap<usize, String> {
    struct Finder(HashMap<usize, String>);
    impl Visitor for Finder {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &datafusion::sql::sqlparser::ast::Expr) -> ControlFlow<()> {
            use datafusion::sql::sqlparser::ast::Expr as E;
            if let E::Cast {
                expr, data_type, ..
            } = e
            {
                if let E::Value(ValueWithSpan {
                    value: Value::Placeholder(id),
                    ..
                }) = expr.as_ref()
                {
                    if let Some(n) = position(id) {
                        let name = data_type.to_string().to_lowercase();
                        self.0.entry(n).or_insert(name);
                    }
                }
            }
            // `$n::uuid`, which the rules made `uuid_in($n)`.
            if let Some((name, f)) = super::rules::ast::called(e) {
                let args = super::rules::ast::plain_args(f).unwrap_or_default();
                if let (true, [E::Value(v)]) = (name == "uuid_in", args.as_slice()) {
                    if let Some(n) = placeholder_position(&v.value) {
                        self.0.entry(n).or_insert_with(|| "uuid".to_string());
                    }
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut f = Finder(HashMap::new());
    let _ = statement.visit(&mut f);
    f.0
}

/// `written` (written_types) with the parameters `plans` compare with, insert into or set a
/// uuid column typed `uuid` where no cast named their type: described so, a driver sends a
/// uuid value (asyncpg, pgjdbc's setObject(UUID)) as PostgreSQL would take it.
pub fn with_declared_types(
    mut written: HashMap<usize, String>,
    plans: &[&LogicalPlan],
) -> Result<HashMap<usize, String>> {
    use crate::column_types::ColumnType;
    for plan in plans {
        for (id, field) in plan.get_parameter_fields()? {
            let (Some(n), Some(field)) = (position(&id), field) else {
                continue;
            };
            if ColumnType::of(&field) == Some(ColumnType::Uuid) {
                written.entry(n).or_insert_with(|| "uuid".to_string());
            }
        }
    }
    Ok(written)
}

fn placeholder_position(v: &Value) -> Option<usize> {
    match v {
        Value::Placeholder(id) => position(id),
        _ => None,
    }
}

/// The placeholders written directly as arguments of a table function
/// (`SELECT * FROM execute_upgrades($1)`).
pub fn function_placeholders(statement: &Statement) -> Vec<String> {
    struct Finder(Vec<String>);
    impl Visitor for Finder {
        type Break = ();
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table {
                args: Some(args), ..
            } = factor
            {
                for arg in &args.args {
                    let expr = match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => e,
                        FunctionArg::Named {
                            arg: FunctionArgExpr::Expr(e),
                            ..
                        } => e,
                        _ => continue,
                    };
                    if let datafusion::sql::sqlparser::ast::Expr::Value(ValueWithSpan {
                        value: Value::Placeholder(id),
                        ..
                    }) = expr
                    {
                        self.0.push(id.clone());
                    }
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut finder = Finder(Vec::new());
    let _ = statement.visit(&mut finder);
    finder.0
}

/// `statement` with every placeholder replaced by its bound value as a literal: for
/// statements whose table functions take parameters, planned afresh once values are known.
pub fn bind_literals(statement: &Statement, values: &[ScalarValue]) -> Result<Statement> {
    let mut bound = statement.clone();
    let mut failure = None;
    let _ = visit_expressions_mut(&mut bound, |expr| {
        if let datafusion::sql::sqlparser::ast::Expr::Value(v) = expr {
            if let Value::Placeholder(id) = &v.value {
                let value = position(id).and_then(|i| values.get(i - 1));
                match value {
                    Some(value) => v.value = literal(value),
                    None => {
                        failure = Some(CipError::invalid(
                            sqlstate::PROTOCOL_VIOLATION,
                            format!("parameter {id} is not bound ({} given)", values.len()),
                        ));
                        return ControlFlow::Break(());
                    }
                }
            }
        }
        ControlFlow::Continue(())
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(bound),
    }
}

fn literal(value: &ScalarValue) -> Value {
    if value.is_null() {
        return Value::Null;
    }
    match value {
        ScalarValue::Boolean(Some(b)) => Value::Boolean(*b),
        ScalarValue::Int8(_)
        | ScalarValue::Int16(_)
        | ScalarValue::Int32(_)
        | ScalarValue::Int64(_)
        | ScalarValue::UInt8(_)
        | ScalarValue::UInt16(_)
        | ScalarValue::UInt32(_)
        | ScalarValue::UInt64(_)
        | ScalarValue::Float32(_)
        | ScalarValue::Float64(_)
        | ScalarValue::Decimal128(..) => {
            let text = value.to_string();
            if text.parse::<f64>().is_ok_and(f64::is_finite) {
                Value::Number(text, false)
            } else {
                Value::SingleQuotedString(text)
            }
        }
        other => Value::SingleQuotedString(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_arguments_are_bound_as_literals() {
        let s = crate::statement::rules::parse("SELECT * FROM execute_upgrades($1) WHERE x > $2");
        assert_eq!(function_placeholders(&s), vec!["$1".to_string()]);
        let bound = bind_literals(
            &s,
            &[
                ScalarValue::Utf8(Some("M'1".into())),
                ScalarValue::Int64(Some(5)),
            ],
        )
        .expect("bound");
        assert_eq!(
            bound.to_string(),
            "SELECT * FROM execute_upgrades('M''1') WHERE x > 5"
        );
        assert_eq!(
            bind_literals(&s, &[]).expect_err("unbound").sqlstate(),
            "08P01"
        );
    }
}
