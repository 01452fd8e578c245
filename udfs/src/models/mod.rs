//! The customer-base models: BG/NBD, MBG/NBD and Pareto/NBD for activity, Gamma-Gamma for
//! spend, CLV.
//! `fit` and `scores` are the SQL functions (each with its Documentation); the rest are the
//! numeric kernels they run on, private to this crate.

mod args;
pub(crate) mod bgnbd;
mod dedup;
pub(crate) mod fit;
mod fit_accumulator;
mod gamma_gamma;
mod likelihood;
mod optimize;
mod pareto_gradient;
pub(crate) mod pareto_nbd;
mod score_docs;
pub(crate) mod scores;
mod special;
mod split_sum;

use datafusion::logical_expr::{DocSection, DocumentationBuilder};

pub(crate) const SECTION: DocSection = DocSection {
    include: true,
    label: "cip models",
    description: Some(
        "Customer-base models: BG/NBD, MBG/NBD and Pareto/NBD for activity, Gamma-Gamma for spend, CLV.",
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

pub(crate) fn with_frx(mut b: DocumentationBuilder) -> DocumentationBuilder {
    for (n, d) in FRX {
        b = b.with_argument(n, d);
    }
    b
}
