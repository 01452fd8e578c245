//! `launch_campaign(segment_id, campaign_type [, offer [, control_share]])`: turns a row of
//! campaign_proposals into a campaign, records its whole audience, and writes a personal
//! message for each member it messages.
//!
//! The audience is the segment's active members (customer_segments, as of today). Each is
//! assigned, by FNV-1a of the campaign and member ids (SQL: `ab_bucket`), to the holdout
//! (`ab_bucket(campaign_id || ':holdout:' || member_id, 10000) < control_share * 10000`) or the
//! treatment, and to a variant (`ab_bucket(campaign_id || ':variant:' || member_id, n)`), so
//! the assignment is stable and can be recomputed. Every audience member is recorded, whether
//! messaged or not, so the holdout comparison is intention-to-treat. A treatment member is
//! messaged only with marketing consent and under the frequency cap (messages of any campaign
//! queued, being sent or sent in the last cap_days).
//!
//! Each messaged member gets one personal message (messages.rs) in message_outbox. The
//! campaign, its audience and its messages are one commit. Without a delivery channel the
//! messages are logged 'sent' in the same commit (with their 'sent' tracking rows); with one,
//! the dispatcher (dispatch/) sends them. Launches are serialised (process mutex and file
//! lock), so two launches never take the same campaign id.

use super::audience::{audience, common_category, Member};
use super::messages;
use crate::config::CampaignConfig;
use crate::error::{to_df, CipError};
use crate::identity::Actor;
use crate::storage::{local_now_micros, Store, TxnSlot};
use crate::warehouse::{as_of_today, exclusive};
use cip_udfs::fnv1a;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::session_state::SessionState;
use datafusion::prelude::SessionContext;
use std::sync::Arc;

static LAUNCHING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What the caller asked for.
#[derive(Debug, Clone)]
pub struct Request {
    pub segment_id: String,
    pub campaign_type: String,
    pub offer: Option<String>,
    pub control_share: Option<f64>,
}

pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("campaign_id", DataType::Utf8, false),
        Field::new("audience", DataType::Int64, false),
        Field::new("sent", DataType::Int64, false),
        Field::new("queued", DataType::Int64, false),
        Field::new("holdout", DataType::Int64, false),
        Field::new("skipped_no_consent", DataType::Int64, false),
        Field::new("skipped_capped", DataType::Int64, false),
    ]))
}

pub(super) fn invalid(message: String) -> DataFusionError {
    cip_udfs::error::invalid_argument("launch_campaign", message)
}

/// How launches deliver, from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub campaigns: CampaignConfig,
    /// Whether `[channels]` configures the campaigns' channel: the dispatcher sends.
    pub deliver: bool,
    /// What tracking links start with.
    pub public_url: String,
}

