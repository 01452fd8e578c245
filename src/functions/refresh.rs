//! `refresh_member_behavior()`: rewrites the seed's member_behavior table from the view
//! member_behavior_live (as of the session's cip.as_of) in one atomic commit, so readers
//! see either the old table or the new one, never a mix. Returns one row: members written,
//! the as-of date used, and when.

use crate::deferred::{Action, DeferredTable};
use crate::error::to_df;
use crate::settings::CipOptions;
use crate::storage::Rewrite;
use crate::storage::Store;
use datafusion::arrow::array::TimestampMicrosecondArray;
use datafusion::arrow::array::{new_null_array, ArrayRef, Date32Array, Int64Array, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{plan_err, DataFusionError, Result};
use datafusion::execution::session_state::SessionState;
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

impl TableFunctionImpl for RefreshMemberBehavior {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        if !args.exprs().is_empty() {
            return plan_err!("type mismatch: refresh_member_behavior takes no arguments");
        }
        let store = self.store.clone();
        let action: Action = Arc::new(move |state| Box::pin(refresh(state, store.clone())));
        Ok(Arc::new(DeferredTable::new(
            "refresh_member_behavior()",
            schema(),
            action,
        )))
    }
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
    let writer = table.clone();
    tokio::task::spawn_blocking(move || {
        let mut drop_all =
            |b: &RecordBatch| Ok(Rewrite::Replace(b.slice(0, 0), b.num_rows() as u64));
        writer.rewrite(Some(&mut drop_all), &conformed)
    })
    .await
    .map_err(|e| DataFusionError::External(Box::new(e)))?
    .map_err(to_df)?;
    let now = crate::storage::local_now_micros(tz);
    let days = (as_of - chrono::NaiveDate::default()).num_days() as i32;
    tracing::info!(rows, %as_of, "member_behavior refreshed");
    Ok(RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int64Array::from(vec![rows as i64])),
            Arc::new(Date32Array::from(vec![days])),
            Arc::new(TimestampMicrosecondArray::from(vec![now])),
        ],
    )?)
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
