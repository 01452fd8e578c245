//! Running a prepared statement: it acts here, once, and returns its outcome.

use super::cursor::{Cursor, Fetch};
use super::outcome::{Done, Outcome, Rows};
use super::parse::Parsed;
use super::prepare::{param_values, Kind, Prepared};
use super::session::Session;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::arrow::compute::{cast_with_options, CastOptions};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::memory::MemoryStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::sql::sqlparser::ast::{CloseCursor, DeclareType, ObjectType, Statement};
use futures::StreamExt;
use tokio::sync::watch;
use tokio::time::Instant;

pub(super) fn canceled(why: &str) -> CipError {
    crate::metrics::ERRORS.add(1);
    CipError::invalid(
        sqlstate::QUERY_CANCELED,
        format!("canceling statement due to {why}"),
    )
}

impl Session {
    pub(super) async fn execute_here(
        &self,
        prepared: &Prepared,
        params: Vec<ScalarValue>,
    ) -> Result<Outcome> {
        self.state().tx.check(&prepared.parsed)?;
        if self.status() == super::TxStatus::Idle {
            // The transaction of the previous statement ended: its xact advisory locks go.
            self.locks.end_transaction();
        }
        match &prepared.parsed {
            Parsed::Fetch(f) => return self.fetch(f).await,
            Parsed::Sql(_) | Parsed::DataFusion(_) => {}
        };
        let ddl = prepared.statement();
        if !ddl.is_some_and(super::transaction::is_control) {
            // A block reads the warehouse as committed at its first statement.
            let slot = self.state().tx.slot();
            let pinned = slot.lock().as_mut().map(|txn| txn.pin_all());
            pinned.transpose()?;
        }
        if let Some(statement) = ddl {
            self.guard_ddl(statement)?;
        }
        let outcome = self.execute_kind(prepared, params).await?;
        if let Some(statement) = ddl {
            self.remember_ddl(statement).await?;
        }
        Ok(outcome)
    }

    async fn execute_kind(&self, prepared: &Prepared, params: Vec<ScalarValue>) -> Result<Outcome> {
        match &prepared.kind {
            Kind::Plan { plan, .. } if params.is_empty() => {
                if let Some(done) = self.stored_ddl(plan, prepared.statement()).await? {
                    return Ok(done);
                }
                self.run_prepared(prepared, params).await
            }
            _ => self.run_prepared(prepared, params).await,
        }
    }

    async fn run_prepared(&self, prepared: &Prepared, params: Vec<ScalarValue>) -> Result<Outcome> {
        self.refuse_bound_null_ids(prepared.statement(), &params)?;
        match &prepared.kind {
            Kind::Plan { plan, tag } => {
                if let Some(rows) = self.by_key(prepared, plan, tag.is_none(), &params).await? {
                    return Ok(rows);
                }
                let plan = if params.is_empty() {
                    plan.clone()
                } else {
                    plan.clone().with_param_values(param_values(params))?
                };
                self.run_plan(plan, tag.as_deref(), prepared.columns().cloned())
                    .await
            }
            Kind::Rebind { tag } => {
                let statement = prepared.statement().ok_or_else(not_sql)?;
                let bound = super::params::bind_literals(statement, &params)?;
                let plan = self.plan(&bound).await?;
                let columns = tag
                    .is_none()
                    .then(|| super::names::describe(statement, plan.schema().inner()));
                self.run_plan(plan, tag.as_deref(), columns).await
            }
            Kind::Command => {
                self.command(prepared.statement().ok_or_else(not_sql)?)
                    .await
            }
            Kind::Returning(plans) => {
                let columns = prepared.columns().cloned().ok_or_else(not_sql)?;
                self.write_returning(plans.bound(params)?, columns).await
            }
        }
    }

    /// The rows of a query for one key, read without planning a scan (point_lookup.rs).
    async fn by_key(
        &self,
        prepared: &Prepared,
        plan: &LogicalPlan,
        returns_rows: bool,
        params: &[ScalarValue],
    ) -> Result<Option<Outcome>> {
        let (Some(schema), true) = (prepared.columns(), returns_rows) else {
            return Ok(None);
        };
        let Some(lookup) = super::point_lookup::recognise(plan) else {
            return Ok(None);
        };
        let Some(rows) = self.read_by_key(&lookup, params).await? else {
            return Ok(None);
        };
        Ok(Some(Outcome::Rows(Rows {
            stream: described(one_batch(rows)?, schema.clone()),
            schema: schema.clone(),
            tag: "SELECT",
        })))
    }

