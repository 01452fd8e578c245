//! pg_stat_ssl: whether each client session's connection is encrypted, as PostgreSQL lists
//! it — what a client asks to check its own connection (`SELECT ssl FROM pg_stat_ssl WHERE
//! pid = pg_backend_pid()`) and what monitoring counts. The TLS layer does not tell the
//! session its protocol version or cipher, so those are NULL (unknown); cip asks for no client
//! certificates, so the certificate columns are NULL as in PostgreSQL without one.

use super::activity::Backends;
use datafusion::arrow::array::{ArrayRef, BooleanArray, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::Result;
use datafusion::datasource::MemTable;
use std::sync::Arc;

/// PostgreSQL 15's columns of pg_stat_ssl, in its order.
fn schema() -> SchemaRef {
    let fields = [
        ("pid", DataType::Int32),
        ("ssl", DataType::Boolean),
        ("version", DataType::Utf8),
        ("cipher", DataType::Utf8),
        ("bits", DataType::Int32),
        ("client_dn", DataType::Utf8),
        ("client_serial", DataType::Decimal128(38, 0)),
        ("issuer_dn", DataType::Utf8),
    ];
    Arc::new(Schema::new(
        fields
            .into_iter()
            .map(|(name, t)| Field::new(name, t, true))
            .collect::<Vec<_>>(),
    ))
}

/// A row per client session now.
fn relation(backends: &Backends) -> Result<MemTable> {
    let rows: Vec<(i32, bool)> = backends
        .live()
        .iter()
        .filter_map(|b| Some((b.pid(), b.secure()?)))
        .collect();
    let n = rows.len();
    let text = || Arc::new(StringArray::from(vec![None::<&str>; n])) as ArrayRef;
    let serial = datafusion::arrow::array::Decimal128Array::from(vec![None::<i128>; n])
        .with_precision_and_scale(38, 0)?;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(rows.iter().map(|r| Some(r.0)).collect::<Int32Array>()),
        Arc::new(rows.iter().map(|r| Some(r.1)).collect::<BooleanArray>()),
        text(),
        text(),
        Arc::new(Int32Array::from(vec![None::<i32>; n])),
        text(),
        Arc::new(serial),
        text(),
    ];
    let batch = RecordBatch::try_new(schema(), columns)?;
    MemTable::try_new(schema(), vec![vec![batch]])
}

/// pg_stat_ssl, read when a statement scans it.
pub fn view(backends: Arc<Backends>) -> super::live_view::LiveView {
    super::live_view::LiveView::new("pg_stat_ssl", schema(), move |_| relation(&backends))
}
