//! `bgnbd_fit`, `mbgnbd_fit` and `gamma_gamma_fit`: aggregates that fit a model by maximum
//! likelihood and return its parameters as a struct.
//!
//! Rows are collected raw and de-duplicated once, before the fit (customers with the same
//! figures become one weighted row; see `dedup`): with days as the unit there are fewer
//! distinct (frequency, recency, t) than members, and each evaluation of the likelihood
//! costs one pass over the distinct rows.

use super::{with_frx, SECTION};
use crate::models::args::{coerce, invalid, Arg};
use crate::models::bgnbd::Variant;
use crate::models::dedup::Rows;
use crate::models::fit_accumulator::FitAccumulator;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, Signature, Volatility,
};
use datafusion::physical_expr::expressions::Literal;
use std::sync::Arc;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    BgNbd(Variant),
    ParetoNbd,
    GammaGamma,
}

impl Model {
    pub(super) fn name(self) -> &'static str {
        match self {
            Model::BgNbd(Variant::Bg) => "bgnbd_fit",
            Model::BgNbd(Variant::Mbg) => "mbgnbd_fit",
            Model::ParetoNbd => "pnbd_fit",
            Model::GammaGamma => "gamma_gamma_fit",
        }
    }

    /// Data columns (the optional penalizer comes after them).
    pub(super) fn inputs(self) -> usize {
        match self {
            Model::BgNbd(_) | Model::ParetoNbd => 3,
            Model::GammaGamma => 2,
        }
    }

    pub fn param_names(self) -> &'static [&'static str] {
        match self {
            Model::BgNbd(_) => &["r", "alpha", "a", "b"],
            Model::ParetoNbd => &["r", "alpha", "s", "beta"],
            Model::GammaGamma => &["p", "q", "gamma"],
        }
    }

    pub(super) fn result_fields(self) -> Fields {
        let mut f: Vec<Field> = self
            .param_names()
            .iter()
            .map(|n| Field::new(*n, DataType::Float64, true))
            .collect();
        f.push(Field::new("log_likelihood", DataType::Float64, true));
        f.push(Field::new("n", DataType::Int64, true));
        Fields::from(f)
    }
}

/// Asked between optimiser iterations whether to give up (the statement was cancelled or ran
/// past its timeout). A server gives each connection's fits its own; the default never stops.
#[derive(Clone)]
pub struct FitStop(pub Arc<dyn Fn() -> bool + Send + Sync>);

impl std::fmt::Debug for FitStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FitStop")
    }
}

impl PartialEq for FitStop {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for FitStop {}

impl std::hash::Hash for FitStop {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (Arc::as_ptr(&self.0) as *const () as usize).hash(state);
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FitUdaf {
    model: Model,
    signature: Signature,
    stop: Option<FitStop>,
}

impl FitUdaf {
    pub fn new(model: Model) -> Self {
        FitUdaf {
            model,
            signature: Signature::user_defined(Volatility::Immutable),
            stop: None,
        }
    }

