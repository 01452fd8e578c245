//! The Documentation of the scalar model functions (scores.rs).

use super::scores::Func;
use super::{with_frx, SECTION};
use crate::models::bgnbd::Variant;
use datafusion::logical_expr::Documentation;
use std::sync::OnceLock;

/// A function of (horizon, frequency, recency, t, params).
fn horizon_doc(name: &str, description: String, params: &str, example: String) -> Documentation {
    with_frx(
        Documentation::builder(
            SECTION,
            description,
            format!("{name}(horizon, frequency, recency, t, params)"),
        )
        .with_argument(
            "horizon",
            "Length of the future period, in the unit of t (>= 0).",
        ),
    )
    .with_argument("params", params)
    .with_sql_example(example)
    .build()
}

/// The Documentation of each scalar model function.
pub(super) fn documentation_of(func: Func) -> &'static Documentation {
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
        Func::ExpectedVisits(v) => horizon_doc(
            name,
            format!(
                "Expected repeat visits in the next `horizon` time units under {}, given the customer's history (uses the Gauss hypergeometric series; NULL if it does not converge). {null}",
                if v == Variant::Bg { "BG/NBD" } else { "MBG/NBD" }
            ),
            params,
            format!("SELECT {name}(90, frequency, recency, t, p) FROM member_features CROSS JOIN fits;"),
        ),
        Func::PNoVisit(v) => horizon_doc(
            name,
            format!(
                "Probability of no visit in the next `horizon` time units under {}: gone already, or active and silent over the horizon. {null}",
                if v == Variant::Bg { "BG/NBD" } else { "MBG/NBD" }
            ),
            params,
            format!("SELECT {name}(90, frequency, recency, t, p) FROM member_features CROSS JOIN fits;"),
        ),
        Func::ParetoPAlive => with_frx(Documentation::builder(
            SECTION,
            format!("Probability that the customer is still active at t under Pareto/NBD; cip's p_alive. {null}"),
            format!("{name}(frequency, recency, t, params)"),
        ))
        .with_argument("params", pn_params)
        .with_sql_example(format!("SELECT {name}(frequency, recency, t, p.parameters) FROM member_features CROSS JOIN model_fit('pnbd') p;"))
        .build(),
        Func::ParetoExpectedVisits => horizon_doc(
            name,
            format!("Expected visits in the next `horizon` time units under Pareto/NBD, given the customer's history. {null}"),
            pn_params,
            format!("SELECT {name}(90, frequency, recency, t, p.parameters) FROM member_features CROSS JOIN model_fit('pnbd') p;"),
        ),
        Func::ParetoPNoVisit => horizon_doc(
            name,
            format!("Probability of no visit in the next `horizon` time units under Pareto/NBD: the likelihood of the same history watched `horizon` longer over the likelihood of the history. cip's churn_risk is 100 times this over cip.churn_horizon_days. {null}"),
            pn_params,
            format!("SELECT 100 * {name}(90, frequency, recency, t, p.parameters) AS churn_risk FROM member_features CROSS JOIN model_fit('pnbd') p;"),
        ),
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
