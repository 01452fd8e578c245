//! The write-ahead log in front of a table's Parquet files.
//!
//! Each append is one frame: `MAGIC | len | crc32 | Arrow IPC stream bytes`. A frame is
//! fsync'd before the append is acknowledged, so a crash after "INSERT 0 n" loses nothing;
//! a torn frame at the tail (a crash mid-write) fails its length or checksum and is dropped
//! whole, so a batch is either all there or not at all.

use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

const MAGIC: u32 = 0x4349_5057; // "CIPW"
const HEADER: usize = 12;

/// Encodes one batch as a frame.
pub fn encode_frame(batch: &RecordBatch) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    {
        let mut w = StreamWriter::try_new(&mut body, &batch.schema())?;
        w.write(batch)?;
        w.finish()?;
    }
    let len = u32::try_from(body.len()).map_err(|_| {
        CipError::invalid(
            sqlstate::PROGRAM_LIMIT_EXCEEDED,
            "a single insert is larger than 4 GiB",
        )
    })?;
    let mut frame = Vec::with_capacity(HEADER + body.len());
    frame.extend_from_slice(&MAGIC.to_le_bytes());
    frame.extend_from_slice(&len.to_le_bytes());
    frame.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    frame.extend_from_slice(&body);
    Ok(frame)
}

/// Appends a frame and fsyncs it. Returns the new length of the log.
pub fn append(path: &Path, frame: &[u8]) -> Result<u64> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| CipError::io(format!("open {}", path.display()), e))?;
    f.write_all(frame)
        .and_then(|_| f.sync_data())
        .map_err(|e| CipError::io(format!("append to {}", path.display()), e))?;
    f.metadata()
        .map(|m| m.len())
        .map_err(|e| CipError::io(format!("stat {}", path.display()), e))
}

/// What a read of the log found: the batches of every whole frame from `offset`, and where the
/// whole frames end (a writer truncates a torn tail back to there).
pub struct WalRead {
    pub batches: Vec<RecordBatch>,
    pub end: u64,
    pub torn: bool,
}

/// Reads whole frames from `offset`; stops quietly at a torn or missing tail.
pub fn read_from(path: &Path, offset: u64, schema: &SchemaRef) -> Result<WalRead> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(WalRead {
                batches: vec![],
                end: offset,
                torn: false,
            })
        }
        Err(e) => return Err(CipError::io(format!("open {}", path.display()), e)),
    };
    f.seek(SeekFrom::Start(offset))
        .map_err(|e| CipError::io(format!("seek {}", path.display()), e))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)
        .map_err(|e| CipError::io(format!("read {}", path.display()), e))?;
    let mut pos = 0usize;
    let mut batches = Vec::new();
    let mut torn = false;
    while pos < buf.len() {
        let Some(body) = frame_at(&buf, pos) else {
            torn = true;
            break;
        };
        let reader = StreamReader::try_new(body, None)?;
        for b in reader {
            let b = b?;
            if b.schema().fields() != schema.fields() {
                return Err(CipError::Corrupt(format!(
                    "{}: a logged batch does not match the table's schema",
                    path.display()
                )));
            }
            batches.push(b.with_schema(schema.clone())?);
        }
        pos += HEADER + body.len();
    }
    Ok(WalRead {
        batches,
        end: offset + pos as u64,
        torn,
    })
}

fn frame_at(buf: &[u8], pos: usize) -> Option<&[u8]> {
    let header = buf.get(pos..pos + HEADER)?;
    let word =
        |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    if word(0) != MAGIC {
        return None;
    }
    let len = word(4) as usize;
    let body = buf.get(pos + HEADER..pos + HEADER + len)?;
    (crc32fast::hash(body) == word(8)).then_some(body)
}

/// Cuts a torn tail off, so the next append starts on a frame boundary.
pub fn truncate(path: &Path, len: u64) -> Result<()> {
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| CipError::io(format!("open {}", path.display()), e))?;
    f.set_len(len)
        .and_then(|_| f.sync_all())
        .map_err(|e| CipError::io(format!("truncate {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn batch(n: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![n])),
                Arc::new(StringArray::from(vec![format!("row {n}")])),
            ],
        )
        .expect("batch")
    }

    #[test]
    fn torn_tail_is_dropped_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("wal.log");
        let schema = batch(0).schema();
        append(&p, &encode_frame(&batch(1)).expect("frame")).expect("append");
        let full = encode_frame(&batch(2)).expect("frame");
        append(&p, &full[..full.len() - 3]).expect("append torn");
        let r = read_from(&p, 0, &schema).expect("read");
        assert_eq!(r.batches.len(), 1);
        assert!(r.torn);
        truncate(&p, r.end).expect("truncate");
        append(&p, &encode_frame(&batch(3)).expect("frame")).expect("append");
        let r = read_from(&p, 0, &schema).expect("read");
        assert_eq!(r.batches.len(), 2);
        assert!(!r.torn);
    }
}
