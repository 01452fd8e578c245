//! Tiers (提档): the default ladder, and the statements that move members between tiers —
//! `execute_upgrades()` and the retention review `review_tiers()`. The rules and their
//! evaluation are SQL (tier_rules and the upgrade_evaluation and tier_review views in queries/);
//! this module only writes what those views decide, exactly once.

mod changed;
mod function;
mod ladder;
mod rewards;
mod run;

pub use ladder::default_ladder;

use std::sync::Arc;

/// Registers `execute_upgrades` and `review_tiers` in a session.
pub fn register(r: &crate::registrar::Registrar) -> crate::error::Result<()> {
    for kind in [run::Kind::Upgrade, run::Kind::Review] {
        r.ctx.register_udtf(
            kind.function(),
            Arc::new(function::TierRun {
                store: r.store.clone(),
                kind,
            }),
        );
    }
    Ok(())
}
