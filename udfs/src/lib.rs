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
mod min_by;
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
    for clock in [
        calendar::Clock::Timestamp,
        calendar::Clock::Date,
        calendar::Clock::Time,
        calendar::Clock::Wall,
    ] {
        v.push(ScalarUDF::from(calendar::LocalNowUdf::reading(clock)));
    }
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
    v.push(ScalarUDF::from(ranks::CutsUdf::new(ranks::Cuts::Ntile)));
    v.push(ScalarUDF::from(ranks::CutsUdf::new(
        ranks::Cuts::Percentile,
    )));
    v.push(ScalarUDF::from(ranks::FirstBoxUdf::default()));
    v
}

/// Every cip aggregate function.
pub fn aggregate_udfs() -> Vec<AggregateUDF> {
    let mut v = fits(None);
    v.push(AggregateUDF::from(min_by::MinByUdaf::new()));
    v
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

/// Registers every cip function with `registry`. A cip function that takes the name of one
/// already there (now, current_date, …) replaces it with all its aliases: an alias left
/// behind (DataFusion's current_date is also `today`) keeps the old function in the
/// registry, and a state rebuilt from it (`SessionStateBuilder::new_from_existing`, which
/// datafusion-pg-catalog's setup does) re-registers every function in hash order — so the
/// old one took the name back in some sessions and not others.
pub fn register_all(registry: &mut dyn FunctionRegistry) -> Result<()> {
    for f in scalar_udfs() {
        for name in std::iter::once(f.name()).chain(f.aliases().iter().map(String::as_str)) {
            match registry.deregister_udf(name) {
                // A registry that cannot remove functions has none of its own to shadow.
                Ok(_) | Err(datafusion::common::DataFusionError::NotImplemented(_)) => {}
                Err(e) => return Err(e),
            }
        }
        registry.register_udf(Arc::new(f))?;
    }
    for f in aggregate_udfs() {
        registry.register_udaf(Arc::new(f))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::execution::SessionStateBuilder;

    #[test]
    fn cip_functions_keep_their_names_when_the_state_is_rebuilt() {
        let mut state = SessionStateBuilder::new().with_default_features().build();
        register_all(&mut state).unwrap();
        // Rebuilding re-registers every function in hash order: no function that cip's
        // replaced may be left to take a name back.
        for _ in 0..20 {
            state = SessionStateBuilder::new_from_existing(state).build();
        }
        for name in ["now", "current_timestamp", "current_date", "current_time"] {
            let f = &state.scalar_functions()[name];
            assert!(
                f.inner().downcast_ref::<LocalNowUdf>().is_some(),
                "{name} is not cip's"
            );
        }
        assert!(!state.scalar_functions().contains_key("today"));
    }
}
