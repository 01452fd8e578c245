//! `refresh_member_scores()`: computes member_scores_live as of the session's as-of date and
//! stores it as the table member_scores in one commit, sorted by member_id, recording what it
//! read (freshness.rs). Returns one row: members written, the as-of date, and when. `cip score
//! --into-warehouse`, the scheduler's daily job and `cip serve`'s start-up run the same.

use super::freshness::{self, Basis};
use super::{LIVE, TABLE};
use crate::deferred::Action;
use crate::error::{sqlstate, to_df, CipError};
use crate::functions::refresh::{conform, nothing_refreshed, refresh_function, refreshed};
use crate::settings::CipOptions;
use crate::storage::{Store, TxnSlot};
use datafusion::arrow::array::RecordBatch;
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{Result, ScalarValue};
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::Expr;
use datafusion::prelude::SessionContext;
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

/// With `only_if_stale`, does nothing (and returns no row) when the snapshot answers for the
/// session already.
async fn refresh_if(
    state: SessionState,
    store: Arc<Store>,
    only_if_stale: bool,
) -> Result<RecordBatch> {
    if only_if_stale {
        let options = CipOptions::of(state.config_options());
        if freshness::answers_for(&store, &options)
            .await
            .map_err(to_df)?
        {
            return Ok(nothing_refreshed());
        }
    }
    refresh(state, store).await
}

/// Scores every active member into member_scores; the row the function returns.
pub async fn refresh(state: SessionState, store: Arc<Store>) -> Result<RecordBatch> {
    crate::identity::Actor::of(&state).require_write("refresh_member_scores")?;
    if let Some(slot) = state.config().get_extension::<TxnSlot>() {
        if slot.lock().is_some() {
            // The snapshot would hold the block's uncommitted rows, written outside it.
            return Err(to_df(CipError::invalid(
                sqlstate::ACTIVE_SQL_TRANSACTION,
                "refresh_member_scores() cannot run inside a transaction block",
            )));
        }
    }
    let options = CipOptions::of(state.config_options());
    let (as_of, tz) = (options.as_of_date()?, options.tz()?);
    let settings = freshness::settings_of(&options);
    let started = std::time::Instant::now();
    let ctx = SessionContext::new_with_state(state);
    let df = ctx
        .sql(&format!(
            "SELECT *, cip_as_of() AS as_of FROM {LIVE} ORDER BY member_id"
        ))
        .await?;
    let mut names = freshness::tables_read(df.logical_plan(), &store);
    names.push(TABLE.to_string());
    // The versions before reading: a write while the rows are computed leaves the record
    // older than the table, so the snapshot counts as stale rather than wrongly current.
    let read_store = store.clone();
    let mut tables = blocking(move || freshness::versions(&read_store, &names)).await?;
    let rows = df.collect().await?;
    let table = store.table(TABLE).map_err(to_df)?;
    let target = table.def.schema.clone();
    let conformed = rows
        .iter()
        .map(|b| conform(b, &target))
        .collect::<Result<Vec<_>>>()?;
    let members: usize = conformed.iter().map(|b| b.num_rows()).sum();
    blocking(move || {
        freshness::forget(&store)?;
        let version = table.replace_all(&conformed)?;
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
    tracing::info!(members, %as_of, elapsed = ?started.elapsed(), "member_scores refreshed");
    refreshed(members, as_of, tz)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> crate::error::Result<T> + Send + 'static,
) -> Result<T> {
    crate::statement::runtime::blocking("member_scores", f)
        .await
        .map_err(to_df)
}
