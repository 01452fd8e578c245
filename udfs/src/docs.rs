//! DataFusion `Documentation` of the model functions (what `SHOW FUNCTIONS` / `cip_functions`
//! list), one place so the wording stays consistent.

use crate::bgnbd::Variant;
use crate::fit_udaf::Model;
use crate::model_udfs::Func;
use datafusion::logical_expr::{DocSection, Documentation};
use std::sync::OnceLock;

const SECTION: DocSection = DocSection {
    include: true,
    label: "cip models",
    description: Some(
        "Customer-base models: BG/NBD and MBG/NBD for activity, Gamma-Gamma for spend, CLV.",
    ),
};

const FRX: [(&str, &str); 3] = [
    (
        "frequency",
        "Repeat visit-days: distinct business days with a visit, minus one. Must be >= 0.",
    ),
    (
        "recency",
        "Time from the first to the last visit (0 without repeats), in the caller's unit (cip's views use days). 0 <= recency <= t.",
    ),
    (
        "t",
        "Time from the first visit to the as-of date, in the same unit.",
    ),
];

fn with_frx(
    mut b: datafusion::logical_expr::DocumentationBuilder,
) -> datafusion::logical_expr::DocumentationBuilder {
    for (n, d) in FRX {
        b = b.with_argument(n, d);
    }
    b
}

pub fn fit(model: Model) -> &'static Documentation {
    static BG: OnceLock<Documentation> = OnceLock::new();
    static MBG: OnceLock<Documentation> = OnceLock::new();
    static GG: OnceLock<Documentation> = OnceLock::new();
    match model {
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

pub fn scalar(func: Func) -> &'static Documentation {
    static DOCS: OnceLock<Vec<(Func, Documentation)>> = OnceLock::new();
    let all = DOCS.get_or_init(|| Func::ALL.into_iter().map(|f| (f, build(f))).collect());
    // Every Func is in the list above.
    &all.iter().find(|(f, _)| *f == func).unwrap_or(&all[0]).1
}

fn build(func: Func) -> Documentation {
    let name = func.name();
    let params = "params: the struct bgnbd_fit / mbgnbd_fit returns (fields r, alpha, a, b).";
    let null = "NULL when an argument or the parameters are NULL; an error for a negative figure, recency > t or NaN.";
    match func {
        Func::PAlive(v) => with_frx(Documentation::builder(
            SECTION,
            match v {
                Variant::Bg => format!("Probability that the customer is still active at t under BG/NBD. Note: 1 for every customer without a repeat visit, so it cannot rank one-visit customers; cip's churn figure uses mbgnbd_p_alive. {null}"),
                Variant::Mbg => format!("Probability that the customer is still active at t under MBG/NBD; cip's p_alive, and churn_risk = 100 * (1 - p_alive). {null}"),
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
