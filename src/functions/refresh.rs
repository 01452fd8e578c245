//! `refresh_member_behavior()`: rewrites the seed's member_behavior table from the view
//! member_behavior_live (as of the session's cip.as_of) in one atomic commit, so readers
//! see either the old table or the new one, never a mix. Returns one row: members written,
//! the as-of date used, and when.

use crate::deferred::{Action, DeferredTable};
use crate::error::{sqlstate, to_df, CipError};
use crate::settings::CipOptions;
use crate::storage::Store;
use chrono::NaiveDate;
use chrono_tz::Tz;
use datafusion::arrow::array::TimestampMicrosecondArray;
use datafusion::arrow::array::{new_null_array, ArrayRef, Date32Array, Int64Array, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::Result;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::Expr;
use datafusion::prelude::SessionContext;
use std::sync::Arc;

pub struct RefreshMemberBehavior {
    pub store: Arc<Store>,
}

impl std::fmt::Debug for RefreshMemberBehavior {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refresh_member_behavior")
    }
}

impl TableFunctionImpl for RefreshMemberBehavior {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let store = self.store.clone();
        let action: Action = Arc::new(move |state| Box::pin(refresh(state, store.clone())));
        refresh_function(
            "refresh_member_behavior",
            "no arguments",
            args.exprs(),
            action,
        )
    }
}

/// What both refresh functions return: one row of (members, as_of, refreshed_at).
fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("members", DataType::Int64, false),
        Field::new("as_of", DataType::Date32, false),
        Field::new(
            "refreshed_at",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
    ]))
}

/// A refresh function's table: `action` runs when it is read. `rest` are the arguments the
/// function did not take (none are expected); `takes` says what it does take.
pub(crate) fn refresh_function(
    name: &str,
    takes: &str,
    rest: &[Expr],
    action: Action,
) -> Result<Arc<dyn TableProvider>> {
    if !rest.is_empty() {
        return Err(to_df(CipError::invalid(
            sqlstate::UNDEFINED_FUNCTION,
            format!("{name} takes {takes}"),
        )));
    }
    Ok(Arc::new(DeferredTable::new(
        format!("{name}()"),
        schema(),
        action,
    )))
}

/// No rows: a refresh that had nothing to do.
pub(crate) fn nothing_refreshed() -> RecordBatch {
    RecordBatch::new_empty(schema())
}

/// The row a refresh function returns: `members` written as of `as_of`, refreshed now.
pub(crate) fn refreshed(members: usize, as_of: NaiveDate, tz: Tz) -> Result<RecordBatch> {
    let now = crate::storage::local_now_micros(tz);
    let days = (as_of - NaiveDate::default()).num_days() as i32;
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int64Array::from(vec![members as i64])),
            Arc::new(Date32Array::from(vec![days])),
            Arc::new(TimestampMicrosecondArray::from(vec![now])),
        ],
    )?)
}

async fn refresh(state: SessionState, store: Arc<Store>) -> Result<RecordBatch> {
    crate::identity::Actor::of(&state).require_write("refresh_member_behavior")?;
    let options = CipOptions::of(state.config_options());
    let as_of = options.as_of_date()?;
    let tz = options.tz()?;
    let ctx = SessionContext::new_with_state(state);
    let live = ctx
        .sql("SELECT * FROM member_behavior_live")
        .await?
        .collect()
        .await?;
    let table = store.table("member_behavior").map_err(to_df)?;
    let target = table.def.schema.clone();
    let rows: usize = live.iter().map(|b| b.num_rows()).sum();
    let conformed = live
        .iter()
        .map(|b| conform(b, &target))
        .collect::<Result<Vec<_>>>()?;
    crate::statement::runtime::blocking("refresh_member_behavior", move || {
        table.replace_all(&conformed)
    })
    .await
    .map_err(to_df)?;
    tracing::info!(rows, %as_of, "member_behavior refreshed");
    refreshed(rows, as_of, tz)
}

/// The view's batch in the table's schema: columns matched by name and cast; the table's
/// other columns (id, updated_at) NULL, which the store fills in.
pub(crate) fn conform(batch: &RecordBatch, target: &SchemaRef) -> Result<RecordBatch> {
    let columns = target
        .fields()
        .iter()
        .map(|f| match batch.schema().index_of(f.name()) {
            Ok(i) => Ok(cast(batch.column(i), f.data_type())?),
            Err(_) => Ok(new_null_array(f.data_type(), batch.num_rows())),
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    Ok(RecordBatch::try_new(target.clone(), columns)?)
}
