//! Scalar functions over fitted parameters: P(alive), expected visits, expected spend, CLV.
//!
//! NULL in, NULL out; impossible figures (negative, recency > t, NaN) are an error naming the
//! function; a result the mathematics cannot give (e.g. Gamma-Gamma with q <= 1) is NULL.

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
        Some(super::score_docs::documentation_of(self.func))
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
