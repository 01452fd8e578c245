//! `refresh_member_scores()`: computes member_scores_live as of the session's as-of date and
//! stores it as the table member_scores in one commit, sorted by member_id, recording what it
//! read (freshness.rs). Returns one row: members written, the as-of date, and when. `cip score
//! --into-warehouse`, the scheduler's daily job and `cip serve`'s start-up run the same.
//! `refresh_member_scores(true)` (the scheduler, and the watcher after new rows) does nothing
//! when the snapshot is current, and rescores only the members new rows name when that is
//! enough (catch_up.rs).

use super::catch_up::{self, CatchUp};
use super::freshness::{self, Basis};
use super::{AS_OF, LIVE, TABLE};
use crate::deferred::Action;
use crate::error::{sqlstate, to_df, CipError};
use crate::functions::refresh::{conform, nothing_refreshed, refresh_function, refreshed};
use crate::settings::CipOptions;
use crate::storage::{Store, TableVersion};
use datafusion::arrow::array::RecordBatch;
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{Result, ScalarValue};
use datafusion::execution::session_state::SessionState;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{col, Expr};
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub struct RefreshMemberScores {
    pub store: Arc<Store>,
}

impl std::fmt::Debug for RefreshMemberScores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refresh_member_scores")
    }
}

impl TableFunctionImpl for RefreshMemberScores {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        // refresh_member_scores(true) leaves a current snapshot alone (the scheduler's job).
        let (only_if_stale, rest) = match args.exprs() {
            [Expr::Literal(ScalarValue::Boolean(Some(b)), _), rest @ ..] => (*b, rest),
            rest => (false, rest),
        };
        let store = self.store.clone();
        let action: Action =
            Arc::new(move |state| Box::pin(refresh_if(state, store.clone(), only_if_stale)));
        let takes = "no arguments, or one boolean literal (only_if_stale)";
        refresh_function("refresh_member_scores", takes, rest, action)
    }
}

/// One refresh at a time in this process: the watcher, the scheduler and a user's call.
static REFRESHING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// With `only_if_stale`, does nothing (and returns no row) when the snapshot answers for the
/// session already, and rescores only the members new rows name when that is enough
/// (catch_up.rs); the row says how many members were written.
async fn refresh_if(
    state: SessionState,
    store: Arc<Store>,
    only_if_stale: bool,
) -> Result<RecordBatch> {
    if !only_if_stale {
        return refresh(state, store).await;
    }
    bring_up_to_date(state, store).await
}

/// Makes the snapshot answer for the session: nothing when it does, a catch-up when that is
/// enough, else a full refresh. The row says how many members were written (none: no row).
pub async fn bring_up_to_date(state: SessionState, store: Arc<Store>) -> Result<RecordBatch> {
    let _one = REFRESHING.lock().await;
    let state = for_snapshot(state)?;
    let options = CipOptions::of(state.config_options());
    let plan = catch_up::plan_for(&store, &options).await.map_err(to_df)?;
    match &*plan {
        CatchUp::Current => Ok(nothing_refreshed()),
        CatchUp::Members(members, _) if members.len() > catch_up::MAX_MEMBERS => {
            full(state, store).await
        }
        CatchUp::Full => full(state, store).await,
        CatchUp::Members(members, tables) => {
            catch_up(state, store, members.clone(), tables.clone()).await
        }
    }
}

/// Rescores `members` and replaces their rows, recording the tables at `tables`.
async fn catch_up(
    state: SessionState,
    store: Arc<Store>,
    members: BTreeSet<String>,
    tables: BTreeMap<String, TableVersion>,
) -> Result<RecordBatch> {
    crate::identity::Actor::of(&state).require_write("refresh_member_scores")?;
    refuse_in_block(&state)?;
    let options = CipOptions::of(state.config_options());
    let (as_of, tz) = (options.as_of_date()?, options.tz()?);
    let basis = Basis {
        as_of: as_of.to_string(),
        settings: freshness::settings_of(&options, &store).map_err(to_df)?,
        tables,
    };
    let started = std::time::Instant::now();
    let ctx = SessionContext::new_with_state(state);
    let rows = if members.is_empty() {
        Vec::new()
    } else {
        ctx.table(LIVE)
            .await?
            .filter(catch_up::named(&members, false))?
            .with_column(AS_OF, ctx.udf("cip_as_of")?.call(vec![]))?
            .sort(vec![col("member_id").sort(true, false)])?
            .collect()
            .await?
    };
    let conformed = conformed(&store, &rows)?;
    let written: usize = conformed.iter().map(|b| b.num_rows()).sum();
    let touched = members.len();
    blocking(move || catch_up::store(&store, &members, &conformed, basis)).await?;
    tracing::info!(touched, written, %as_of, elapsed = ?started.elapsed(), "member_scores caught up");
    refreshed(written, as_of, tz)
}

