//! `execute_upgrades([member_id])` and `review_tiers()`: write into upgrade_history what the
//! views upgrade_evaluation and tier_review decide, exactly once.
//!
//! Exactly once: every run — from any connection, the scheduler, or another process on the
//! same data directory — holds one lock (in-process mutex, then a file lock) from reading the
//! members' current tiers to committing the new rows. A member's current tier is the latest
//! upgrade_history row, so after one run commits silver → gold, the next run evaluates the
//! member at gold and has nothing to write. The rows of a run (and each row's rewards) are one
//! log frame: a crash commits all of them or none.
//!
//! Runs are evaluated as of the current business day whatever the session's cip.as_of says:
//! writes act on the present.

use super::changed::{self, Scope};
use super::rewards::{grant, message};
use crate::error::{to_df, CipError};
use crate::identity::Actor;
use crate::storage::{local_now_micros, Store};
use crate::warehouse::{as_of_today, exclusive};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::execution::session_state::SessionState;
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// One run at a time in this process; the file lock orders processes.
static RUNNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Upgrade,
    Review,
}

impl Kind {
    pub fn function(self) -> &'static str {
        match self {
            Kind::Upgrade => "execute_upgrades",
            Kind::Review => "review_tiers",
        }
    }
}

/// The rows a run returns: one per tier change written.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("member_id", DataType::Utf8, false),
        Field::new("from_tier", DataType::Utf8, true),
        Field::new("to_tier", DataType::Utf8, false),
        Field::new("rewards", DataType::Utf8, false),
        Field::new("message", DataType::Utf8, false),
    ]))
}

/// One tier change to write.
struct Change {
    member_id: String,
    from_tier: Option<String>,
    to_tier: String,
    points: i64,
    rewards: String,
    message: String,
    rule_version: Option<i32>,
}

/// Runs `kind` (for one member, or all) in the session `state` and returns what it wrote.
pub async fn run(
    state: SessionState,
    store: Arc<Store>,
    kind: Kind,
    member: Option<String>,
) -> Result<RecordBatch> {
    let actor = Actor::of(&state);
    actor.require_write(kind.function())?;
    let slot = state.config().get_extension::<crate::storage::TxnSlot>();
    let started = std::time::Instant::now();
    let history = store.table("upgrade_history").map_err(to_df)?;
    let _exclusive = exclusive(&RUNNING, history.dir.join("_tiers.lock")).await?;
    let ctx = as_of_today(state)?;
    if let Some(m) = &member {
        check_member(&ctx, kind, m).await?;
    }
    let in_block = slot.as_ref().is_some_and(|s| s.lock().is_some());
    // The upgrade run over everyone evaluates the members whose figures changed since the
    // last one (changed.rs); one member, the review and a run in a block evaluate as asked.
    let (scope, basis) = match (kind, member) {
        (Kind::Upgrade, None) if !in_block => {
            let (scope, basis) = changed::scope(&ctx, &store).await?;
            (scope, Some(basis))
        }
        (_, Some(m)) => (Scope::Members(vec![m]), None),
        (_, None) => (Scope::Everyone, None),
    };
    let members = match &scope {
        Scope::Everyone => None,
        Scope::Members(m) => Some(m.as_slice()),
    };
    let changes = match (kind, members) {
        (_, Some([])) => Vec::new(),
        (Kind::Upgrade, members) => upgrades(&ctx, members).await?,
        (Kind::Review, members) => downgrades(&ctx, members).await?,
    };
    let batch = history_rows(
        &changes,
        &actor,
        kind,
        store.table("upgrade_history").map_err(to_df)?.opts.timezone,
    )?;
    let rows = batch.num_rows();
    if kind == Kind::Upgrade {
        crate::metrics::UPGRADES.add(rows as u64);
    }
    let mut written = None;
    if rows > 0 {
        // Inside the caller's block the history commits with it.
        let all = store.clone();
        written = tokio::task::spawn_blocking(move || {
            let history = all.table("upgrade_history")?;
            let before = history.version()?;
            all.append_all(slot.as_deref(), &[("upgrade_history", batch)])?;
            Ok::<_, CipError>((before, history.version()?))
        })
        .await
        .map_err(|e| DataFusionError::External(Box::new(e)))?
        .map(Some)
        .map_err(to_df)?;
    }
    if let Some(basis) = basis {
        changed::record(&store, basis, written);
    }
    tracing::info!(
        run = kind.function(),
        by = %actor.name,
        evaluated = members.map_or("everyone".to_string(), |m| format!("{} members", m.len())),
        changes = rows,
        elapsed = ?started.elapsed(),
        "tier run done"
    );
    output(&changes)
}

