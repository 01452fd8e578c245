//! `COPY <table> [(columns)] FROM STDIN` over the wire, in CSV or PostgreSQL's text format,
//! into the table's durable append path: the rows are checked like `cip load` checks a file,
//! then appended as one fsync'd log frame, so a COPY is all or nothing.

use super::copy_format::{api, no_rows_plan, user_error, CopyFormat};
use crate::error::CipError;
use crate::storage::{Store, Table};
use async_trait::async_trait;
use datafusion::arrow::array::{Array, RecordBatch, StringArray};
use datafusion::arrow::csv::ReaderBuilder;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{
    CopyLegacyOption, CopyOption, CopySource, CopyTarget, Statement,
};
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::QueryHook;
use futures::{Sink, SinkExt};
use pgwire::api::copy::CopyHandler;
use pgwire::api::results::{CopyResponse, Response, Tag};
use pgwire::api::ClientInfo;
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail};
use pgwire::messages::PgWireBackendMessage;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The most a single COPY may send; beyond it the COPY fails (54000) and nothing is written.
const MAX_COPY_BYTES: usize = 1 << 30;

/// A COPY FROM STDIN in progress on one connection.
pub struct CopyIn {
    table: Arc<Table>,
    columns: Vec<String>,
    format: CopyFormat,
    buf: Vec<u8>,
}

pub type CopyState = Arc<Mutex<Option<CopyIn>>>;

fn cip_error(e: CipError) -> PgWireError {
    user_error(e.sqlstate(), e.to_string())
}

/// Starts a COPY FROM STDIN: checks the table, columns and options, and answers CopyIn.
pub struct CopyFromHook {
    pub store: Arc<Store>,
    pub state: CopyState,
}

impl CopyFromHook {
    fn start(&self, statement: &Statement) -> Option<PgWireResult<Response>> {
        let Statement::Copy {
            source,
            to: false,
            target,
            options,
            legacy_options,
            ..
        } = statement
        else {
            return None;
        };
        Some(self.begin(source, target, options, legacy_options))
    }

    fn begin(
        &self,
        source: &CopySource,
        target: &CopyTarget,
        options: &[CopyOption],
        legacy: &[CopyLegacyOption],
    ) -> PgWireResult<Response> {
        let CopySource::Table {
            table_name,
            columns,
        } = source
        else {
            return Err(user_error("42601", "COPY FROM needs a table, not a query"));
        };
        if !matches!(target, CopyTarget::Stdin) {
            return Err(user_error(
                "0A000",
                "COPY FROM a server-side file or program is not supported; use COPY … FROM STDIN (psql: \\copy)",
            ));
        }
        let name = table_name.to_string();
        let name = name
            .rsplit('.')
            .next()
            .unwrap_or(&name)
            .trim_matches('"')
            .to_string();
        let table = self.store.table(&name).map_err(cip_error)?;
        let columns: Vec<String> = if columns.is_empty() {
            table
                .def
                .schema
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect()
        } else {
            columns.iter().map(|c| c.value.clone()).collect()
        };
        for c in &columns {
            if table.def.schema.index_of(c).is_err() {
                return Err(user_error(
                    "42703",
                    format!("column \"{c}\" of relation \"{name}\" does not exist"),
                ));
            }
        }
        let copy = CopyIn {
            table,
            columns,
            format: CopyFormat::parse(options, legacy)?,
            buf: Vec::new(),
        };
        let ncols = copy.columns.len();
        if let Ok(mut s) = self.state.lock() {
            *s = Some(copy);
        }
        Ok(Response::CopyIn(CopyResponse::new(
            0,
            ncols,
            futures::stream::empty(),
        )))
    }
}

impl CopyFromHook {
    /// `start`, for a session that may write (an analyst gets 42501).
    fn start_as(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
    ) -> Option<PgWireResult<Response>> {
        let response = self.start(statement)?;
        if let Err(e) = crate::actor::Actor::of(&ctx.state()).require_write("COPY FROM") {
            if let Ok(mut s) = self.state.lock() {
                *s = None;
            }
            return Some(Err(api(e)));
        }
        Some(response)
    }
}

