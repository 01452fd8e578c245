//! cip's analyzer rules around DataFusion's own: literals read as PostgreSQL reads an untyped
//! literal, by the type it meets. Working on the logical plan, they see the type a literal is
//! compared with or cast to, which the statement's text alone does not say. And one optimizer
//! rule, after DataFusion's: business-day comparisons as timestamp ranges.

mod boolean_literals;
mod business_date_ranges;
mod datetime_casts;
mod datetime_input;
mod datetime_literals;
mod uuid_literals;
mod zoned_to_local;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{Cast, Expr, ExprSchemable, LogicalPlan, TryCast};
use datafusion::optimizer::analyzer::{Analyzer, AnalyzerRule};
use std::sync::Arc;

/// DataFusion's analyzer rules with cip's: booleans before type coercion (which would refuse
/// text against boolean), date and time literals, timestamptz-to-timestamp casts, text
/// compared with uuids and date-times cast to text after it (which is what makes those
/// casts).
pub fn rules() -> Vec<Arc<dyn AnalyzerRule + Send + Sync>> {
    let mut rules: Vec<Arc<dyn AnalyzerRule + Send + Sync>> =
        vec![Arc::new(boolean_literals::BooleanLiterals)];
    rules.extend(Analyzer::new().rules);
    rules.push(Arc::new(datetime_literals::DatetimeLiterals));
    rules.push(Arc::new(zoned_to_local::ZonedToLocal));
    rules.push(Arc::new(uuid_literals::UuidLiterals));
    rules.push(Arc::new(datetime_casts::DatetimeCasts));
    rules
}

/// cip's optimizer rule, to run after DataFusion's (which make literals of `cip_as_of()`).
pub fn business_date_ranges() -> Arc<dyn datafusion::optimizer::OptimizerRule + Send + Sync> {
    Arc::new(business_date_ranges::BusinessDateRanges)
}

/// Whether an expression of `node` (at any depth, not in its inputs) satisfies `pred`. The
/// rules look before they rewrite: most nodes of most plans hold nothing for them, and every
/// statement is analysed.
fn any_expression(node: &LogicalPlan, pred: impl Fn(&Expr) -> bool) -> Result<bool> {
    let mut found = false;
    node.apply_expressions(|e| {
        e.apply(|e| {
            found |= pred(e);
            Ok(if found {
                TreeNodeRecursion::Stop
            } else {
                TreeNodeRecursion::Continue
            })
        })
    })?;
    Ok(found)
}

/// `plan` with `rewrite` applied bottom-up to every expression of the nodes (subqueries too)
/// that hold one `pred` picks, given the node's input columns; each expression keeps its
/// name, as DataFusion's type coercion keeps names when it rewrites. Transformed when
/// `rewrite` changed something.
fn rewrite_expressions(
    plan: LogicalPlan,
    pred: impl Fn(&Expr) -> bool,
    rewrite: impl Fn(Expr, &DFSchema) -> Result<Transformed<Expr>>,
) -> Result<Transformed<LogicalPlan>> {
    plan.transform_up_with_subqueries(|node| {
        if !any_expression(&node, &pred)? {
            return Ok(Transformed::no(node));
        }
        let mut schema = DFSchema::empty();
        for input in node.inputs() {
            schema.merge(input.schema());
        }
        let names = NamePreserver::new(&node);
        node.map_expressions(|e| {
            let name = names.save(&e);
            e.transform_up(|e| rewrite(e, &schema))?
                .map_data(|e| Ok(name.restore(e)))
        })
    })
}

/// A cast's (or TRY_CAST's) input and the type it casts to.
fn cast_of(e: &Expr) -> Option<(&Expr, &DataType)> {
    match e {
        Expr::Cast(Cast { expr, field }) | Expr::TryCast(TryCast { expr, field }) => {
            Some((expr, field.data_type()))
        }
        _ => None,
    }
}

/// Whether `e` is a cast to a type `to` accepts.
fn casts_to(e: &Expr, to: impl Fn(&DataType) -> bool) -> bool {
    cast_of(e).is_some_and(|(_, t)| to(t))
}

/// `e` with `wrap` around what it casts, when it is a cast to a type `to` accepts of an
/// input whose type (by `schema`) `from` accepts; unchanged otherwise.
fn wrap_cast_input(
    e: Expr,
    schema: &DFSchema,
    to: impl Fn(&DataType) -> bool,
    from: impl Fn(&DataType) -> bool,
    wrap: impl FnOnce(Expr) -> Expr,
) -> Result<Transformed<Expr>> {
    let wanted = match cast_of(&e) {
        Some((input, target)) => to(target) && input.get_type(schema).is_ok_and(|t| from(&t)),
        None => false,
    };
    if !wanted {
        return Ok(Transformed::no(e));
    }
    Ok(Transformed::yes(match e {
        Expr::Cast(Cast { expr, field }) => Expr::Cast(Cast {
            expr: Box::new(wrap(*expr)),
            field,
        }),
        Expr::TryCast(TryCast { expr, field }) => Expr::TryCast(TryCast {
            expr: Box::new(wrap(*expr)),
            field,
        }),
        other => other,
    }))
}

/// The text of a quoted literal (what DataFusion types as text), if `e` is one.
fn text_literal(e: &Expr) -> Option<&str> {
    match e {
        Expr::Literal(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::Utf8View(Some(s))
            | ScalarValue::LargeUtf8(Some(s)),
            _,
        ) => Some(s),
        _ => None,
    }
}