pub async fn launch(
    state: SessionState,
    store: Arc<Store>,
    settings: Settings,
    req: Request,
) -> Result<RecordBatch> {
    let config = &settings.campaigns;
    let actor = Actor::of(&state);
    actor.require_write("launch_campaign")?;
    let state_slot = state.config().get_extension::<TxnSlot>();
    let share = req.control_share.unwrap_or(config.control_share);
    if !(0.0..1.0).contains(&share) {
        return Err(invalid(format!("control_share {share} must be in [0, 1)")));
    }
    let campaigns = store.table("campaigns").map_err(to_df)?;
    let _exclusive = exclusive(&LAUNCHING, campaigns.dir.join("_launch.lock")).await?;
    let ctx = as_of_today(state)?;

    let (name, offer, offer_cost) = proposal(&ctx, &req).await?;
    let offer = req.offer.clone().unwrap_or(offer);
    let id = next_campaign_id(&ctx).await?;
    let tz = campaigns.opts.timezone;
    let now = local_now_micros(tz);
    let message_cost = config
        .message_cost
        .get(&config.channel)
        .copied()
        .unwrap_or(0.0);
    let variants = serde_json::to_string(&config.variants)
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    let row = campaign_row(&CampaignRow {
        id: &id,
        name: &name,
        req: &req,
        offer: &offer,
        now,
        share,
        variants: &variants,
        channel: &config.channel,
        by: &actor.name,
        message_cost,
        offer_cost,
        attribution_days: config.attribution_days as i32,
    })?;

    let since = now - i64::from(config.cap_days) * 86_400_000_000;
    let members = audience(&ctx, &req.segment_id, since).await?;
    let mut arms = Vec::with_capacity(members.len());
    let mut variants_of = Vec::with_capacity(members.len());
    let mut messaged: Vec<(&Member, &str)> = Vec::new();
    let (mut holdout, mut no_consent, mut capped) = (0i64, 0i64, 0i64);
    let threshold = (share * 10_000.0).round() as u64;
    for m in &members {
        let in_holdout =
            fnv1a(format!("{id}:holdout:{}", m.member_id).as_bytes()) % 10_000 < threshold;
        let v = fnv1a(format!("{id}:variant:{}", m.member_id).as_bytes())
            % config.variants.len() as u64;
        let variant = config.variants[v as usize].as_str();
        variants_of.push(variant);
        if in_holdout {
            holdout += 1;
            arms.push("holdout");
            continue;
        }
        arms.push("treatment");
        if !m.consent {
            no_consent += 1;
        } else if m.recent >= i64::from(config.cap_messages) {
            capped += 1;
        } else {
            messaged.push((m, variant));
        }
    }
    let n = members.len();
    let ids: Vec<&str> = members.iter().map(|m| m.member_id.as_str()).collect();
    let audience_rows = RecordBatch::try_new(
        table_schema(&store, "campaign_audience")?,
        vec![
            Arc::new(StringArray::from(vec![id.as_str(); n])),
            Arc::new(StringArray::from(ids)),
            Arc::new(StringArray::from(arms)),
            Arc::new(StringArray::from(variants_of)),
            Arc::new(TimestampMicrosecondArray::from(vec![now; n])),
        ],
    )?;
    let k = messaged.len();
    let templates = messages::templates_in_force(&ctx, &req.campaign_type, now).await?;
    let expiry = chrono::DateTime::from_timestamp_micros(now)
        .map(|t| t.date_naive() + chrono::Days::new(u64::from(config.attribution_days)))
        .map(|d| d.format("%-m月%-d日").to_string())
        .unwrap_or_default();
    let plan = messages::Launch {
        campaign_id: &id,
        campaign_type: &req.campaign_type,
        offer: &offer,
        channel: &config.channel,
        expiry,
        public_url: &settings.public_url,
        now,
        fallback_category: common_category(&members),
    };
    let outbox = messages::outbox_rows(
        table_schema(&store, "message_outbox")?,
        &plan,
        &templates,
        &messaged,
    )?;
    let mut writes = vec![
        ("campaigns", row),
        ("campaign_audience", audience_rows),
        ("message_outbox", outbox),
    ];
    // Without a delivery channel for the campaign's channel, a message is sent as it is
    // written (as before delivery existed); with one, the dispatcher sends it and writes
    // 'sent' when the gateway accepts.
    let sent = if settings.deliver { 0 } else { k };
    if !settings.deliver {
        let message_ids: Vec<String> = messaged
            .iter()
            .map(|(m, _)| messages::message_id(&id, &m.member_id))
            .collect();
        let refs: Vec<&str> = message_ids.iter().map(String::as_str).collect();
        writes.push((
            "message_attempts",
            messages::attempt_rows(
                table_schema(&store, "message_attempts")?,
                &refs,
                "sent",
                &vec![1; k],
                &vec![None; k],
                now,
            )?,
        ));
        let members: Vec<&str> = messaged.iter().map(|(m, _)| m.member_id.as_str()).collect();
        writes.push((
            "campaign_tracking",
            sent_rows(&store, &id, &members, message_cost, now)?,
        ));
    }
    // The campaign, its audience and its messages are one commit: a crash leaves all or none
    // (and inside the caller's block they commit with it).
    let (slot, all) = (state_slot, store.clone());
    tokio::task::spawn_blocking(move || all.append_all(slot.as_deref(), &writes))
        .await
        .map_err(|e| DataFusionError::External(Box::new(e)))?
        .map_err(to_df)?;
    crate::metrics::LAUNCHES.add(1);
    tracing::info!(campaign = %id, by = %actor.name, audience = n, messages = k, sent, holdout, "campaign launched");
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(StringArray::from(vec![id.as_str()])),
            Arc::new(Int64Array::from(vec![n as i64])),
            Arc::new(Int64Array::from(vec![sent as i64])),
            Arc::new(Int64Array::from(vec![(k - sent) as i64])),
            Arc::new(Int64Array::from(vec![holdout])),
            Arc::new(Int64Array::from(vec![no_consent])),
            Arc::new(Int64Array::from(vec![capped])),
        ],
    )?)
}

