//! The campaign tables of the contract (../shared/DESIGN.md): campaigns, their audience, the
//! tracking funnel, and the personal messages with their delivery log and templates.
//!
//! A message's delivery is a log, not a row updated in place: `message_outbox` holds each
//! message as rendered at launch (never changed), `message_attempts` each step of its
//! delivery (sending, sent, failed, dead) as an append, which is durable before the dispatcher
//! acts on it. The view campaign_messages (queries/) gives each message's current status.

use super::tables::{f, key, schema, text, ts, MONEY, TRACKING_STATUSES};
use crate::storage::{ColumnDefault, Layout, TableDef};
use datafusion::arrow::datatypes::DataType;

/// Steps of a message's delivery, as logged in message_attempts.
pub const ATTEMPT_STATUSES: &[&str] = &["sending", "sent", "failed", "dead"];

pub fn campaign_tables() -> Vec<TableDef> {
    use ColumnDefault::*;
    vec![
        TableDef {
            name: "campaign_tracking",
            schema: schema(vec![
                f("id", DataType::Int64, true),
                key("campaign_id"),
                key("member_id"),
                text("status"),
                f("revenue", MONEY, true),
                f("cost", MONEY, true),
                f("created_at", ts(), true),
            ]),
            key: &["id"],
            unique: false,
            defaults: &[("id", AutoId), ("created_at", Now)],
            domains: &[("status", TRACKING_STATUSES)],
            references: &[("campaign_id", "campaigns")],
            indexes: &[],
            descriptions: &[],
            layout: Layout::Scans,
        },
        TableDef {
            name: "campaigns",
            schema: schema(vec![
                key("campaign_id"),
                text("name"),
                text("segment_id"),
                text("campaign_type"),
                text("offer"),
                f("created_at", ts(), true),
                f("control_share", DataType::Float64, true),
                // JSON array of variant names, e.g. ["A","B"].
                text("variants"),
                text("channel"),
                f("scheduled_at", ts(), true),
                text("launched_by"),
                // What one message costs (each 'sent' event carries it) and what the offer costs
                // when redeemed (a conversion without a cost of its own carries this).
                f("message_cost", MONEY, true),
                f("offer_cost", MONEY, true),
                // Days after launch in which visits count for the holdout comparison.
                f("attribution_days", DataType::Int32, true),
                // Where members' tracking links lead (else [campaigns] landing_url). Added
                // after the first data directories were written: older files read it as NULL.
                text("landing_url"),
            ]),
            key: &["campaign_id"],
            unique: true,
            defaults: &[("created_at", Now)],
            domains: &[],
            references: &[],
            indexes: &[],
            descriptions: &[],
            layout: Layout::Scans,
        },
        TableDef {
            name: "campaign_audience",
            schema: schema(vec![
                key("campaign_id"),
                key("member_id"),
                text("arm"),
                text("variant"),
                f("assigned_at", ts(), true),
            ]),
            key: &["campaign_id", "member_id"],
            unique: false,
            defaults: &[("assigned_at", Now)],
            domains: &[("arm", &["treatment", "holdout"])],
            references: &[("campaign_id", "campaigns")],
            indexes: &[],
            descriptions: &[],
            layout: Layout::Scans,
        },
        TableDef {
            // One personal message per messaged treatment member, as launch rendered it.
            name: "message_outbox",
            schema: schema(vec![
                key("message_id"),
                key("campaign_id"),
                key("member_id"),
                text("variant"),
                text("channel"),
                // The category the offer is about (beer, wine, package, snack), or NULL.
                text("offer_category"),
                text("content"),
                // Unguessable: the member's link /t/{tracking_token}.
                text("tracking_token"),
                text("template_id"),
                f("template_version", DataType::Int32, true),
                f("created_at", ts(), true),
            ]),
            key: &["message_id"],
            unique: false,
            defaults: &[("created_at", Now)],
            domains: &[],
            references: &[("campaign_id", "campaigns")],
            indexes: &[],
            descriptions: &[],
            layout: Layout::Scans,
        },
        TableDef {
            // Each step of a message's delivery; the latest (highest id) is its status.
            name: "message_attempts",
            schema: schema(vec![
                f("id", DataType::Int64, true),
                key("message_id"),
                text("status"),
                f("attempt", DataType::Int32, true),
                text("error"),
                f("created_at", ts(), true),
            ]),
            key: &["id"],
            unique: false,
            defaults: &[("id", AutoId), ("created_at", Now)],
            domains: &[("status", ATTEMPT_STATUSES)],
            references: &[],
            indexes: &[],
            descriptions: &[],
            layout: Layout::Scans,
        },
        TableDef {
            // Message texts as data: per campaign type, and optionally per offer category and
            // A/B variant (NULL: any). Launch takes the most specific template in force.
            name: "message_templates",
            schema: schema(vec![
                key("template_id"),
                key("campaign_type"),
                text("offer_category"),
                text("variant"),
                text("language"),
                // Placeholders: {name} {tier} {offer} {category} {expiry} {link}.
                text("body"),
                f("version", DataType::Int32, false),
                f("valid_from", ts(), true),
            ]),
            key: &["template_id", "version"],
            unique: true,
            defaults: &[("valid_from", Now)],
            domains: &[("campaign_type", &crate::campaigns::TYPES)],
            references: &[],
            indexes: &[],
            descriptions: &[],
            layout: Layout::Scans,
        },
    ]
}