async fn check_member(ctx: &SessionContext, kind: Kind, member: &str) -> Result<()> {
    let n = ctx
        .sql("SELECT count(*) FROM members WHERE member_id = $1")
        .await?
        .with_param_values(vec![ScalarValue::from(member)])?
        .collect()
        .await?;
    let found = n
        .first()
        .map(|b| {
            b.column(0)
                .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                .value(0)
        })
        .unwrap_or(0);
    if found == 0 {
        return Err(cip_udfs::error::invalid_argument(
            kind.function(),
            format!("no member {member:?}"),
        ));
    }
    Ok(())
}

/// `sql` (whose `{filter}` is replaced) run on some members (`AND member_id IN ($1, …)`, the
/// members bound as parameters) or on all.
async fn for_members(
    ctx: &SessionContext,
    sql: &str,
    members: Option<&[String]>,
) -> Result<Vec<datafusion::arrow::record_batch::RecordBatch>> {
    let filter = match members {
        Some(m) => {
            let params: Vec<String> = (1..=m.len()).map(|i| format!("${i}")).collect();
            format!("AND member_id IN ({})", params.join(", "))
        }
        None => String::new(),
    };
    let df = ctx.sql(&sql.replace("{filter}", &filter)).await?;
    let df = match members {
        Some(m) => df.with_param_values(
            m.iter()
                .map(|m| ScalarValue::from(m.as_str()))
                .collect::<Vec<_>>(),
        )?,
        None => df,
    };
    df.collect().await
}

/// Every tier an eligible member climbs, in order, with that tier's rewards.
async fn upgrades(ctx: &SessionContext, members: Option<&[String]>) -> Result<Vec<Change>> {
    let sql = "WITH e AS (
            SELECT member_id, current_tier, target_tier, rule_version
            FROM upgrade_evaluation WHERE eligible {filter}
         )
         SELECT e.member_id, e.current_tier, r.tier, r.reward_points, r.rewards, e.rule_version
         FROM e
         JOIN tier_rules cur ON cur.tier = e.current_tier AND cur.version = e.rule_version
         JOIN tier_rules tgt ON tgt.tier = e.target_tier AND tgt.version = e.rule_version
         JOIN tier_rules r ON r.version = e.rule_version AND r.rank > cur.rank AND r.rank <= tgt.rank
         ORDER BY e.member_id, r.rank";
    let batches = for_members(ctx, sql, members).await?;
    let mut out: Vec<Change> = Vec::new();
    for b in &batches {
        let text = |i: usize| cast(b.column(i), &DataType::Utf8);
        let (member, current, tier, rewards) = (text(0)?, text(1)?, text(2)?, text(4)?);
        let (member, current, tier, rewards) = (
            member.as_string::<i32>(),
            current.as_string::<i32>(),
            tier.as_string::<i32>(),
            rewards.as_string::<i32>(),
        );
        let points = cast(b.column(3), &DataType::Int64)?;
        let points = points.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        let version = cast(b.column(5), &DataType::Int32)?;
        let version = version.as_primitive::<datafusion::arrow::datatypes::Int32Type>();
        for i in 0..b.num_rows() {
            let id = member.value(i).to_string();
            // A climb of several tiers: each step starts where the previous one ended.
            let from = match out.last() {
                Some(prev) if prev.member_id == id => Some(prev.to_tier.clone()),
                _ => current.is_valid(i).then(|| current.value(i).to_string()),
            };
            let to = tier.value(i).to_string();
            let pts = if points.is_valid(i) {
                points.value(i)
            } else {
                0
            };
            let rule_rewards = rewards.is_valid(i).then(|| rewards.value(i));
            let granted = grant(&to, pts, rule_rewards).map_err(to_df)?;
            let message = message(from.as_deref(), &to, &granted);
            out.push(Change {
                member_id: id,
                from_tier: from,
                to_tier: to,
                points: pts,
                rewards: granted.to_string(),
                message,
                rule_version: version.is_valid(i).then(|| version.value(i)),
            });
        }
    }
    Ok(out)
}

