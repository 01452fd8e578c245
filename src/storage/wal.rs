//! The write-ahead log in front of a table's Parquet files.
//!
//! Each append is one frame: `MAGIC | len | crc32 | Arrow IPC stream bytes`. A frame is
//! fsync'd before the append is acknowledged, so a crash after "INSERT 0 n" loses nothing;
//! a torn frame at the tail (a crash mid-write) fails its length or checksum and is dropped
//! whole, so a batch is either all there or not at all.
//!
//! A one-row members frame was 2.3 KB: the stream's schema message (the table's schema every
//! time) and buffers padded to 64 bytes. A `BARE` frame leaves the schema out — the reader
//! puts the table's back — and pads to 8 bytes. Frames whose batch schema differs keep theirs (`MAGIC`), and
//! logs written before bare frames existed read as they are.

use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::{IpcWriteOptions, StreamWriter};
use datafusion::arrow::ipc::MetadataVersion;
use datafusion::arrow::record_batch::RecordBatch;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

const MAGIC: u32 = 0x4349_5057; // "CIPW"
const BARE: u32 = 0x4349_5058; // "CIPX": the stream without its schema message
const HEADER: usize = 12;
/// An IPC stream's end-of-stream marker (continuation and a zero length).
const EOS: usize = 8;

/// IPC's default pads every buffer to 64 bytes: most of a one-row frame. 8 is what the format
/// requires, and what readers accept.
fn options() -> Result<IpcWriteOptions> {
    Ok(IpcWriteOptions::try_new(8, false, MetadataVersion::V5)?)
}

fn writer<W: Write>(out: W, schema: &SchemaRef) -> Result<StreamWriter<W>> {
    Ok(StreamWriter::try_new_with_options(out, schema, options()?)?)
}

/// The schema message an IPC stream of `schema` starts with.
fn schema_message(schema: &SchemaRef) -> Result<Vec<u8>> {
    let mut empty = Vec::new();
    writer(&mut empty, schema)?.finish()?;
    empty.truncate(empty.len().saturating_sub(EOS));
    Ok(empty)
}

/// Encodes one batch of a table of `schema` as a frame: bare when the batch has exactly the
/// table's schema (the reader supplies it), whole otherwise.
pub fn encode_frame(batch: &RecordBatch, schema: &SchemaRef) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    {
        let mut w = writer(&mut body, &batch.schema())?;
        w.write(batch)?;
        w.finish()?;
    }
    let prefix = schema_message(schema)?;
    let same = batch.schema() == *schema;
    let magic = match body.strip_prefix(prefix.as_slice()) {
        Some(rest) if same && !prefix.is_empty() => {
            body = rest.to_vec();
            BARE
        }
        _ => MAGIC,
    };
    let len = u32::try_from(body.len()).map_err(|_| {
        CipError::invalid(
            sqlstate::PROGRAM_LIMIT_EXCEEDED,
            "a single insert is larger than 4 GiB",
        )
    })?;
    let mut frame = Vec::with_capacity(HEADER + body.len());
    frame.extend_from_slice(&magic.to_le_bytes());
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
    let prefix = schema_message(schema)?;
    while pos < buf.len() {
        let Some((bare, body)) = frame_at(&buf, pos) else {
            torn = true;
            break;
        };
        let whole;
        let stream: &[u8] = if bare {
            whole = [prefix.as_slice(), body].concat();
            &whole
        } else {
            body
        };
        let decoded = match decode(stream) {
            // A bare frame logged before the table gained columns decodes only with the
            // schema it was written with: one of the table's narrower prefixes.
            Err(_) if bare => narrower_decode(body, schema),
            other => other,
        }
        .map_err(|e| CipError::Corrupt(format!("{}: a logged batch: {e}", path.display())))?;
        for b in decoded {
            batches.push(super::widen::widen(b, schema)?);
        }
        pos += HEADER + body.len();
    }
    Ok(WalRead {
        batches,
        end: offset + pos as u64,
        torn,
    })
}

fn decode(stream: &[u8]) -> Result<Vec<RecordBatch>> {
    let reader = StreamReader::try_new(stream, None)?;
    Ok(reader.collect::<std::result::Result<Vec<_>, _>>()?)
}

/// A bare frame's batches under the first narrower schema of the table that decodes it.
fn narrower_decode(body: &[u8], schema: &SchemaRef) -> Result<Vec<RecordBatch>> {
    for narrow in super::widen::narrower(schema) {
        let stream = [schema_message(&narrow)?.as_slice(), body].concat();
        if let Ok(batches) = decode(&stream) {
            return Ok(batches);
        }
    }
    Err(CipError::Corrupt(
        "the batch fits neither the table's schema nor an earlier width of it".into(),
    ))
}

/// The frame at `pos`: whether it is bare, and its body; None for a torn or foreign tail.
fn frame_at(buf: &[u8], pos: usize) -> Option<(bool, &[u8])> {
    let header = buf.get(pos..pos + HEADER)?;
    let word =
        |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    let bare = match word(0) {
        MAGIC => false,
        BARE => true,
        _ => return None,
    };
    let len = word(4) as usize;
    let body = buf.get(pos + HEADER..pos + HEADER + len)?;
    (crc32fast::hash(body) == word(8)).then_some((bare, body))
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
    fn frames_leave_the_schema_out_and_old_frames_still_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("wal.log");
        let b = batch(7);
        let bare = encode_frame(&b, &b.schema()).expect("frame");
        assert_eq!(&bare[..4], &BARE.to_le_bytes());
        // A frame as logs before bare frames were written: the whole stream.
        let mut stream = Vec::new();
        {
            let mut w = StreamWriter::try_new(&mut stream, &b.schema()).expect("writer");
            w.write(&b).expect("write");
            w.finish().expect("finish");
        }
        assert!(
            bare.len() + 100 < HEADER + stream.len(),
            "the schema is left out"
        );
        let mut old = Vec::new();
        old.extend_from_slice(&MAGIC.to_le_bytes());
        old.extend_from_slice(&(stream.len() as u32).to_le_bytes());
        old.extend_from_slice(&crc32fast::hash(&stream).to_le_bytes());
        old.extend_from_slice(&stream);
        append(&p, &old).expect("append old");
        append(&p, &bare).expect("append bare");
        let r = read_from(&p, 0, &b.schema()).expect("read");
        assert_eq!(r.batches, vec![b.clone(), b]);
        assert!(!r.torn);
    }

    #[test]
    fn torn_tail_is_dropped_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("wal.log");
        let schema = batch(0).schema();
        append(&p, &encode_frame(&batch(1), &schema).expect("frame")).expect("append");
        let full = encode_frame(&batch(2), &schema).expect("frame");
        append(&p, &full[..full.len() - 3]).expect("append torn");
        let r = read_from(&p, 0, &schema).expect("read");
        assert_eq!(r.batches.len(), 1);
        assert!(r.torn);
        truncate(&p, r.end).expect("truncate");
        append(&p, &encode_frame(&batch(3), &schema).expect("frame")).expect("append");
        let r = read_from(&p, 0, &schema).expect("read");
        assert_eq!(r.batches.len(), 2);
        assert!(!r.torn);
    }
}
