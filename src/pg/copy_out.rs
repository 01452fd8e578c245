//! `COPY <table> | (query) TO STDOUT` in CSV or PostgreSQL's text format: the result streams
//! to the client batch by batch, one CopyData message per row.

use super::copy_format::{api, user_error, CopyFormat};
use async_trait::async_trait;
use datafusion::arrow::csv::{QuoteStyle, WriterBuilder};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{CopySource, CopyTarget, Statement};
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::QueryHook;
use futures::StreamExt;
use pgwire::api::results::{CopyResponse, Response};
use pgwire::api::ClientInfo;
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::copy::CopyData;

/// One CopyData per row (pgwire counts the rows it reports in "COPY n" that way).
fn encode(batch: &RecordBatch, f: &CopyFormat, with_header: bool) -> PgWireResult<Vec<CopyData>> {
    let mut out = Vec::with_capacity(batch.num_rows() + 1);
    let builder = || {
        WriterBuilder::new()
            .with_delimiter(f.delimiter)
            .with_null(f.null.clone())
            .with_timestamp_format("%Y-%m-%d %H:%M:%S%.f".to_string())
            .with_quote_style(if f.csv {
                QuoteStyle::Necessary
            } else {
                QuoteStyle::Never
            })
    };
    let api = |e: datafusion::arrow::error::ArrowError| PgWireError::ApiError(Box::new(e));
    if with_header {
        let names: Vec<String> = batch
            .schema()
            .fields()
            .iter()
            .map(|x| x.name().clone())
            .collect();
        let sep = (f.delimiter as char).to_string();
        out.push(CopyData::new(
            format!("{}\n", names.join(&sep)).into_bytes().into(),
        ));
    }
    // Text format: backslash escapes, so a tab or newline inside a value stays inside it.
    let escaped;
    let batch = if f.csv {
        batch
    } else {
        let cast = crate::pg::copy_out::texts_as_utf8(batch).map_err(api)?;
        escaped = super::copy_format::map_text(&cast, |s| {
            Ok(super::copy_format::escape_text(s, f.delimiter))
        })
        .map_err(|e| PgWireError::ApiError(e.into()))?;
        &escaped
    };
    for i in 0..batch.num_rows() {
        let mut buf = Vec::new();
        builder()
            .with_header(false)
            .build(&mut buf)
            .write(&batch.slice(i, 1))
            .map_err(api)?;
        out.push(CopyData::new(buf.into()));
    }
    Ok(out)
}

/// Utf8View / LargeUtf8 columns as Utf8, so the text escapes see every string.
pub(crate) fn texts_as_utf8(
    batch: &RecordBatch,
) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if matches!(field.data_type(), DataType::Utf8View | DataType::LargeUtf8) {
            fields.push(Field::new(
                field.name(),
                DataType::Utf8,
                field.is_nullable(),
            ));
            columns.push(datafusion::arrow::compute::cast(column, &DataType::Utf8)?);
        } else {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
        }
    }
    RecordBatch::try_new(std::sync::Arc::new(Schema::new(fields)), columns)
}

pub struct CopyToHook;

async fn copy_out(statement: &Statement, ctx: &SessionContext) -> Option<PgWireResult<Response>> {
    let Statement::Copy {
        source,
        to: true,
        target,
        options,
        legacy_options,
        ..
    } = statement
    else {
        return None;
    };
    if !matches!(target, CopyTarget::Stdout) {
        return Some(Err(user_error(
            "0A000",
            "COPY TO a server-side file or program is not supported; use COPY … TO STDOUT (psql: \\copy)",
        )));
    }
    let format = match CopyFormat::parse(options, legacy_options) {
        Ok(f) => f,
        Err(e) => return Some(Err(e)),
    };
    let sql = match source {
        CopySource::Query(q) => q.to_string(),
        CopySource::Table {
            table_name,
            columns,
        } if columns.is_empty() => format!("SELECT * FROM {table_name}"),
        CopySource::Table {
            table_name,
            columns,
        } => format!(
            "SELECT {} FROM {table_name}",
            columns
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let df = match ctx.sql(&sql).await {
        Ok(df) => df,
        Err(e) => return Some(Err(api(e))),
    };
    let ncols = df.schema().fields().len();
    let stream = match df.execute_stream().await {
        Ok(s) => s,
        Err(e) => return Some(Err(api(e))),
    };
    let mut first = true;
    let rows = stream.flat_map(move |b| {
        let header = std::mem::replace(&mut first, false) && format.header;
        let items: Vec<PgWireResult<CopyData>> =
            match b.map_err(api).and_then(|b| encode(&b, &format, header)) {
                Ok(rows) => rows.into_iter().map(Ok).collect(),
                Err(e) => vec![Err(e)],
            };
        futures::stream::iter(items)
    });
    Some(Ok(Response::CopyOut(CopyResponse::new(0, ncols, rows))))
}

#[async_trait]
impl QueryHook for CopyToHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        copy_out(statement, ctx).await
    }

    async fn handle_extended_parse_query(
        &self,
        _statement: &Statement,
        _ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        // CopyFromHook, ahead of this one, describes every COPY at Parse.
        None
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        copy_out(statement, ctx).await
    }
}