/// Every member the retention review moves down one tier.
async fn downgrades(ctx: &SessionContext, members: Option<&[String]>) -> Result<Vec<Change>> {
    let sql = "SELECT t.member_id, t.current_tier, t.down_to, t.reason,
                (SELECT max(version) FROM tier_rules_in_force) AS version
         FROM tier_review t WHERE t.due {filter} ORDER BY t.member_id";
    let batches = for_members(ctx, sql, members).await?;
    let mut out = Vec::new();
    for b in &batches {
        let text = |i: usize| cast(b.column(i), &DataType::Utf8);
        let cols = [text(0)?, text(1)?, text(2)?, text(3)?];
        let [member, current, down, reason] = [0, 1, 2, 3].map(|i| cols[i].as_string::<i32>());
        let version = cast(b.column(4), &DataType::Int32)?;
        let version = version.as_primitive::<datafusion::arrow::datatypes::Int32Type>();
        for i in 0..b.num_rows() {
            out.push(Change {
                member_id: member.value(i).to_string(),
                from_tier: current.is_valid(i).then(|| current.value(i).to_string()),
                to_tier: down.value(i).to_string(),
                points: 0,
                rewards: "{}".into(),
                message: reason.value(i).to_string(),
                rule_version: version.is_valid(i).then(|| version.value(i)),
            });
        }
    }
    Ok(out)
}

/// The upgrade_history rows of `changes` (id and created_at are filled in by the store).
fn history_rows(
    changes: &[Change],
    actor: &Actor,
    kind: Kind,
    tz: chrono_tz::Tz,
) -> Result<RecordBatch> {
    let table = crate::warehouse::tables::table_def("upgrade_history")
        .ok_or_else(|| to_df(CipError::Corrupt("no upgrade_history table".into())))?;
    let n = changes.len();
    let change_type = match kind {
        Kind::Upgrade => "upgrade",
        Kind::Review => "downgrade",
    };
    // One timestamp for the whole run: its rows sort together and share their moment.
    let now = local_now_micros(tz);
    let columns: Vec<Arc<dyn Array>> = vec![
        Arc::new(Int64Array::from(vec![None::<i64>; n])),
        texts(changes, |c| Some(&c.member_id)),
        texts(changes, |c| c.from_tier.as_deref()),
        texts(changes, |c| Some(&c.to_tier)),
        texts(changes, |c| Some(&c.rewards)),
        Arc::new(TimestampMicrosecondArray::from(vec![now; n])),
        Arc::new(StringArray::from(vec![change_type; n])),
        Arc::new(Int32Array::from_iter(
            changes.iter().map(|c| c.rule_version),
        )),
        Arc::new(StringArray::from(vec![actor.name.as_str(); n])),
        Arc::new(Int64Array::from_iter_values(
            changes.iter().map(|c| c.points),
        )),
    ];
    Ok(RecordBatch::try_new(table.schema, columns)?)
}

fn texts<'a>(changes: &'a [Change], f: impl Fn(&'a Change) -> Option<&'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter(changes.iter().map(f)))
}

fn output(changes: &[Change]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            texts(changes, |c| Some(&c.member_id)),
            texts(changes, |c| c.from_tier.as_deref()),
            texts(changes, |c| Some(&c.to_tier)),
            texts(changes, |c| Some(&c.rewards)),
            texts(changes, |c| Some(&c.message)),
        ],
    )?)
}