    /// A statement cip runs itself.
    async fn command(&self, statement: &Statement) -> Result<Outcome> {
        if matches!(statement, Statement::Commit { .. }) {
            self.commit().await?;
        }
        {
            let mut state = self.state();
            let state = &mut *state;
            let store = self.engine.store.clone();
            let begin = move || store.begin();
            if let Some(done) = state.tx.control(statement, &mut state.notices, &begin) {
                let done = done?;
                if state.tx.status() == super::TxStatus::Idle {
                    state.cursors.retain(|_, c| c.hold);
                    self.locks.end_transaction();
                }
                return Ok(Outcome::Done(done));
            }
        }
        match statement {
            Statement::Declare { stmts } => self.declare(stmts).await,
            Statement::Close { cursor } => {
                let mut state = self.state();
                match cursor {
                    CloseCursor::All => state.cursors.clear(),
                    CloseCursor::Specific { name } => {
                        if state.cursors.remove(&name.value).is_none() {
                            return Err(no_cursor(&name.value));
                        }
                    }
                }
                Ok(Outcome::Done(Done::new("CLOSE CURSOR")))
            }
            Statement::Copy { .. } => self.copy(statement).await,
            // A session never listens (LISTEN is not supported): nothing to stop. asyncpg's
            // pool sends it each time a connection goes back.
            Statement::UNLISTEN { .. } => Ok(Outcome::Done(Done::new("UNLISTEN"))),
            Statement::AlterTable(a) => self.alter_table(a).await,
            Statement::CreateIndex(c) => self.create_index(c).await,
            Statement::AlterIndex { name, operation } => self.alter_index(name, operation).await,
            Statement::Comment {
                object_type,
                object_name,
                comment,
                if_exists,
            } => {
                let text = comment.as_deref();
                (self.comment(object_type, object_name, text, *if_exists)).await
            }
            Statement::Drop {
                object_type: ObjectType::Index,
                names,
                if_exists,
                ..
            } => self.drop_index(names, *if_exists).await,
            _ => self.setting(statement).await,
        }
    }

    /// COMMIT of a block: its storage transaction commits (on a blocking thread: it writes and
    /// fsyncs). A commit that fails ends the block with nothing of it kept, as in PostgreSQL.
    async fn commit(&self) -> Result<()> {
        let Some((txn, changes)) = self.state().tx.take_for_commit() else {
            return Ok(());
        };
        // The block's views and schemas are saved by the same commit as its rows.
        let engine = self.engine.clone();
        let done = tokio::task::spawn_blocking(move || {
            engine
                .user_views
                .commit(&changes, |file| txn.commit_with(file))
        })
        .await
        .map_err(|e| CipError::Corrupt(format!("a commit stopped: {e}")))
        .and_then(|r| r);
        if done.is_err() {
            self.state().tx.abort();
        }
        done
    }