#[async_trait]
impl QueryHook for CopyFromHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        self.start_as(statement, ctx)
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        // Parse of any COPY (either direction) only describes it; it acts at Execute.
        matches!(statement, Statement::Copy { .. }).then(|| Ok(no_rows_plan()))
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        self.start_as(statement, ctx)
    }
}

/// Receives the COPY data of one connection.
pub struct CopyReceiver {
    pub state: CopyState,
}

impl CopyReceiver {
    fn take(&self) -> Option<CopyIn> {
        self.state.lock().ok().and_then(|mut s| s.take())
    }
}

#[async_trait]
impl CopyHandler for CopyReceiver {
    async fn on_copy_data<C>(&self, _client: &mut C, data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut guard = self
            .state
            .lock()
            .map_err(|_| user_error("XX000", "COPY state poisoned"))?;
        let Some(copy) = guard.as_mut() else {
            return Err(user_error("08P01", "COPY data without a COPY in progress"));
        };
        if copy.buf.len() + data.data.len() > MAX_COPY_BYTES {
            *guard = None;
            return Err(user_error(
                "54000",
                "COPY data over 1 GiB; split it into several COPY statements",
            ));
        }
        copy.buf.extend_from_slice(&data.data);
        Ok(())
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let Some(copy) = self.take() else {
            return Err(user_error("08P01", "COPY done without a COPY in progress"));
        };
        let rows = tokio::task::spawn_blocking(move || ingest(copy))
            .await
            .map_err(|e| user_error("XX000", format!("COPY failed: {e}")))?
            .map_err(cip_error)?;
        client
            .send(PgWireBackendMessage::CommandComplete(
                Tag::new("COPY").with_rows(rows as usize).into(),
            ))
            .await?;
        Ok(())
    }

    async fn on_copy_fail<C>(&self, _client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.take();
        user_error("57014", format!("COPY from stdin failed: {}", fail.message))
    }
}

/// Parses and checks the buffered data, then appends it in one durable write.
fn ingest(copy: CopyIn) -> crate::error::Result<u64> {
    let mut data: &[u8] = &copy.buf;
    // The text format may end with the old "\." terminator line.
    if let Some(stripped) = data.strip_suffix(b"\\.\n") {
        data = stripped;
    }
    let text_schema = Arc::new(Schema::new(
        copy.columns
            .iter()
            .map(|c| Field::new(c, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let mut builder = ReaderBuilder::new(text_schema)
        .with_header(copy.format.header)
        .with_delimiter(copy.format.delimiter)
        .with_batch_size(64 * 1024);
    builder = if copy.format.csv {
        builder.with_quote(copy.format.quote)
    } else {
        builder.with_quote(0)
    };
    let reader = builder
        .build(std::io::Cursor::new(data))
        .map_err(|e| CipError::invalid("22P04", format!("COPY: {e}")))?;
    let label = Path::new("COPY");
    let mut batches = Vec::new();
    let mut line = if copy.format.header { 2 } else { 1 };
    for b in reader {
        let b = b.map_err(|e| CipError::invalid("22P04", format!("COPY: {e}")))?;
        let b = null_marker_to_null(&b, &copy.format.null)?;
        let b = if copy.format.csv {
            b
        } else {
            super::copy_format::map_text(&b, super::copy_format::unescape_text).map_err(|e| {
                CipError::invalid("22021", format!("COPY, line {line} or after: {e}"))
            })?
        };
        batches.push(crate::load::conform(&copy.table.def, &b, line, label)?);
        line += b.num_rows() as u64;
    }
    copy.table.append(&batches)
}

/// The NULL marker ("\N" in text format) becomes NULL; an empty CSV field is NULL anyway.
fn null_marker_to_null(b: &RecordBatch, null: &str) -> crate::error::Result<RecordBatch> {
    if null.is_empty() {
        return Ok(b.clone());
    }
    let columns = b
        .columns()
        .iter()
        .map(|c| match c.as_any().downcast_ref::<StringArray>() {
            Some(s) => Arc::new(
                s.iter()
                    .map(|v| v.filter(|x| *x != null))
                    .collect::<StringArray>(),
            ) as Arc<dyn Array>,
            None => c.clone(),
        })
        .collect();
    Ok(RecordBatch::try_new(b.schema(), columns)?)
}
