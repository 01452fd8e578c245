//! Campaigns: `launch_campaign(...)` turns a proposal (queries/17_campaign_proposals.sql) into
//! a campaign with its audience, holdout and A/B variants. Tracking events arrive by INSERT or
//! COPY (checked against campaigns and the funnel's statuses by the store); the views
//! campaign_members and campaign_performance read them.

mod function;
pub use function::{SEGMENTS, TYPES};
mod launch;

use crate::config::CampaignConfig;
use crate::storage::Store;
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// Registers `launch_campaign` in a session.
pub fn register(ctx: &SessionContext, store: &Arc<Store>, config: &CampaignConfig) {
    ctx.register_udtf(
        "launch_campaign",
        Arc::new(function::LaunchCampaign {
            store: store.clone(),
            config: config.clone(),
        }),
    );
}
