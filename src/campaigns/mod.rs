//! Campaigns: `launch_campaign(...)` turns a proposal (the campaign_proposals view in queries/) into
//! a campaign with its audience, holdout, A/B variants and a personal message per messaged
//! member; the dispatcher (dispatch/) delivers the messages through the configured channels;
//! receipts, clicks (the HTTP API) and conversions (`attribute_conversions()`, from visits)
//! come back as tracking events, which the views campaign_members and campaign_performance read.

pub mod attribution;
mod audience;
pub mod dispatch;
mod function;
pub use function::{SEGMENTS, TYPES};
mod launch;
mod messages;
pub mod templates;
pub mod tracking;

use std::sync::Arc;

/// Registers `launch_campaign` and `attribute_conversions` in a session.
pub fn register(r: &crate::registrar::Registrar) -> crate::error::Result<()> {
    let channel = &r.config.campaigns.channel;
    let settings = launch::Settings {
        campaigns: r.config.campaigns.clone(),
        deliver: r.config.channels.contains_key(channel),
        public_url: r.public_url.clone(),
    };
    r.ctx.register_udtf(
        "launch_campaign",
        Arc::new(function::LaunchCampaign {
            store: r.store.clone(),
            settings,
        }),
    );
    r.ctx.register_udtf(
        "attribute_conversions",
        Arc::new(attribution::AttributeConversions {
            store: r.store.clone(),
        }),
    );
    Ok(())
}
