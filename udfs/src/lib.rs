//! cip-udfs: cip's SQL functions as DataFusion UDFs, for any DataFusion context.
//!
//! `register_all` adds every function to a context (ours, a Ballista executor, a notebook
//! through datafusion-python). Each carries DataFusion `Documentation`. The numeric kernels
//! (models/: `bgnbd`, `pareto_nbd`, `gamma_gamma`, the likelihood and the optimisers) are plain Rust with
//! their own unit tests, private to this crate. Functions are kept by family: models/,
//! experiments/, calendar/, format/, masking/, ranks/.

mod calendar;
pub use calendar::LocalNowUdf;
pub mod error;
mod experiments;
pub use experiments::{fnv1a, normal_cdf};
mod format;
mod masking;
mod models;
mod ranks;
pub mod session;
pub mod sqlstate;

use datafusion::common::Result;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use models::bgnbd::Variant;
pub use models::fit::FitStop;
use models::fit::{FitUdaf, Model};
use models::scores::{Func, ModelUdf};
use std::sync::Arc;

/// Every cip scalar function.
pub fn scalar_udfs() -> Vec<ScalarUDF> {
    let mut v: Vec<ScalarUDF> = Func::ALL
        .into_iter()
        .map(|f| ScalarUDF::from(ModelUdf::new(f)))
        .collect();
    v.push(ScalarUDF::from(calendar::AsOfUdf::new()));
    v.push(ScalarUDF::from(calendar::LocalNowUdf::new()));
    v.push(ScalarUDF::from(calendar::BusinessDateUdf::new()));
    v.push(ScalarUDF::from(format::YuanUdf::new()));
    v.push(ScalarUDF::from(experiments::AbBucketUdf::new()));
    v.push(ScalarUDF::from(experiments::NormalCdfUdf::new()));
    v.push(ScalarUDF::from(masking::MaskUdf::phone()));
    v.push(ScalarUDF::from(masking::MaskUdf::name()));
    v.push(ScalarUDF::from(ranks::RankUdf::new(ranks::Rank::Bucket)));
    v.push(ScalarUDF::from(ranks::RankUdf::new(
        ranks::Rank::Percentile,
    )));
    v
}

/// Every cip aggregate function.
pub fn aggregate_udfs() -> Vec<AggregateUDF> {
    fits(None)
}

/// The model fits; with `stop`, each gives up between iterations when it returns true.
pub fn fits(stop: Option<FitStop>) -> Vec<AggregateUDF> {
    [
        Model::BgNbd(Variant::Bg),
        Model::BgNbd(Variant::Mbg),
        Model::ParetoNbd,
        Model::GammaGamma,
    ]
    .into_iter()
    .map(|m| {
        let fit = FitUdaf::new(m);
        AggregateUDF::from(match &stop {
            Some(s) => fit.with_stop(s.clone()),
            None => fit,
        })
    })
    .collect()
}

/// Registers every cip function with `registry`.
pub fn register_all(registry: &mut dyn FunctionRegistry) -> Result<()> {
    for f in scalar_udfs() {
        registry.register_udf(Arc::new(f))?;
    }
    for f in aggregate_udfs() {
        registry.register_udaf(Arc::new(f))?;
    }
    Ok(())
}