    /// The same fit, giving up with 57014 when `stop` says so.
    pub fn with_stop(mut self, stop: FitStop) -> Self {
        self.stop = Some(stop);
        self
    }
}

impl AggregateUDFImpl for FitUdaf {
    fn name(&self) -> &str {
        self.model.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let n = self.model.inputs();
        coerce(self.name(), &vec![Arg::Number; n + 1], n, arg_types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(self.model.result_fields()))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let name = self.name();
        let penalizer = match args.exprs.get(self.model.inputs()) {
            None => 0.0,
            Some(e) => match e.downcast_ref::<Literal>().map(|l| l.value()) {
                Some(ScalarValue::Float64(Some(v))) if v.is_finite() && *v >= 0.0 => *v,
                Some(ScalarValue::Float64(None)) => 0.0,
                _ => {
                    return Err(invalid(
                        name,
                        "the penalizer must be a constant number >= 0",
                    ))
                }
            },
        };
        Ok(Box::new(FitAccumulator {
            model: self.model,
            penalizer,
            rows: Rows::with_stop(self.stop.clone()),
            stop: self.stop.clone(),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let item = Arc::new(Field::new_list_field(DataType::Float64, true));
        Ok(vec![Arc::new(Field::new(
            format!("{}[rows]", args.name),
            DataType::List(item),
            true,
        ))])
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(documentation_of(self.model))
    }
}

/// The Documentation of each fit.
fn documentation_of(model: Model) -> &'static Documentation {
    static BG: OnceLock<Documentation> = OnceLock::new();
    static MBG: OnceLock<Documentation> = OnceLock::new();
    static GG: OnceLock<Documentation> = OnceLock::new();
    static PNBD: OnceLock<Documentation> = OnceLock::new();
    match model {
        Model::ParetoNbd => PNBD.get_or_init(|| {
            with_frx(Documentation::builder(
                SECTION,
                "Fits Pareto/NBD (Schmittlein, Morrison & Colombo 1987; the likelihood of \
                 lifetimes' ParetoNBDFitter) by maximum likelihood (BFGS on log-parameters with \
                 numerical gradients, Nelder-Mead as fallback) and returns {r, alpha, s, beta, \
                 log_likelihood, n}: visits are Poisson at a Gamma(r, alpha) rate while active, \
                 lifetimes exponential at a Gamma(s, beta) rate; alpha and beta are in the unit \
                 of recency and t. cip's churn_risk comes from this fit. Rows with a NULL are \
                 skipped; a negative figure, recency > t or NaN is an error. NULL when fewer \
                 than 2 customers or nobody has a repeat visit.",
                "pnbd_fit(frequency, recency, t [, penalizer])",
            ))
            .with_argument(
                "penalizer",
                "Optional constant L2 coefficient on the parameters (default 0).",
            )
            .with_sql_example("SELECT pnbd_fit(frequency, recency, t) AS p FROM member_features;")
            .build()
        }),
        Model::BgNbd(v) => {
            let (cell, name, what) = match v {
                Variant::Bg => (&BG, "bgnbd_fit", "BG/NBD (Fader, Hardie & Lee 2005)"),
                Variant::Mbg => (
                    &MBG,
                    "mbgnbd_fit",
                    "MBG/NBD (Batislam et al. 2007; like BG/NBD but a customer may also drop out right after the first visit, so one-visit customers are not all 'alive')",
                ),
            };
            cell.get_or_init(|| {
                with_frx(Documentation::builder(
                    SECTION,
                    format!(
                        "Fits {what} by maximum likelihood (BFGS with analytic gradients on log-parameters, \
                         Nelder-Mead as fallback; the same likelihood as lifetimes) \
                         and returns {{r, alpha, a, b, log_likelihood, n}}: alpha is in the unit of \
                         recency and t; log_likelihood is the total over customers; n counts them. \
                         Rows with a NULL are skipped; a negative figure, recency > t or NaN is an \
                         error. NULL when fewer than 2 customers or nobody has a repeat visit."
                    ),
                    format!("{name}(frequency, recency, t [, penalizer])"),
                ))
                .with_argument(
                    "penalizer",
                    "Optional constant L2 coefficient on the parameters, as lifetimes' penalizer_coef (default 0).",
                )
                .with_sql_example(format!(
                    "SELECT {name}(frequency, recency, t) AS p FROM member_features;"
                ))
                .build()
            })
        }
        Model::GammaGamma => GG.get_or_init(|| {
            Documentation::builder(
                SECTION,
                "Fits the Gamma-Gamma spend model (Fader, Hardie & Lee 2005) by maximum likelihood \
                 and returns {p, q, gamma, log_likelihood, n}; gamma is in the unit of monetary. \
                 Only customers with frequency > 0 and monetary > 0 are used (n counts them). \
                 NULL when fewer than 2 such customers.",
                "gamma_gamma_fit(frequency, monetary [, penalizer])",
            )
            .with_argument("frequency", "Repeat visit-days (>= 0).")
            .with_argument("monetary", "Mean spend of the repeat visits (>= 0).")
            .with_argument("penalizer", "Optional constant L2 coefficient (default 0).")
            .with_sql_example(
                "SELECT gamma_gamma_fit(frequency, monetary) FROM member_features WHERE frequency > 0;",
            )
            .build()
        }),
    }
}