/// The 'sent' tracking rows of messages sent now, each carrying the message's cost.
fn sent_rows(
    store: &Store,
    campaign_id: &str,
    members: &[&str],
    message_cost: f64,
    now: i64,
) -> Result<RecordBatch> {
    let cents = Some((message_cost * 100.0).round() as i128);
    let mut rows = super::tracking::Rows::default();
    for m in members {
        rows.push(campaign_id, m, "sent", Some(0), cents, now);
    }
    rows.batch(store)
}

fn money(cents: Vec<Option<i128>>) -> Result<ArrayRef> {
    Ok(Arc::new(
        Decimal128Array::from(cents).with_precision_and_scale(12, 2)?,
    ))
}

fn table_schema(store: &Store, name: &str) -> Result<SchemaRef> {
    Ok(store.table(name).map_err(to_df)?.def.schema.clone())
}

/// The proposal's name, offer and offer cost; an error naming the proposals when there is none.
async fn proposal(ctx: &SessionContext, req: &Request) -> Result<(String, String, f64)> {
    let rows = ctx
        .sql("SELECT segment_id, campaign_type, name, offer, CAST(offer_cost AS DOUBLE) FROM campaign_proposals")
        .await?
        .collect()
        .await?;
    let mut known = Vec::new();
    for b in &rows {
        let text = |i: usize| cast(b.column(i), &DataType::Utf8);
        let (seg, kind, name, offer) = (text(0)?, text(1)?, text(2)?, text(3)?);
        let cost = b
            .column(4)
            .as_primitive::<datafusion::arrow::datatypes::Float64Type>();
        for i in 0..b.num_rows() {
            let (s, k) = (
                seg.as_string::<i32>().value(i),
                kind.as_string::<i32>().value(i),
            );
            if s == req.segment_id && k == req.campaign_type {
                return Ok((
                    name.as_string::<i32>().value(i).to_string(),
                    offer.as_string::<i32>().value(i).to_string(),
                    if cost.is_valid(i) { cost.value(i) } else { 0.0 },
                ));
            }
            known.push(format!("({s}, {k})"));
        }
    }
    known.sort();
    Err(invalid(format!(
        "no proposal for segment {:?} and campaign type {:?}; the proposals are {}",
        req.segment_id,
        req.campaign_type,
        known.join(", ")
    )))
}

/// The next id after the highest `C<number>` campaign id.
async fn next_campaign_id(ctx: &SessionContext) -> Result<String> {
    let rows = ctx
        .sql("SELECT campaign_id FROM campaigns")
        .await?
        .collect()
        .await?;
    let mut max = 0u64;
    for b in &rows {
        let ids = cast(b.column(0), &DataType::Utf8)?;
        for id in ids.as_string::<i32>().iter().flatten() {
            if let Some(n) = id.strip_prefix('C').and_then(|n| n.parse::<u64>().ok()) {
                max = max.max(n);
            }
        }
    }
    Ok(format!("C{:04}", max + 1))
}

struct CampaignRow<'a> {
    id: &'a str,
    name: &'a str,
    req: &'a Request,
    offer: &'a str,
    now: i64,
    share: f64,
    variants: &'a str,
    channel: &'a str,
    by: &'a str,
    message_cost: f64,
    offer_cost: f64,
    attribution_days: i32,
}

fn campaign_row(c: &CampaignRow<'_>) -> Result<RecordBatch> {
    let def = crate::warehouse::tables::table_def("campaigns")
        .ok_or_else(|| to_df(CipError::Corrupt("no campaigns table".into())))?;
    let cents = |y: f64| Some((y * 100.0).round() as i128);
    Ok(RecordBatch::try_new(
        def.schema,
        vec![
            Arc::new(StringArray::from(vec![c.id])),
            Arc::new(StringArray::from(vec![c.name])),
            Arc::new(StringArray::from(vec![c.req.segment_id.as_str()])),
            Arc::new(StringArray::from(vec![c.req.campaign_type.as_str()])),
            Arc::new(StringArray::from(vec![c.offer])),
            Arc::new(TimestampMicrosecondArray::from(vec![c.now])),
            Arc::new(Float64Array::from(vec![c.share])),
            Arc::new(StringArray::from(vec![c.variants])),
            Arc::new(StringArray::from(vec![c.channel])),
            Arc::new(TimestampMicrosecondArray::from(vec![c.now])),
            Arc::new(StringArray::from(vec![c.by])),
            money(vec![cents(c.message_cost)])?,
            money(vec![cents(c.offer_cost)])?,
            Arc::new(Int32Array::from(vec![c.attribution_days])),
            // landing_url: the configured one applies until someone sets the campaign's own
            Arc::new(StringArray::from(vec![None::<&str>])),
        ],
    )?)
}
