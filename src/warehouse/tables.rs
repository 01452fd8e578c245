//! The tables of the contract (../shared/DESIGN.md): their Arrow schemas, keys, defaults,
//! constraints, and the columns an analyst sees masked.
//!
//! Timestamps are `timestamp without time zone` holding the venue's local wall-clock time in
//! the configured timezone: that is what a POS prints, and what business-day arithmetic needs.
//! JSON columns are text holding JSON, as PostgreSQL clients expect from a `json` column.

use crate::storage::{ColumnDefault, Layout, TableDef};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use std::sync::Arc;

/// Money as PostgreSQL numeric(10,2) / numeric(12,2).
pub const MONEY: DataType = DataType::Decimal128(12, 2);
pub const AMOUNT: DataType = DataType::Decimal128(10, 2);

pub fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

/// The funnel of a campaign message, in order.
pub const TRACKING_STATUSES: &[&str] = &["sent", "delivered", "opened", "clicked", "converted"];

pub(super) fn f(name: &str, dt: DataType, nullable: bool) -> Field {
    Field::new(name, dt, nullable)
}

pub(super) fn text(name: &str) -> Field {
    f(name, DataType::Utf8, true)
}

pub(super) fn key(name: &str) -> Field {
    f(name, DataType::Utf8, false)
}

pub(super) fn schema(fields: Vec<Field>) -> SchemaRef {
    Arc::new(Schema::new(fields))
}

