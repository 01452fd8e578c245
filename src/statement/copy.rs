//! COPY, as far as it is a statement: which table or query, which format, checking the rows
//! that come in and encoding the rows that go out. The bytes travel by the client protocol
//! (crate::pg's CopyData messages).
//!
//! COPY FROM checks the rows like `cip load` checks a file, then appends them as one fsync'd
//! log frame (or, inside a block, to the block's transaction), so a COPY is all or nothing.

use super::copy_text::{escape_text, map_text, unescape_text, CopyFormat};
use crate::catalog::datetime_text::{self, Zones};
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::storage::{Table, TxnSlot};
use crate::text_columns::with_text_columns;
use datafusion::arrow::array::{Array, RecordBatch, StringArray};
use datafusion::arrow::csv::{QuoteStyle, ReaderBuilder, WriterBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryPool, MemoryReservation};
use datafusion::execution::SendableRecordBatchStream;
use futures::stream::BoxStream;
use futures::StreamExt;
use std::path::Path;
use std::sync::Arc;

/// The most a single COPY may send; beyond it the COPY fails (54000) and nothing is written.
const MAX_COPY_BYTES: usize = 1 << 30;

/// A COPY FROM STDIN waiting for its data.
pub struct CopyIn {
    table: Arc<Table>,
    /// The session's transaction slot: a COPY inside a block is part of it.
    slot: Arc<TxnSlot>,
    columns: Vec<String>,
    format: CopyFormat,
    buf: Vec<u8>,
    /// The data received so far, charged to the session's memory (session_memory.rs).
    held: MemoryReservation,
}

impl CopyIn {
    pub(super) fn new(
        table: Arc<Table>,
        slot: Arc<TxnSlot>,
        columns: Vec<String>,
        format: CopyFormat,
        pool: &Arc<dyn MemoryPool>,
    ) -> CopyIn {
        CopyIn {
            table,
            slot,
            columns,
            format,
            buf: Vec::new(),
            held: MemoryConsumer::new("COPY FROM STDIN").register(pool),
        }
    }

    pub fn columns(&self) -> usize {
        self.columns.len()
    }

    /// Takes one chunk of the data.
    pub fn feed(&mut self, data: &[u8]) -> Result<()> {
        if self.buf.len() + data.len() > MAX_COPY_BYTES {
            self.buf = Vec::new();
            return Err(CipError::invalid(
                sqlstate::PROGRAM_LIMIT_EXCEEDED,
                "COPY data over 1 GiB; split it into several COPY statements",
            ));
        }
        if let Err(e) = self.held.try_grow(data.len()) {
            self.buf = Vec::new();
            self.held.free();
            return Err(e.into());
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    /// Checks every row, then appends them all in one durable write; the rows copied.
    pub async fn finish(self) -> Result<u64> {
        super::runtime::blocking("COPY FROM STDIN", move || self.ingest()).await
    }

    /// Whether the data comes in the binary format (the CopyInResponse says so).
    pub fn binary(&self) -> bool {
        self.format.binary
    }

    fn ingest(self) -> Result<u64> {
        if self.format.binary {
            return self.ingest_binary();
        }
        let mut data: &[u8] = &self.buf;
        // The text format may end with the old "\." terminator line.
        if let Some(stripped) = data.strip_suffix(b"\\.\n") {
            data = stripped;
        }
        let text_schema = Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(c, DataType::Utf8, true))
                .collect::<Vec<_>>(),
        ));
        let format = &self.format;
        let mut builder = ReaderBuilder::new(text_schema)
            .with_header(format.header)
            .with_delimiter(format.delimiter)
            .with_batch_size(64 * 1024);
        builder = if format.csv {
            builder.with_quote(format.quote)
        } else {
            builder.with_quote(0)
        };
        let reader = builder
            .build(std::io::Cursor::new(data))
            .map_err(|e| CipError::invalid(sqlstate::BAD_COPY_FILE_FORMAT, format!("COPY: {e}")))?;
        let label = Path::new("COPY");
        let mut batches = Vec::new();
        let mut line = if format.header { 2 } else { 1 };
        for b in reader {
            let b = b.map_err(|e| {
                CipError::invalid(sqlstate::BAD_COPY_FILE_FORMAT, format!("COPY: {e}"))
            })?;
            let b = null_marker_to_null(&b, &format.null)?;
            let b = if format.csv {
                b
            } else {
                map_text(&b, unescape_text).map_err(|e| {
                    CipError::invalid(
                        sqlstate::CHARACTER_NOT_IN_REPERTOIRE,
                        format!("COPY, line {line} or after: {e}"),
                    )
                })?
            };
            batches.push(crate::load::conform(&self.table.def, &b, line, label)?);
            line += b.num_rows() as u64;
        }
        self.append(&batches)
    }

    fn ingest_binary(&self) -> Result<u64> {
        let schema = &self.table.def.schema;
        let columns = self
            .columns
            .iter()
            .map(|c| Ok(schema.field_with_name(c)?.clone()))
            .collect::<Result<Vec<_>>>()?;
        let batch = super::copy_binary::decode(&self.buf, &columns)?;
        let batch = crate::load::conform(&self.table.def, &batch, 1, Path::new("COPY"))?;
        self.append(&[batch])
    }

    /// The rows, all or nothing: to the block's transaction inside one.
    fn append(&self, batches: &[RecordBatch]) -> Result<u64> {
        if let Some(txn) = self.slot.lock().as_mut() {
            return txn.append(&self.table, batches);
        }
        self.table.append(batches)
    }
}