fn refuse_in_block(state: &SessionState) -> Result<()> {
    if super::in_block(state.config()) {
        // The snapshot would hold the block's uncommitted rows, written outside it.
        return Err(to_df(CipError::invalid(
            sqlstate::ACTIVE_SQL_TRANSACTION,
            "refresh_member_scores() cannot run inside a transaction block",
        )));
    }
    Ok(())
}

/// `rows` in the snapshot table's columns.
fn conformed(store: &Store, rows: &[RecordBatch]) -> Result<Vec<RecordBatch>> {
    let target = store.table(TABLE).map_err(to_df)?.def.schema.clone();
    rows.iter().map(|b| conform(b, &target)).collect()
}

/// Scores every active member into member_scores; the row the function returns.
pub async fn refresh(state: SessionState, store: Arc<Store>) -> Result<RecordBatch> {
    let _one = REFRESHING.lock().await;
    full(for_snapshot(state)?, store).await
}

/// `state` for writing the snapshot: its day fixed, and scored with that day's fits (made now
/// if need be), never the earlier day's a client's query may fall back to meanwhile.
fn for_snapshot(state: SessionState) -> Result<SessionState> {
    let as_of = CipOptions::of(state.config_options()).as_of_date()?;
    Ok(crate::functions::fit_background::waiting(state, as_of))
}

async fn full(state: SessionState, store: Arc<Store>) -> Result<RecordBatch> {
    crate::identity::Actor::of(&state).require_write("refresh_member_scores")?;
    refuse_in_block(&state)?;
    let options = CipOptions::of(state.config_options());
    let (as_of, tz) = (options.as_of_date()?, options.tz()?);
    let settings = freshness::settings_of(&options, &store).map_err(to_df)?;
    let started = std::time::Instant::now();
    let ctx = SessionContext::new_with_state(state);
    freshness::fit_the_day(&ctx).await?;
    let scored = format!("SELECT *, cip_as_of() AS as_of FROM {LIVE}");
    let mut names = freshness::inputs(ctx.sql(&scored).await?.logical_plan(), &store);
    names.push(TABLE.to_string());
    // The versions before reading: a write while the rows are computed leaves the record
    // older than the table, so the snapshot counts as stale rather than wrongly current.
    let (read_store, read) = (store.clone(), names.clone());
    let mut tables = blocking(move || freshness::versions(&read_store, &read)).await?;
    let ranges = super::ranges::for_scoring(&ctx, store.clone(), names)
        .await
        .map_err(to_df)?;
    // Streamed into a staged part as the rows come, range after range: ten million members'
    // rows never sit in memory whole.
    let target = store.table(TABLE).map_err(to_df)?;
    let mut replacement = target.replacement().map_err(to_df)?;
    for range in &ranges {
        let mut df = ctx.sql(&scored).await?;
        if let Some(filter) = range.filter() {
            df = df.filter(filter)?;
        }
        let mut stream = df
            .sort(vec![col("member_id").sort(true, false)])?
            .execute_stream()
            .await?;
        while let Some(batch) = stream.next().await {
            let batch = conform(&batch?, &target.def.schema)?;
            replacement = blocking(move || {
                replacement.write(&batch)?;
                Ok(replacement)
            })
            .await?;
        }
    }
    let members = replacement.rows() as usize;
    blocking(move || {
        freshness::forget(&store)?;
        let version = replacement.commit()?;
        tables.insert(TABLE.to_string(), version);
        freshness::record(
            &store,
            &Basis {
                as_of: as_of.to_string(),
                settings,
                tables,
            },
        )
    })
    .await?;
    tracing::info!(members, ranges = ranges.len(), %as_of, elapsed = ?started.elapsed(), "member_scores refreshed");
    refreshed(members, as_of, tz)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> crate::error::Result<T> + Send + 'static,
) -> Result<T> {
    crate::statement::runtime::blocking("member_scores", f)
        .await
        .map_err(to_df)
}
