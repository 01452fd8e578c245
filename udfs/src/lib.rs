//! cip-udfs: cip's SQL functions as DataFusion UDFs, for any DataFusion context.
//!
//! `register_all` adds every function to a context (ours, a Ballista executor, a notebook
//! through datafusion-python). Each carries DataFusion `Documentation`. The numeric kernels
//! (`bgnbd`, `gamma_gamma`) are plain Rust with their own unit tests.

mod args;
pub mod bgnbd;
mod bgnbd_fit;
mod dedup;
mod docs;
pub mod error;
mod fit_udaf;
mod format_udfs;
pub mod gamma_gamma;
mod mask_udfs;
mod model_udfs;
pub mod optimize;
pub mod session;
pub mod special;
mod split_sum;
pub mod sqlstate;
mod stats_udfs;
pub use stats_udfs::{fnv1a, normal_cdf};
mod time_udfs;

use bgnbd::Variant;
use datafusion::common::Result;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
pub use fit_udaf::FitStop;
use fit_udaf::{FitUdaf, Model};
use model_udfs::{Func, ModelUdf};
use std::sync::Arc;

/// Every cip scalar function.
pub fn scalar_udfs() -> Vec<ScalarUDF> {
    let mut v: Vec<ScalarUDF> = Func::ALL
        .into_iter()
        .map(|f| ScalarUDF::from(ModelUdf::new(f)))
        .collect();
    v.push(ScalarUDF::from(time_udfs::AsOfUdf::new()));
    v.push(ScalarUDF::from(time_udfs::BusinessDateUdf::new()));
    v.push(ScalarUDF::from(format_udfs::YuanUdf::new()));
    v.push(ScalarUDF::from(stats_udfs::AbBucketUdf::new()));
    v.push(ScalarUDF::from(stats_udfs::NormalCdfUdf::new()));
    v.push(ScalarUDF::from(mask_udfs::MaskUdf::phone()));
    v.push(ScalarUDF::from(mask_udfs::MaskUdf::name()));
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
