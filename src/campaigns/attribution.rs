//! `attribute_conversions()`: a messaged member's first visit within their campaign's
//! attribution_days after the message was sent becomes one 'converted' tracking event with
//! that visit's revenue, at the visit's time — exactly once per member and campaign, however
//! many visits follow or runs repeat (the tracking lock is held from reading to appending, and
//! a member already converted, by this or by an app's receipt, is skipped). Holdout members
//! are never sent anything, so their visits stay the comparison.
//!
//! `cip serve` runs it when visits are appended (`watch`) and as a scheduler job every minute.

use super::tracking::{lock, Rows};
use crate::deferred::{Action, DeferredTable};
use crate::storage::{Store, TableVersion};
use datafusion::arrow::array::{
    Array, AsArray, Decimal128Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{plan_err, Result};
use datafusion::execution::session_state::SessionState;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

const SQL: &str = "
WITH sent AS (
    SELECT campaign_id, member_id, min(created_at) AS sent_at
    FROM campaign_tracking WHERE status = 'sent' GROUP BY campaign_id, member_id
),
done AS (
    SELECT DISTINCT campaign_id, member_id FROM campaign_tracking WHERE status = 'converted'
),
firsts AS (
    SELECT s.campaign_id, s.member_id, v.visit_id, v.amount, v.started_at,
           row_number() OVER (PARTITION BY s.campaign_id, s.member_id
                              ORDER BY v.started_at, v.visit_id) AS rn
    FROM sent s
    JOIN campaigns c ON c.campaign_id = s.campaign_id
    JOIN visits v ON v.member_id = s.member_id
        AND v.started_at >= s.sent_at
        AND v.started_at < s.sent_at + CAST(coalesce(c.attribution_days, 14) || ' days' AS INTERVAL)
    LEFT JOIN done d ON d.campaign_id = s.campaign_id AND d.member_id = s.member_id
    WHERE d.campaign_id IS NULL
)
SELECT campaign_id, member_id, visit_id, CAST(amount AS DECIMAL(12, 2)), started_at
FROM firsts WHERE rn = 1 ORDER BY campaign_id, member_id";

pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("campaign_id", DataType::Utf8, false),
        Field::new("member_id", DataType::Utf8, false),
        Field::new("visit_id", DataType::Utf8, false),
        Field::new("revenue", DataType::Decimal128(12, 2), true),
        Field::new(
            "converted_at",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            true,
        ),
    ]))
}

/// The tables SQL reads: what it finds depends on their rows alone.
const READS: [&str; 3] = ["campaign_tracking", "campaigns", "visits"];

/// Per store, the tables' versions when a run last found nothing to record. A run at the same
/// versions would find nothing again, so it is skipped: the scheduler runs attribution every
/// minute, and joining every sent message with the visits costs seconds of CPU at a million
/// members that lookups could use.
static NOTHING_AT: Mutex<BTreeMap<PathBuf, Vec<TableVersion>>> = Mutex::new(BTreeMap::new());

fn versions(store: &Store) -> crate::error::Result<Vec<TableVersion>> {
    READS.iter().map(|t| store.table(t)?.version()).collect()
}

/// Records the conversions not yet recorded; the rows it recorded.
pub async fn attribute(state: SessionState, store: Arc<Store>) -> Result<RecordBatch> {
    crate::identity::Actor::of(&state).require_write("attribute_conversions")?;
    let ctx = crate::warehouse::as_of_today(state)?;
    let _held = lock(&store).await?;
    // Read before the rows (under the tracking lock): a write meanwhile changes a version, so
    // the next run reads again.
    let before = versions(&store).map_err(crate::error::to_df)?;
    let memo = || NOTHING_AT.lock().unwrap_or_else(|e| e.into_inner());
    if memo().get(&store.root) == Some(&before) {
        return Ok(RecordBatch::new_empty(schema()));
    }
    let found = ctx.sql(SQL).await?.collect().await?;
    if found.iter().all(|b| b.num_rows() == 0) {
        memo().insert(store.root.clone(), before);
    }
    let mut rows = Rows::default();
    let (mut visits, mut revenue) = (Vec::new(), Vec::new());
    for b in &found {
        let text = |i: usize| cast(b.column(i), &DataType::Utf8);
        let (campaigns, members, visit_ids) = (text(0)?, text(1)?, text(2)?);
        let (campaigns, members, visit_ids) = (
            campaigns.as_string::<i32>(),
            members.as_string::<i32>(),
            visit_ids.as_string::<i32>(),
        );
        let amounts = b
            .column(3)
            .as_primitive::<datafusion::arrow::datatypes::Decimal128Type>();
        let at = b
            .column(4)
            .as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
        for i in 0..b.num_rows() {
            let amount = amounts.is_valid(i).then(|| amounts.value(i));
            let (campaign, member) = (campaigns.value(i), members.value(i));
            rows.push(campaign, member, "converted", amount, None, at.value(i));
            visits.push(visit_ids.value(i).to_string());
            revenue.push(amount);
        }
    }
    rows.append(&store).await?;
    if !rows.is_empty() {
        tracing::info!(conversions = rows.len(), "conversions attributed");
    }
    let tracked = rows.batch(&store)?;
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            tracked.column(1).clone(),
            tracked.column(2).clone(),
            Arc::new(StringArray::from(visits)),
            Arc::new(Decimal128Array::from(revenue).with_precision_and_scale(12, 2)?),
            Arc::new(TimestampMicrosecondArray::from(
                tracked
                    .column(6)
                    .as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>()
                    .values()
                    .to_vec(),
            )),
        ],
    )?)
}

pub struct AttributeConversions {
    pub store: Arc<Store>,
}

impl std::fmt::Debug for AttributeConversions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("attribute_conversions")
    }
}

impl TableFunctionImpl for AttributeConversions {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        if !args.exprs().is_empty() {
            return plan_err!("type mismatch: attribute_conversions() takes no arguments");
        }
        let store = self.store.clone();
        let action: Action = Arc::new(move |state| Box::pin(attribute(state, store.clone())));
        Ok(Arc::new(DeferredTable::new(
            "attribute_conversions()",
            schema(),
            action,
        )))
    }
}

/// Runs attribution whenever visits are appended (at most one run at a time; appends during a
/// run start one more run after it), so a conversion is recorded within moments of its visit.
pub async fn watch(engine: Arc<crate::engine::Engine>) {
    let Some(mut visits) = engine.changes.watch("visits") else {
        return;
    };
    while visits.changed().await.is_ok() {
        visits.borrow_and_update();
        // Let a burst of inserts (a POS batch) land before one run reads them all.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        visits.borrow_and_update();
        run(&engine, "after new visits").await;
    }
}

/// One attribution run, its outcome logged (`why` says what started it); a failure is
/// logged too, and the next run tries again.
pub async fn run(engine: &Arc<crate::engine::Engine>, why: &str) {
    let started = std::time::Instant::now();
    match crate::scheduler::run_once(engine, "SELECT * FROM attribute_conversions()").await {
        Ok(n) if n > 0 => tracing::info!(
            conversions = n,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "conversions attributed {why}"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(
            "conversion attribution failed: {e} (SQLSTATE {})",
            e.sqlstate()
        ),
    }
}