    /// Executes a plan: rows (cast to the types described) or a command tag.
    pub(super) async fn run_plan(
        &self,
        plan: LogicalPlan,
        tag: Option<&str>,
        columns: Option<SchemaRef>,
    ) -> Result<Outcome> {
        if let Some(done) = self.run_on_conflict(&plan, tag, columns.clone()).await? {
            return Ok(done);
        }
        if let Some(done) = self.run_dml(&plan).await? {
            return Ok(done);
        }
        let df = self.ctx().execute_logical_plan(plan).await?;
        let Some(tag) = tag else {
            let stream = df.execute_stream().await?;
            let schema = columns.unwrap_or_else(|| stream.schema());
            return Ok(Outcome::Rows(Rows {
                stream: described(stream, schema.clone()),
                schema,
                tag: "SELECT",
            }));
        };
        let batches = df.collect().await?;
        let counted = matches!(tag, "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "SELECT");
        Ok(Outcome::Done(if counted {
            Done::with_rows(tag, super::count_of(&batches))
        } else {
            Done::new(tag)
        }))
    }

    /// DECLARE name [SCROLL] CURSOR [WITH HOLD] FOR query.
    async fn declare(&self, stmts: &[datafusion::sql::sqlparser::ast::Declare]) -> Result<Outcome> {
        for d in stmts {
            let (Some(DeclareType::Cursor), Some(query)) = (&d.declare_type, &d.for_query) else {
                return Err(CipError::invalid(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "DECLARE declares cursors only: DECLARE name CURSOR FOR query",
                ));
            };
            let hold = d.hold == Some(true);
            if !hold && self.status() == super::TxStatus::Idle {
                return Err(CipError::invalid(
                    sqlstate::NO_ACTIVE_SQL_TRANSACTION,
                    "DECLARE CURSOR can only be used in transaction blocks",
                ));
            }
            let statement = Statement::Query(query.clone());
            let plan = self.plan(&statement).await?;
            let schema = super::names::describe(&statement, plan.schema().inner());
            let stream = self
                .ctx()
                .execute_logical_plan(plan)
                .await?
                .execute_stream()
                .await?;
            let stream = described(stream, schema);
            let pool = self.ctx().runtime_env().memory_pool.clone();
            let stream = super::runtime::batches_on_runtime(statement.to_string(), stream, &pool);
            let scroll = d.scroll == Some(true);
            let [name] = d.names.as_slice() else {
                return Err(CipError::invalid(
                    sqlstate::SYNTAX_ERROR,
                    "DECLARE names one cursor",
                ));
            };
            let mut state = self.state();
            if state.cursors.contains_key(&name.value) {
                return Err(CipError::invalid(
                    sqlstate::DUPLICATE_CURSOR,
                    format!("cursor \"{}\" already exists", name.value),
                ));
            }
            state
                .cursors
                .insert(name.value.clone(), Cursor::new(stream, scroll, hold));
        }
        Ok(Outcome::Done(Done::new("DECLARE CURSOR")))
    }

    /// FETCH / MOVE.
    async fn fetch(&self, f: &Fetch) -> Result<Outcome> {
        let Some(mut cursor) = self.state().cursors.remove(&f.cursor) else {
            return Err(no_cursor(&f.cursor));
        };
        let result = cursor.fetch(f.direction).await;
        let schema = cursor.schema.clone();
        self.state().cursors.insert(f.cursor.clone(), cursor);
        let batches = result?;
        if f.move_only {
            let n: usize = batches.iter().map(|b| b.num_rows()).sum();
            return Ok(Outcome::Done(Done::with_rows("MOVE", n as u64)));
        }
        let stream = MemoryStream::try_new(batches, schema.clone(), None)?;
        Ok(Outcome::Rows(Rows {
            schema,
            stream: Box::pin(stream),
            tag: "FETCH",
        }))
    }
}

fn not_sql() -> CipError {
    CipError::invalid(
        sqlstate::INTERNAL_ERROR,
        "internal error: a command that is not a SQL statement",
    )
}

fn no_cursor(name: &str) -> CipError {
    CipError::invalid(
        sqlstate::INVALID_CURSOR_NAME,
        format!("cursor \"{name}\" does not exist"),
    )
}

/// `stream` with each batch cast to the types `schema` describes: what a client was told in
/// RowDescription is what it gets (`SELECT 1 UNION ALL SELECT 'abc'` is described as the
/// plan's type; a value that does not fit is 22P02, as in PostgreSQL).
pub(super) fn described(
    stream: SendableRecordBatchStream,
    schema: SchemaRef,
) -> SendableRecordBatchStream {
    let same = stream.schema().fields().len() == schema.fields().len()
        && stream
            .schema()
            .fields()
            .iter()
            .zip(schema.fields())
            .all(|(a, b)| a.data_type() == b.data_type());
    let target = schema.clone();
    let batches = stream.map(move |b| {
        let b = b?;
        if same {
            return Ok(RecordBatch::try_new(target.clone(), b.columns().to_vec())?);
        }
        let options = CastOptions {
            safe: false,
            ..Default::default()
        };
        let columns = b
            .columns()
            .iter()
            .zip(target.fields())
            .map(|(c, f)| {
                cast_with_options(c, f.data_type(), &options).map_err(|e| {
                    crate::error::to_df(CipError::invalid(
                        sqlstate::INVALID_TEXT_REPRESENTATION,
                        format!(
                            "invalid input syntax for column \"{}\" of type {}: {e}",
                            f.name(),
                            f.data_type()
                        ),
                    ))
                })
            })
            .collect::<datafusion::common::Result<Vec<_>>>()?;
        Ok(RecordBatch::try_new(target.clone(), columns)?)
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, batches))
}

/// `stream`, ended with 57014 at the deadline or at a cancel request (rows are computed as
/// the client reads them, after the statement "returned").
pub(super) fn limit_stream(
    stream: SendableRecordBatchStream,
    deadline: Option<Instant>,
    cancel: Option<watch::Receiver<u64>>,
) -> SendableRecordBatchStream {
    if deadline.is_none() && cancel.is_none() {
        return stream;
    }
    let schema = stream.schema();
    let limited = futures::stream::unfold(Some((stream, cancel)), move |state| async move {
        let (mut rows, mut cancel) = state?;
        let timer = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let canceled_now = async {
            match cancel.as_mut() {
                Some(c) => {
                    if c.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            row = rows.next() => row.map(|row| (row, Some((rows, cancel)))),
            _ = timer => Some((Err(crate::error::to_df(canceled("statement timeout"))), None)),
            _ = canceled_now => Some((Err(crate::error::to_df(canceled("user request"))), None)),
        }
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, limited))
}

/// The one-batch stream of `batch`.
pub(super) fn one_batch(batch: RecordBatch) -> Result<SendableRecordBatchStream> {
    let schema = batch.schema();
    Ok(Box::pin(MemoryStream::try_new(vec![batch], schema, None)?))
}