/// Every table of the warehouse, in the order they are created.
pub fn all_tables() -> Vec<TableDef> {
    use ColumnDefault::*;
    vec![
        TableDef {
            name: "members",
            schema: schema(vec![
                key("member_id"),
                text("name"),
                text("phone"),
                text("store_id"),
                text("tier"),
                text("status"),
                f("registered_at", ts(), true),
                f("points", DataType::Int64, true),
                f("marketing_consent", DataType::Boolean, true),
            ]),
            key: &["member_id"],
            unique: true,
            defaults: &[("registered_at", Now)],
            domains: &[],
            references: &[],
            indexes: &[],
            descriptions: &[],
            layout: Layout::Scans,
        },
        TableDef {
            name: "visits",
            schema: schema(vec![
                key("visit_id"),
                key("member_id"),
                text("store_id"),
                f("started_at", ts(), true),
                f("amount", AMOUNT, true),
            ]),
            key: &["visit_id"],
            unique: false,
            defaults: &[],
            domains: &[],
            references: &[],
            indexes: &[],
            descriptions: &[],
            layout: Layout::Scans,
        },
        TableDef {
            name: "order_items",
            schema: schema(vec![
                key("visit_id"),
                key("member_id"),
                text("category"),
                text("item"),
                f("quantity", DataType::Int32, true),
                f("amount", AMOUNT, true),
            ]),
            key: &[],
            unique: false,
            defaults: &[],
            domains: &[],
            references: &[],
            indexes: &[],
            descriptions: &[],
            layout: Layout::Scans,
        },
        TableDef {
            name: "member_behavior",
            schema: schema(vec![
                f("id", DataType::Int64, true),
                key("member_id"),
                f("visit_frequency", DataType::Int64, true),
                f("avg_spending", MONEY, true),
                f("last_visit_date", ts(), true),
                f("total_spending", MONEY, true),
                text("favorite_categories"),
                text("preferred_time_slots"),
                f("response_rate", DataType::Float64, true),
                f("churn_risk", DataType::Float64, true),
                f("updated_at", ts(), true),
            ]),
            key: &["member_id"],
            unique: false,
            defaults: &[("id", AutoId), ("updated_at", Now)],
            domains: &[],
            references: &[],
            indexes: &[],
            descriptions: &[],
            layout: Layout::Scans,
        },
        TableDef {
            name: "upgrade_history",
            schema: schema(vec![
                f("id", DataType::Int64, true),
                key("member_id"),
                text("from_tier"),
                text("to_tier"),
                text("rewards"),
                f("created_at", ts(), true),
                // 'upgrade', 'downgrade' or 'manual': current tier is the latest row of any kind.
                text("change_type"),
                f("rule_version", DataType::Int32, true),
                text("executed_by"),
                // The points granted with this change; members' balance adds them up.
                f("reward_points", DataType::Int64, true),
            ]),
            key: &["id"],
            unique: false,
            defaults: &[("id", AutoId), ("created_at", Now)],
            domains: &[],
            references: &[],
            indexes: &[],
            descriptions: &[],
            layout: Layout::Scans,
        },
    ]
    .into_iter()
    .chain(super::campaign_tables::campaign_tables())
    .chain(vec![
        TableDef {
            name: "model_fits",
            schema: schema(vec![
                key("model"),
                f("as_of", DataType::Date32, false),
                f("fitted_at", ts(), true),
                text("parameters"),
                f("n", DataType::Int64, true),
                f("log_likelihood", DataType::Float64, true),
            ]),
            key: &["model", "as_of"],
            unique: false,
            defaults: &[("fitted_at", Now)],
            domains: &[],
            references: &[],
            indexes: &[],
            descriptions: &[],
            layout: Layout::Scans,
        },
        TableDef {
            // The HTTP API's answers to requests with an Idempotency-Key (src/http/idempotency.rs).
            name: "api_requests",
            schema: schema(vec![
                key("caller"),
                key("endpoint"),
                key("idempotency_key"),
                text("fingerprint"),
                f("status", DataType::Int32, false),
                text("answer"),
                f("created_at", ts(), true),
            ]),
            key: &["caller", "endpoint", "idempotency_key"],
            unique: false,
            defaults: &[("created_at", Now)],
            domains: &[],
            references: &[],
            indexes: &[],
            descriptions: &[],
            layout: Layout::Scans,
        },
        TableDef {
            name: "tier_rules",
            schema: schema(vec![
                key("tier"),
                f("rank", DataType::Int32, false),
                f("min_spend_12m", MONEY, true),
                f("min_visits_12m", DataType::Int32, true),
                f("max_churn_risk", DataType::Float64, true),
                f("keep_spend_12m", MONEY, true),
                f("keep_visits_12m", DataType::Int32, true),
                // Days a reached tier is kept before the retention review may lower it.
                f("keep_days", DataType::Int32, true),
                f("reward_points", DataType::Int64, true),
                // JSON object of the other rewards: coupons, gifts, discount.
                text("rewards"),
                f("version", DataType::Int32, false),
                f("valid_from", ts(), true),
            ]),
            key: &["tier", "version"],
            unique: true,
            defaults: &[("valid_from", Now)],
            domains: &[],
            references: &[],
            indexes: &[],
            descriptions: &[],
            layout: Layout::Scans,
        },
        TableDef {
            // The segment rules as data (queries/06_customer_segments.sql, src/segments):
            // each figure is a multiple of the chain's own median, so they hold at any price
            // level. A member takes the segment of the first rule by precedence whose every
            // non-NULL bound holds.
            name: "segment_rules",
            schema: schema(vec![
                key("segment_id"),
                f("precedence", DataType::Int32, false),
                // Registered or first visit within this many days (or no visit yet).
                f("max_tenure_days", DataType::Int32, true),
                // Spend per visit-day, × the median member's.
                f("min_spend_per_visit", DataType::Float64, true),
                f("max_spend_per_visit", DataType::Float64, true),
                // Visit-days per month, × the median member's.
                f("min_visits_per_month", DataType::Float64, true),
                f("max_visits_per_month", DataType::Float64, true),
                // Spend per month, × the median member's.
                f("min_spend_per_month", DataType::Float64, true),
                // Days since the last visit, × the member's own rhythm and × the median rhythm.
                f("min_silence_rhythms", DataType::Float64, true),
                f("min_silence_median_gaps", DataType::Float64, true),
                f("max_p_alive", DataType::Float64, true),
                text("description"),
                f("version", DataType::Int32, false),
                f("valid_from", ts(), true),
            ]),
            key: &["segment_id", "version"],
            unique: true,
            defaults: &[("valid_from", Now)],
            domains: &[(
                "segment_id",
                &["vip", "loyal", "potential", "regular", "churn_risk", "new"],
            )],
            references: &[],
            indexes: &[],
            descriptions: &[],
            layout: Layout::Scans,
        },
    ])
    .chain([super::score_table::score_table()])
    .collect()
}

/// Columns the analyst role sees only through a masking function: (table, column, function).
pub const MASKED: &[(&str, &str, &str)] = &[
    ("members", "name", "mask_name"),
    ("members", "phone", "mask_phone"),
    // A message's text greets the member by name: an analyst sees its first character only.
    ("message_outbox", "content", "mask_name"),
];

/// The masked columns of `table`: (column, function).
pub fn masked(table: &str) -> Vec<(&'static str, &'static str)> {
    MASKED
        .iter()
        .filter(|(t, _, _)| *t == table)
        .map(|(_, c, f)| (*c, *f))
        .collect()
}

pub fn table_def(name: &str) -> Option<TableDef> {
    all_tables().into_iter().find(|t| t.name == name)
}

pub fn table_names() -> Vec<&'static str> {
    all_tables().iter().map(|t| t.name).collect()
}