/// The NULL marker ("\N" in text format) becomes NULL; an empty CSV field is NULL anyway.
fn null_marker_to_null(b: &RecordBatch, null: &str) -> Result<RecordBatch> {
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

/// Bytes of a COPY … TO STDOUT and the rows they hold: one chunk per row, a header (binary's
/// signature, CSV's column names) travelling with the first, binary's trailer alone — so a
/// client or pgwire counting the chunks counts rows.
pub struct Chunk {
    pub bytes: Vec<u8>,
    pub rows: u64,
}

/// A COPY … TO STDOUT.
pub struct CopyOut {
    pub columns: usize,
    /// Binary format: the CopyOutResponse says so for every column.
    pub binary: bool,
    pub data: BoxStream<'static, Result<Chunk>>,
}

impl CopyOut {
    /// `zones`: where the session writes zoned timestamps as text.
    pub(super) fn new(
        rows: SendableRecordBatchStream,
        format: CopyFormat,
        zones: Zones,
    ) -> CopyOut {
        let columns = rows.schema().fields().len();
        let binary = format.binary;
        let header = if binary {
            Some(super::copy_binary::header())
        } else if format.header {
            let names: Vec<String> = rows
                .schema()
                .fields()
                .iter()
                .map(|x| x.name().clone())
                .collect();
            Some(format!("{}\n", names.join(&(format.delimiter as char).to_string())).into_bytes())
        } else {
            None
        };
        let pending = Arc::new(std::sync::Mutex::new(header));
        let first = pending.clone();
        let body = rows.flat_map(move |b| {
            let encoded = b.map_err(CipError::from).and_then(|b| match binary {
                true => super::copy_binary::encode(&b),
                false => encode(&b, &format, &zones),
            });
            let items: Vec<Result<Chunk>> = match encoded {
                Ok(rows) => rows
                    .into_iter()
                    .map(|row| {
                        let head = first.lock().ok().and_then(|mut h| h.take());
                        let bytes = match head {
                            Some(mut h) => {
                                h.extend(row);
                                h
                            }
                            None => row,
                        };
                        Ok(Chunk { bytes, rows: 1 })
                    })
                    .collect(),
                Err(e) => vec![Err(e)],
            };
            futures::stream::iter(items)
        });
        // A header no row carried (no rows), then binary's trailer: in one message then, as
        // PostgreSQL sends it (rust-postgres's reader, connectorx's, needs the header and
        // what follows it together).
        let end = futures::stream::once(async move {
            let mut bytes = pending
                .lock()
                .ok()
                .and_then(|mut h| h.take())
                .unwrap_or_default();
            if binary {
                bytes.extend(super::copy_binary::trailer());
            }
            Ok(Chunk { bytes, rows: 0 })
        })
        .filter(|c| futures::future::ready(!matches!(c, Ok(c) if c.bytes.is_empty())));
        let data = body.chain(end).boxed();
        CopyOut {
            columns,
            binary,
            data,
        }
    }
}

/// Each row of `batch` in the COPY format.
fn encode(batch: &RecordBatch, f: &CopyFormat, zones: &Zones) -> Result<Vec<Vec<u8>>> {
    let builder = || {
        WriterBuilder::new()
            .with_delimiter(f.delimiter)
            .with_null(f.null.clone())
            .with_quote_style(if f.csv {
                QuoteStyle::Necessary
            } else {
                QuoteStyle::Never
            })
    };
    // Booleans as PostgreSQL writes them (t / f), not Arrow's true / false.
    let batch = &booleans_as_pg(batch)?;
    // Date-times as PostgreSQL writes them (microseconds only when there are some, `+08`).
    let batch = &datetime_text::datetimes_as_text(batch, zones, |_| true)?;
    // Text format: backslash escapes, so a tab or newline inside a value stays inside it.
    let escaped;
    let batch = if f.csv {
        batch
    } else {
        let cast = texts_as_utf8(batch)?;
        escaped = map_text(&cast, |s| Ok(escape_text(s, f.delimiter)))
            .map_err(|e| CipError::invalid(sqlstate::CHARACTER_NOT_IN_REPERTOIRE, e))?;
        &escaped
    };
    let mut out = Vec::with_capacity(batch.num_rows());
    for i in 0..batch.num_rows() {
        let mut buf = Vec::new();
        builder()
            .with_header(false)
            .build(&mut buf)
            .write(&batch.slice(i, 1))?;
        out.push(buf);
    }
    Ok(out)
}

/// Boolean columns as the text PostgreSQL's COPY writes for them: t and f.
fn booleans_as_pg(batch: &RecordBatch) -> Result<RecordBatch> {
    use datafusion::arrow::array::BooleanArray;
    with_text_columns(batch, |_, c| {
        Ok(c.as_any().downcast_ref::<BooleanArray>().map(|b| {
            let text: StringArray = b
                .iter()
                .map(|v| v.map(|v| if v { "t" } else { "f" }))
                .collect();
            Arc::new(text) as Arc<dyn Array>
        }))
    })
}

/// Utf8View / LargeUtf8 columns as Utf8, so the text escapes see every string.
fn texts_as_utf8(batch: &RecordBatch) -> Result<RecordBatch> {
    with_text_columns(batch, |_, c| match c.data_type() {
        DataType::Utf8View | DataType::LargeUtf8 => {
            Ok(Some(datafusion::arrow::compute::cast(c, &DataType::Utf8)?))
        }
        _ => Ok(None),
    })
}
