//! Scalar functions over fitted parameters: P(alive), expected visits, expected spend, CLV.
//!
//! NULL in, NULL out; impossible figures (negative, recency > t, NaN) are an error naming the
//! function; a result the mathematics cannot give (e.g. Gamma-Gamma with q <= 1) is NULL.

use super::{with_frx, SECTION};
use crate::models::args::{
    check_params, coerce, float_column, invalid, numbers, texts, Arg, ParamRows,
};
use crate::models::bgnbd::{self, Variant};
use crate::models::gamma_gamma;
use crate::models::pareto_nbd;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use std::sync::OnceLock;

const BG: &[&str] = &["r", "alpha", "a", "b"];
const GG: &[&str] = &["p", "q", "gamma"];
const PN: &[&str] = &["r", "alpha", "s", "beta"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Func {
    PAlive(Variant),
    ExpectedVisits(Variant),
    PNoVisit(Variant),
    ParetoPAlive,
    ParetoExpectedVisits,
    ParetoPNoVisit,
    ExpectedSpend,
    Clv,
}

impl Func {
    pub const ALL: [Func; 11] = [
        Func::PAlive(Variant::Bg),
        Func::PAlive(Variant::Mbg),
        Func::ExpectedVisits(Variant::Bg),
        Func::ExpectedVisits(Variant::Mbg),
        Func::PNoVisit(Variant::Bg),
        Func::PNoVisit(Variant::Mbg),
        Func::ParetoPAlive,
        Func::ParetoExpectedVisits,
        Func::ParetoPNoVisit,
        Func::ExpectedSpend,
        Func::Clv,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Func::PAlive(Variant::Bg) => "bgnbd_p_alive",
            Func::PAlive(Variant::Mbg) => "mbgnbd_p_alive",
            Func::ExpectedVisits(Variant::Bg) => "bgnbd_expected_visits",
            Func::ExpectedVisits(Variant::Mbg) => "mbgnbd_expected_visits",
            Func::PNoVisit(Variant::Bg) => "bgnbd_p_no_visit",
            Func::PNoVisit(Variant::Mbg) => "mbgnbd_p_no_visit",
            Func::ParetoPAlive => "pnbd_p_alive",
            Func::ParetoExpectedVisits => "pnbd_expected_visits",
            Func::ParetoPNoVisit => "pnbd_p_no_visit",
            Func::ExpectedSpend => "gamma_gamma_expected_spend",
            Func::Clv => "clv",
        }
    }

    /// Argument kinds and how many are required.
    fn spec(self) -> (&'static [Arg], usize) {
        use Arg::*;
        match self {
            Func::PAlive(_) => (&[Number, Number, Number, Params(BG)], 4),
            Func::ExpectedVisits(_) | Func::PNoVisit(_) => {
                (&[Number, Number, Number, Number, Params(BG)], 5)
            }
            Func::ParetoPAlive => (&[Number, Number, Number, Params(PN)], 4),
            Func::ParetoExpectedVisits | Func::ParetoPNoVisit => {
                (&[Number, Number, Number, Number, Params(PN)], 5)
            }
            Func::ExpectedSpend => (&[Number, Number, Params(GG)], 3),
            Func::Clv => (
                &[
                    Number,
                    Number,
                    Number,
                    Params(BG),
                    Number,
                    Number,
                    Number,
                    Number,
                    Text,
                ],
                5,
            ),
        }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ModelUdf {
    func: Func,
    signature: Signature,
}

impl ModelUdf {
    pub fn new(func: Func) -> Self {
        ModelUdf {
            func,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for ModelUdf {
    fn name(&self) -> &str {
        self.func.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let (spec, required) = self.func.spec();
        coerce(self.name(), spec, required, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let name = self.name();
        let (spec, _) = self.func.spec();
        let mut nums = Vec::new();
        let mut params = None;
        let mut model = None;
        for (a, s) in args.args.iter().zip(spec) {
            match s {
                Arg::Number => nums.push(numbers(a, rows)?),
                Arg::Params(f) => params = Some(ParamRows::read(a, rows, f)?),
                Arg::Text => model = Some(texts(a, rows)?),
            }
        }
        let params = params.ok_or_else(|| invalid(name, "missing model parameters"))?;
        let mut out = Vec::with_capacity(rows);
        for i in 0..rows {
            let Some(p) = params.row(i) else {
                out.push(None);
                continue;
            };
            if nums.iter().any(|c| c.is_null(i)) {
                out.push(None);
                continue;
            }
            let v: Vec<f64> = nums.iter().map(|c| c.value(i)).collect();
            let variant = match &model {
                Some(m) if !m.is_null(i) => match m.as_string::<i32>().value(i) {
                    "bgnbd" => Variant::Bg,
                    "mbgnbd" => Variant::Mbg,
                    other => {
                        return Err(invalid(
                            name,
                            format!("model must be 'bgnbd' or 'mbgnbd', got {other:?}"),
                        ))
                    }
                },
                _ => Variant::Mbg,
            };
            let y = self.one(&v, &p, variant)?;
            out.push(y.filter(|y| y.is_finite()));
        }
        Ok(float_column(out))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(documentation_of(self.func))
    }
}

impl ModelUdf {
    fn one(&self, v: &[f64], p: &[f64], variant: Variant) -> Result<Option<f64>> {
        let name = self.name();
        let bg = |p: &[f64]| -> Result<bgnbd::Params> {
            let q = bgnbd::Params {
                r: p[0],
                alpha: p[1],
                a: p[2],
                b: p[3],
            };
            check_params(name, q.is_valid(), p)?;
            Ok(q)
        };
        let customer =
            |x: f64, tx: f64, t: f64| bgnbd::check(x, tx, t).map_err(|m| invalid(name, m));
        let pn = |p: &[f64]| -> Result<pareto_nbd::Params> {
            let q = pareto_nbd::Params {
                r: p[0],
                alpha: p[1],
                s: p[2],
                beta: p[3],
            };
            check_params(name, q.is_valid(), p)?;
            Ok(q)
        };
        let horizon = |h: f64| -> Result<()> {
            if h >= 0.0 && h.is_finite() {
                Ok(())
            } else {
                Err(invalid(name, format!("horizon must be >= 0, got {h}")))
            }
        };
        Ok(Some(match self.func {
            Func::PNoVisit(var) => {
                horizon(v[0])?;
                customer(v[1], v[2], v[3])?;
                bg(p)?.p_no_visit(var, v[0], v[1], v[2], v[3])
            }
            Func::ParetoPAlive => {
                customer(v[0], v[1], v[2])?;
                pn(p)?.p_alive(v[0], v[1], v[2])
            }
            Func::ParetoExpectedVisits => {
                horizon(v[0])?;
                customer(v[1], v[2], v[3])?;
                pn(p)?.expected_visits(v[0], v[1], v[2], v[3])
            }
            Func::ParetoPNoVisit => {
                horizon(v[0])?;
                customer(v[1], v[2], v[3])?;
                pn(p)?.p_no_visit(v[0], v[1], v[2], v[3])
            }
            Func::PAlive(var) => {
                customer(v[0], v[1], v[2])?;
                bg(p)?.p_alive(var, v[0], v[1], v[2])
            }
            Func::ExpectedVisits(var) => {
                horizon(v[0])?;
                customer(v[1], v[2], v[3])?;
                bg(p)?.expected_visits(var, v[0], v[1], v[2], v[3])
            }
            Func::ExpectedSpend => {
                gamma_gamma::check(v[0], v[1]).map_err(|m| invalid(name, m))?;
                let q = gamma_gamma::Params {
                    p: p[0],
                    q: p[1],
                    gamma: p[2],
                };
                check_params(name, q.is_valid(), p)?;
                q.expected_spend(v[0], v[1])
            }
            Func::Clv => {
                customer(v[0], v[1], v[2])?;
                let spend = v[3];
                let months = v.get(4).copied().unwrap_or(12.0);
                let discount = v.get(5).copied().unwrap_or(0.01);
                let margin = v.get(6).copied().unwrap_or(1.0);
                if !(spend >= 0.0 && spend.is_finite()) {
                    return Err(invalid(name, format!("spend must be >= 0, got {spend}")));
                }
                if !((0.0..=1200.0).contains(&months) && months.fract() == 0.0) {
                    return Err(invalid(
                        name,
                        format!(
                            "horizon_months must be a whole number from 0 to 1200, got {months}"
                        ),
                    ));
                }
                if !(discount > -1.0 && discount.is_finite()) {
                    return Err(invalid(
                        name,
                        format!("monthly_discount must be above -1, got {discount}"),
                    ));
                }
                if !margin.is_finite() {
                    return Err(invalid(
                        name,
                        format!("margin must be a number, got {margin}"),
                    ));
                }
                let q = bg(p)?;
                let mut value = 0.0;
                let mut before = 0.0;
                for month in 1..=(months as u32) {
                    let upto =
                        q.expected_visits(variant, 30.0 * f64::from(month), v[0], v[1], v[2]);
                    value += (upto - before) * spend * margin / (1.0 + discount).powi(month as i32);
                    before = upto;
                }
                value
            }
        }))
    }
}

/// The Documentation of each scalar model function.
fn documentation_of(func: Func) -> &'static Documentation {
    static DOCS: OnceLock<Vec<(Func, Documentation)>> = OnceLock::new();
    let all = DOCS.get_or_init(|| Func::ALL.into_iter().map(|f| (f, build(f))).collect());
    // Every Func is in the list above.
    &all.iter().find(|(f, _)| *f == func).unwrap_or(&all[0]).1
}

fn build(func: Func) -> Documentation {
    let name = func.name();
    let params = "params: the struct bgnbd_fit / mbgnbd_fit returns (fields r, alpha, a, b).";
    let pn_params = "params: the struct pnbd_fit returns (fields r, alpha, s, beta).";
    let null = "NULL when an argument or the parameters are NULL; an error for a negative figure, recency > t or NaN.";
    match func {
        Func::PAlive(v) => with_frx(Documentation::builder(
            SECTION,
            match v {
                Variant::Bg => format!("Probability that the customer is still active at t under BG/NBD. Note: 1 for every customer without a repeat visit, so it cannot rank one-visit customers; cip's p_alive is pnbd_p_alive. {null}"),
                Variant::Mbg => format!("Probability that the customer is still active at t under MBG/NBD. {null}"),
            },
            format!("{name}(frequency, recency, t, params)"),
        ))
        .with_argument("params", params)
        .with_sql_example(format!("SELECT {name}(2, 30.43, 38.86, p) FROM (SELECT bgnbd_fit(frequency, recency, t) AS p FROM cdnow);"))
        .build(),
        Func::ExpectedVisits(v) => with_frx(
            Documentation::builder(
                SECTION,
                format!(
                    "Expected repeat visits in the next `horizon` time units under {}, given the customer's history (uses the Gauss hypergeometric series; NULL if it does not converge). {null}",
                    if v == Variant::Bg { "BG/NBD" } else { "MBG/NBD" }
                ),
                format!("{name}(horizon, frequency, recency, t, params)"),
            )
            .with_argument("horizon", "Length of the future period, in the unit of t (>= 0)."),
        )
        .with_argument("params", params)
        .with_sql_example(format!("SELECT {name}(90, frequency, recency, t, p) FROM member_features CROSS JOIN fits;"))
        .build(),
        Func::PNoVisit(v) => with_frx(
            Documentation::builder(
                SECTION,
                format!(
                    "Probability of no visit in the next `horizon` time units under {}: gone already, or active and silent over the horizon. {null}",
                    if v == Variant::Bg { "BG/NBD" } else { "MBG/NBD" }
                ),
                format!("{name}(horizon, frequency, recency, t, params)"),
            )
            .with_argument("horizon", "Length of the future period, in the unit of t (>= 0)."),
        )
        .with_argument("params", params)
        .with_sql_example(format!("SELECT {name}(90, frequency, recency, t, p) FROM member_features CROSS JOIN fits;"))
        .build(),
        Func::ParetoPAlive => with_frx(Documentation::builder(
            SECTION,
            format!("Probability that the customer is still active at t under Pareto/NBD; cip's p_alive. {null}"),
            format!("{name}(frequency, recency, t, params)"),
        ))
        .with_argument("params", pn_params)
        .with_sql_example(format!("SELECT {name}(frequency, recency, t, p.parameters) FROM member_features CROSS JOIN model_fit('pnbd') p;"))
        .build(),
        Func::ParetoExpectedVisits => with_frx(
            Documentation::builder(
                SECTION,
                format!("Expected visits in the next `horizon` time units under Pareto/NBD, given the customer's history. {null}"),
                format!("{name}(horizon, frequency, recency, t, params)"),
            )
            .with_argument("horizon", "Length of the future period, in the unit of t (>= 0)."),
        )
        .with_argument("params", pn_params)
        .with_sql_example(format!("SELECT {name}(90, frequency, recency, t, p.parameters) FROM member_features CROSS JOIN model_fit('pnbd') p;"))
        .build(),
        Func::ParetoPNoVisit => with_frx(
            Documentation::builder(
                SECTION,
                format!("Probability of no visit in the next `horizon` time units under Pareto/NBD: the likelihood of the same history watched `horizon` longer over the likelihood of the history. cip's churn_risk is 100 times this over cip.churn_horizon_days. {null}"),
                format!("{name}(horizon, frequency, recency, t, params)"),
            )
            .with_argument("horizon", "Length of the future period, in the unit of t (>= 0)."),
        )
        .with_argument("params", pn_params)
        .with_sql_example(format!("SELECT 100 * {name}(90, frequency, recency, t, p.parameters) AS churn_risk FROM member_features CROSS JOIN model_fit('pnbd') p;"))
        .build(),
        Func::ExpectedSpend => Documentation::builder(
            SECTION,
            format!("Expected spend per visit under Gamma-Gamma: (p(gamma + frequency*monetary)) / (p*frequency + q - 1), the population mean p*gamma/(q-1) without repeats; NULL when q <= 1. {null}"),
            format!("{name}(frequency, monetary, params)"),
        )
        .with_argument("frequency", "Repeat visit-days (>= 0).")
        .with_argument("monetary", "Mean spend of the repeat visits (>= 0).")
        .with_argument("params", "The struct gamma_gamma_fit returns (fields p, q, gamma).")
        .with_sql_example(format!("SELECT {name}(3, 250.0, p) FROM (SELECT gamma_gamma_fit(frequency, monetary) AS p FROM member_features);"))
        .build(),
        Func::Clv => with_frx(Documentation::builder(
            SECTION,
            format!("Customer lifetime value over a horizon in months (30 days each; frequency, recency and t in days): the sum over months m of (expected visits in month m) * spend * margin / (1 + monthly_discount)^m, as lifetimes' customer_lifetime_value. {null}"),
            format!("{name}(frequency, recency, t, params, spend [, horizon_months [, monthly_discount [, margin [, model]]]])"),
        ))
        .with_argument("params", params)
        .with_argument("spend", "Expected spend per visit, e.g. gamma_gamma_expected_spend(...).")
        .with_argument("horizon_months", "Whole months, default 12.")
        .with_argument("monthly_discount", "Monthly discount rate, default 0.01.")
        .with_argument("margin", "Share of revenue that is profit, default 1.0 (revenue CLV).")
        .with_argument("model", "'mbgnbd' (default) or 'bgnbd': which model's expected visits.")
        .with_sql_example(format!("SELECT {name}(frequency, recency, t, bg, gamma_gamma_expected_spend(frequency, monetary, gg)) FROM member_features CROSS JOIN fits;"))
        .build(),
    }
}
