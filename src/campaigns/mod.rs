//! Campaigns: `launch_campaign(...)` turns a proposal (the campaign_proposals view in queries/) into
//! a campaign with its audience, holdout and A/B variants. Tracking events arrive by INSERT or
//! COPY (checked against campaigns and the funnel's statuses by the store); the views
//! campaign_members and campaign_performance read them.

mod function;
pub use function::{SEGMENTS, TYPES};
mod launch;

use std::sync::Arc;

/// Registers `launch_campaign` in a session.
pub fn register(r: &crate::registrar::Registrar) -> crate::error::Result<()> {
    r.ctx.register_udtf(
        "launch_campaign",
        Arc::new(function::LaunchCampaign {
            store: r.store.clone(),
            config: r.config.campaigns.clone(),
        }),
    );
    Ok(())
}
