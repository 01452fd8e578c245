//! Outcomes of statements as PostgreSQL's protocol sends them: row descriptions with
//! PostgreSQL's types and modifiers, data rows in text or binary (arrow-pg encodes them, on
//! the statement runtime), command tags, and errors with their SQLSTATE.

use crate::catalog::datetime_text::{self, Zones};
use crate::catalog::name_type;
use crate::column_types::ColumnType;
use crate::error::CipError;
use crate::statement::reg_names::RegNames;
use crate::statement::{Rows, Session};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion_postgres::arrow_pg::datatypes::arrow_schema_to_pg_fields;
use futures::StreamExt;
use pgwire::api::portal::Format;
use pgwire::api::results::{FieldFormat, FieldInfo, QueryResponse, Tag};
use pgwire::api::Type;
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;
use pgwire::types::format::FormatOptions;
use std::sync::Arc;

/// An error as the client sees it.
pub fn error_info(e: &CipError) -> ErrorInfo {
    ErrorInfo::new("ERROR".to_string(), e.sqlstate().to_string(), e.to_string())
}

pub fn user_error(e: &CipError) -> PgWireError {
    PgWireError::UserError(Box::new(error_info(e)))
}

/// The session's display settings, as arrow-pg's text encoder takes them.
pub fn format_options(session: &Session) -> Arc<FormatOptions> {
    let s = session.settings();
    let mut o = FormatOptions::default();
    if let Some(v) = s.get("DateStyle") {
        o.date_style = v;
    }
    if let Some(v) = s.get("IntervalStyle") {
        o.interval_style = v;
    }
    if let Some(v) = s.get("bytea_output") {
        o.bytea_output = v;
    }
    if let Some(v) = s.get("TimeZone") {
        o.time_zone = v;
    }
    if let Some(v) = s.get("extra_float_digits").and_then(|v| v.parse().ok()) {
        o.extra_float_digits = v;
    }
    Arc::new(o)
}

/// The row description of `schema`: PostgreSQL types, numeric's precision and scale in the
/// type modifier (JDBC and Metabase derive a column's display scale from it), and the
/// catalog's `name` / `name[]` columns as those types (catalog/name_type.rs).
pub fn fields(
    schema: &Schema,
    format: &Format,
    options: Arc<FormatOptions>,
) -> PgWireResult<Vec<FieldInfo>> {
    let schema = crate::statement::wire_schema::described(schema);
    let fields = arrow_schema_to_pg_fields(&schema, format, Some(options))?;
    Ok(fields
        .into_iter()
        .zip(schema.fields())
        .map(|(info, f)| match f.data_type() {
            DataType::Decimal128(p, s) | DataType::Decimal256(p, s) if *s >= 0 => {
                info.with_type_modifier(((i32::from(*p) << 16) | i32::from(*s as u8)) + 4)
            }
            _ => match (name_type::pg_type(f), ColumnType::of(f)) {
                (Some(t), _) => retyped(info, t),
                (None, Some(declared)) => declared_as(info, declared),
                (None, None) => info,
            },
        })
        .collect())
}

/// `info` described as `datatype` (name's values are 64 bytes, others of variable length).
fn retyped(info: FieldInfo, datatype: Type) -> FieldInfo {
    let size = if datatype == Type::NAME { 64 } else { -1 };
    FieldInfo::new(
        info.name().to_string(),
        info.table_id(),
        info.column_id(),
        datatype,
        info.format(),
    )
    .with_format_options(info.format_options().clone())
    .with_type_size(size)
}

/// `info` described as the type its column was declared with (crate::column_types).
fn declared_as(info: FieldInfo, declared: ColumnType) -> FieldInfo {
    let datatype = Type::from_oid(declared.oid() as u32).unwrap_or(Type::TEXT);
    retyped(info, datatype)
        .with_type_size(declared.length())
        .with_type_modifier(declared.typmod())
}

/// The encoded rows of a statement, computed on the statement runtime; reg* columns read as
/// text show `names`, date-times the session's (`zones`: `zones(session)`).
pub fn data_rows(
    rows: Rows,
    fields: Arc<Vec<FieldInfo>>,
    names: Option<RegNames>,
    zones: Zones,
    what: String,
) -> futures::stream::BoxStream<'static, PgWireResult<DataRow>> {
    let encoded = rows.stream.flat_map(move |batch| {
        let batch = match (batch, &names) {
            (Ok(b), Some(names)) => names.apply(b),
            (b, _) => b.map_err(CipError::from),
        };
        let binary = |i: usize| {
            fields
                .get(i)
                .is_some_and(|f| f.format() == FieldFormat::Binary)
        };
        let batch = batch.and_then(|b| crate::column_types::uuids_as_bytes(b, binary));
        let batch = batch.and_then(|b| datetimes_as_text(b, &fields, &zones));
        let items: Vec<PgWireResult<DataRow>> = match batch {
            Ok(b) => crate::statement::wire_rows::encode(fields.clone(), b).collect(),
            Err(e) => vec![Err(user_error(&e))],
        };
        futures::stream::iter(items)
    });
    use crate::statement::runtime::{stream_on_runtime, ROWS};
    stream_on_runtime(what, encoded, ROWS, |e| Err(user_error(&e)))
}

/// `batch` with its date-time columns that go out as text written as PostgreSQL writes them
/// (`2026-01-01 10:00:00`, microseconds only when there are some, a timestamptz in the
/// session's TimeZone with `+08`): arrow-pg writes six fractional digits always and a
/// timestamptz in its column's zone. Only under DateStyle ISO, the default and what drivers
/// set; pgwire writes the other DateStyles.
fn datetimes_as_text(
    batch: RecordBatch,
    fields: &[FieldInfo],
    zones: &Zones,
) -> crate::error::Result<RecordBatch> {
    datetime_text::datetimes_as_text(&batch, zones, |i| {
        fields.get(i).is_some_and(|f| {
            f.format() == FieldFormat::Text
                && f.format_options()
                    .date_style
                    .trim_start()
                    .to_ascii_uppercase()
                    .starts_with("ISO")
        })
    })
}

/// The zones `session` writes zoned timestamps in as text.
pub fn zones(session: &Session) -> Zones {
    Zones::of(session.ctx().state_ref().read().config_options())
}

/// A query response of `rows` in `format`.
pub async fn query_response(
    session: &Session,
    rows: Rows,
    format: &Format,
    what: String,
) -> PgWireResult<QueryResponse> {
    let fields = Arc::new(fields(&rows.schema, format, format_options(session))?);
    let names = text_names(session, &rows.schema, &fields)
        .await
        .map_err(|e| user_error(&e))?;
    let tag = rows.tag;
    let stream = data_rows(rows, fields.clone(), names, zones(session), what);
    let mut response = QueryResponse::new(fields, stream);
    response.set_command_tag(tag);
    Ok(response)
}

/// The names of the reg* columns the client reads as text (binary keeps the OIDs).
pub async fn text_names(
    session: &Session,
    schema: &SchemaRef,
    fields: &[FieldInfo],
) -> crate::error::Result<Option<RegNames>> {
    RegNames::for_columns(session, schema, |i| {
        fields
            .get(i)
            .is_some_and(|f| f.format() == FieldFormat::Text)
    })
    .await
}

/// The command tag of a statement that returned no rows.
pub fn tag(done: &crate::statement::Done) -> Tag {
    let tag = Tag::new(&done.tag);
    match (done.tag.as_str(), done.rows) {
        ("INSERT", Some(n)) => tag.with_oid(0).with_rows(n as usize),
        (_, Some(n)) => tag.with_rows(n as usize),
        _ => tag,
    }
}
