//! `business_date(ts) <= DATE '2026-10-31'` becomes `ts < TIMESTAMP '2026-11-01 06:00'` (with
//! the session's cip.day_cutoff; likewise =, <>, <, >, >=, IS [NOT] DISTINCT FROM). The views
//! compare a visit's or an event's business day with the as-of date on every row: as a
//! function call that is a conversion per row and nothing the Parquet statistics can prune
//! with; as a range it is one comparison of integers, and a part or page wholly after the
//! as-of date is skipped. DataFusion's own preimage rewrite does this for immutable functions
//! only, and business_date depends on the session's cut-off.
//!
//! An optimizer rule, not an analyzer rule: it needs the date as a literal, which DataFusion's
//! simplifier makes of `cip_as_of()` and date arithmetic first.

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::tree_node::{Transformed, TreeNodeRecursion};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::logical_expr::{BinaryExpr, Expr, ExprSchemable, LogicalPlan, Operator};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};

const MICROS_PER_DAY: i64 = 86_400_000_000;

#[derive(Debug)]
pub struct BusinessDateRanges;

impl OptimizerRule for BusinessDateRanges {
    fn name(&self) -> &str {
        "cip_business_date_ranges"
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let options = config.options();
        // An unreadable cut-off is the function's to report when it runs.
        let Ok(cutoff) = crate::settings::CipOptions::of(&options).cutoff() else {
            return Ok(Transformed::no(plan));
        };
        let shift = (cutoff - chrono::NaiveTime::MIN)
            .num_microseconds()
            .unwrap_or(0);
        // Look before rewriting: every statement (each point lookup) goes through the
        // optimizer, and most hold no such comparison. A change is reported only when there
        // was one, as the optimizer runs its passes again after a change.
        let mut found = false;
        plan.apply_with_subqueries(|node| {
            found = super::any_expression(node, |e| comparison(e).is_some())?;
            Ok(if found {
                TreeNodeRecursion::Stop
            } else {
                TreeNodeRecursion::Continue
            })
        })?;
        if !found {
            return Ok(Transformed::no(plan));
        }
        super::rewrite_expressions(
            plan,
            |e| comparison(e).is_some(),
            |e, schema| range(e, schema, shift),
        )
    }
}

/// `business_date(arg) op day`, read either way round: (arg, op with arg on the left, day).
fn comparison(e: &Expr) -> Option<(&Expr, Operator, i32)> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = e else {
        return None;
    };
    if let (Some(arg), Some(day)) = (business_date_arg(left), day(right)) {
        return Some((arg, *op, day));
    }
    let (arg, day) = (business_date_arg(right)?, day(left)?);
    Some((arg, op.swap()?, day))
}

fn business_date_arg(e: &Expr) -> Option<&Expr> {
    match e {
        Expr::ScalarFunction(f) if f.func.name() == "business_date" => match f.args.as_slice() {
            [arg] => Some(arg),
            _ => None,
        },
        _ => None,
    }
}

fn day(e: &Expr) -> Option<i32> {
    match e {
        Expr::Literal(ScalarValue::Date32(Some(d)), _) => Some(*d),
        _ => None,
    }
}

/// The comparison as a range on the timestamp: business day d is [d + cut-off, d + 1 day +
/// cut-off) in local wall-clock time.
fn range(e: Expr, schema: &DFSchema, shift: i64) -> Result<Transformed<Expr>> {
    let Some((arg, op, day)) = comparison(&e) else {
        return Ok(Transformed::no(e));
    };
    // business_date's own coercion makes its argument this type; anything else is left alone.
    let local_micros = DataType::Timestamp(TimeUnit::Microsecond, None);
    if arg.get_type(schema).ok().as_ref() != Some(&local_micros) {
        return Ok(Transformed::no(e));
    }
    let bounds = i64::from(day)
        .checked_mul(MICROS_PER_DAY)
        .and_then(|m| m.checked_add(shift))
        .and_then(|lower| Some((lower, lower.checked_add(MICROS_PER_DAY)?)));
    let Some((lower, upper)) = bounds else {
        return Ok(Transformed::no(e));
    };
    let at =
        |micros: i64| Expr::Literal(ScalarValue::TimestampMicrosecond(Some(micros), None), None);
    let x = arg.clone();
    let rewritten = match op {
        Operator::Lt => x.lt(at(lower)),
        Operator::GtEq => x.gt_eq(at(lower)),
        Operator::Gt => x.gt_eq(at(upper)),
        Operator::LtEq => x.lt(at(upper)),
        Operator::Eq => x.clone().gt_eq(at(lower)).and(x.lt(at(upper))),
        Operator::NotEq => x.clone().lt(at(lower)).or(x.gt_eq(at(upper))),
        Operator::IsNotDistinctFrom => x
            .clone()
            .is_not_null()
            .and(x.clone().gt_eq(at(lower)))
            .and(x.lt(at(upper))),
        Operator::IsDistinctFrom => x
            .clone()
            .lt(at(lower))
            .or(x.clone().gt_eq(at(upper)))
            .or(x.is_null()),
        _ => return Ok(Transformed::no(e)),
    };
    Ok(Transformed::yes(rewritten))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> i32 {
        let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        (d - chrono::NaiveDate::default()).num_days() as i32
    }

    #[test]
    fn a_business_day_is_the_day_from_its_cutoff_to_the_next() {
        let schema = DFSchema::empty();
        let ts = Expr::Literal(ScalarValue::TimestampMicrosecond(Some(0), None), None);
        let f = cip_udfs::scalar_udfs()
            .into_iter()
            .find(|f| f.name() == "business_date")
            .unwrap();
        let call = Expr::ScalarFunction(datafusion::logical_expr::expr::ScalarFunction::new_udf(
            std::sync::Arc::new(f),
            vec![ts.clone()],
        ));
        let d = Expr::Literal(ScalarValue::Date32(Some(date("2026-10-31"))), None);
        let six = 6 * 3_600_000_000;
        let e = call.clone().lt_eq(d.clone());
        let out = range(e, &schema, six).unwrap();
        assert!(out.transformed);
        // 2026-11-01 06:00 local
        let upper = i64::from(date("2026-11-01")) * MICROS_PER_DAY + six;
        assert_eq!(
            out.data,
            ts.clone().lt(Expr::Literal(
                ScalarValue::TimestampMicrosecond(Some(upper), None),
                None
            ))
        );
        // the literal on the left: DATE > business_date(ts) is business_date(ts) < DATE
        let out = range(d.clone().gt(call.clone()), &schema, six).unwrap();
        let lower = i64::from(date("2026-10-31")) * MICROS_PER_DAY + six;
        assert_eq!(
            out.data,
            ts.lt(Expr::Literal(
                ScalarValue::TimestampMicrosecond(Some(lower), None),
                None
            ))
        );
        // a comparison with something else than a date literal stays
        let other = call.clone().lt_eq(call);
        assert!(!range(other, &schema, six).unwrap().transformed);
    }
}
