//! Events that come back about a message — a gateway's delivery receipts, an app's opens and
//! conversions, a member's click on the tracking link — written to campaign_tracking once per
//! message and status, whatever the number of retries and duplicates.
//!
//! Every writer of such events (this module and conversion attribution) holds one exclusive
//! lock from reading what is recorded to appending, so two deliveries of the same receipt,
//! or a receipt and an attribution run, never both write.

use crate::error::{to_df, CipError};
use crate::storage::Store;
use crate::warehouse::{exclusive, Exclusive};
use datafusion::arrow::array::{
    Array, AsArray, Decimal128Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::prelude::SessionContext;
use std::collections::HashSet;
use std::sync::Arc;

static TRACKING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The statuses that may come back from outside; 'sent' is the dispatcher's alone.
pub const RETURNED: [&str; 4] = ["delivered", "opened", "clicked", "converted"];

/// Held while reading what is recorded and appending what is new.
pub async fn lock(store: &Store) -> Result<Exclusive> {
    let dir = store.table("campaign_tracking").map_err(to_df)?.dir.clone();
    exclusive(&TRACKING, dir.join("_track.lock")).await
}

/// One event about a message.
#[derive(Debug, Clone)]
pub struct Event {
    pub message_id: String,
    pub status: String,
    /// Local wall-clock time of the event; now when None.
    pub at: Option<i64>,
    pub revenue: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Recorded,
    Duplicate,
    UnknownMessage,
}

/// A message as tracking needs it.
pub struct Message {
    pub message_id: String,
    pub campaign_id: String,
    pub member_id: String,
    pub content: Option<String>,
    /// The campaign's landing page, when it has its own.
    pub landing_url: Option<String>,
}

/// The message with this id (`by` = "message_id") or tracking token (`by` = "tracking_token").
pub async fn message(ctx: &SessionContext, by: &str, value: &str) -> Result<Option<Message>> {
    let column = if by == "tracking_token" {
        "tracking_token"
    } else {
        "message_id"
    };
    let sql = format!(
        "SELECT o.message_id, o.campaign_id, o.member_id, o.content, c.landing_url \
         FROM message_outbox o LEFT JOIN campaigns c ON c.campaign_id = o.campaign_id \
         WHERE o.{column} = $1 LIMIT 1"
    );
    let rows = ctx
        .sql(&sql)
        .await?
        .with_param_values(vec![ScalarValue::from(value)])?
        .collect()
        .await?;
    for b in &rows {
        if b.num_rows() == 0 {
            continue;
        }
        let text = |i: usize| -> Result<Option<String>> {
            let a = cast(b.column(i), &DataType::Utf8)?;
            let a = a.as_string::<i32>();
            Ok(a.is_valid(0).then(|| a.value(0).to_string()))
        };
        return Ok(Some(Message {
            message_id: text(0)?.unwrap_or_default(),
            campaign_id: text(1)?.unwrap_or_default(),
            member_id: text(2)?.unwrap_or_default(),
            content: text(3)?,
            landing_url: text(4)?,
        }));
    }
    Ok(None)
}

/// The statuses already recorded for (campaign, member).
async fn recorded(ctx: &SessionContext, campaign: &str, member: &str) -> Result<HashSet<String>> {
    let rows = ctx
        .sql("SELECT DISTINCT status FROM campaign_tracking WHERE campaign_id = $1 AND member_id = $2")
        .await?
        .with_param_values(vec![ScalarValue::from(campaign), ScalarValue::from(member)])?
        .collect()
        .await?;
    let mut out = HashSet::new();
    for b in &rows {
        let a = cast(b.column(0), &DataType::Utf8)?;
        out.extend(a.as_string::<i32>().iter().flatten().map(str::to_string));
    }
    Ok(out)
}

/// Records each event unless its message already has that status; one outcome per event.
pub async fn record(
    ctx: &SessionContext,
    store: &Arc<Store>,
    events: &[Event],
    now: i64,
) -> Result<Vec<Outcome>> {
    let _held = lock(store).await?;
    let mut outcomes = Vec::with_capacity(events.len());
    let mut rows = Rows::default();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for e in events {
        let Some(m) = message(ctx, "message_id", &e.message_id).await? else {
            outcomes.push(Outcome::UnknownMessage);
            continue;
        };
        let done = recorded(ctx, &m.campaign_id, &m.member_id).await?;
        if done.contains(&e.status) || !seen.insert((m.message_id.clone(), e.status.clone())) {
            outcomes.push(Outcome::Duplicate);
            continue;
        }
        let revenue = e.revenue.map(|r| (r * 100.0).round() as i128);
        let at = e.at.unwrap_or(now);
        rows.push(&m.campaign_id, &m.member_id, &e.status, revenue, None, at);
        outcomes.push(Outcome::Recorded);
    }
    rows.append(store).await?;
    Ok(outcomes)
}

/// campaign_tracking rows being gathered for one append.
#[derive(Default)]
pub struct Rows {
    campaigns: Vec<String>,
    members: Vec<String>,
    statuses: Vec<String>,
    revenue: Vec<Option<i128>>,
    cost: Vec<Option<i128>>,
    at: Vec<i64>,
}

impl Rows {
    /// One event; money in cents.
    pub fn push(
        &mut self,
        campaign: &str,
        member: &str,
        status: &str,
        revenue: Option<i128>,
        cost: Option<i128>,
        at: i64,
    ) {
        self.campaigns.push(campaign.into());
        self.members.push(member.into());
        self.statuses.push(status.into());
        self.revenue.push(revenue);
        self.cost.push(cost);
        self.at.push(at);
    }

    pub fn len(&self) -> usize {
        self.campaigns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.campaigns.is_empty()
    }

    /// The rows as a batch of campaign_tracking (a conversion without a cost costs its
    /// campaign's offer_cost, see campaign_members).
    pub fn batch(&self, store: &Store) -> Result<RecordBatch> {
        let schema = store
            .table("campaign_tracking")
            .map_err(to_df)?
            .def
            .schema
            .clone();
        let n = self.len();
        let money = |v: Vec<Option<i128>>| -> Result<Arc<dyn Array>> {
            Ok(Arc::new(
                Decimal128Array::from(v).with_precision_and_scale(12, 2)?,
            ))
        };
        Ok(RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![None::<i64>; n])),
                Arc::new(StringArray::from(self.campaigns.clone())),
                Arc::new(StringArray::from(self.members.clone())),
                Arc::new(StringArray::from(self.statuses.clone())),
                money(self.revenue.clone())?,
                money(self.cost.clone())?,
                Arc::new(TimestampMicrosecondArray::from(self.at.clone())),
            ],
        )?)
    }

    /// Appends the rows durably (nothing when there are none).
    pub async fn append(&self, store: &Arc<Store>) -> Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        let batch = self.batch(store)?;
        let table = store.table("campaign_tracking").map_err(to_df)?;
        tokio::task::spawn_blocking(move || table.append(&[batch]))
            .await
            .map_err(|e| to_df(CipError::Corrupt(format!("tracking append failed: {e}"))))?
            .map_err(to_df)?;
        Ok(())
    }
}
