//! pg_locks: the advisory locks each session holds or waits for (advisory_locks.rs), as
//! PostgreSQL lists them — a bigint key split into classid (high half) and objid (low half)
//! with objsubid 1, a pair of integers as classid and objid with objsubid 2, each as an
//! unsigned 32-bit number. pgAdmin's and DBeaver's lock views, and applications checking
//! who holds a job's lock, read it. Advisory locks are the only locks a cip session can wait
//! on (a write waits for no row or table lock), so they are the only rows.

use super::activity::Backends;
use super::advisory_locks::{Key, Mode, Shown};
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Int16Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::common::Result;
use datafusion::datasource::MemTable;
use std::sync::Arc;

/// PostgreSQL 15's columns of pg_locks, in its order (classid and objid wide enough for an
/// OID's unsigned range).
fn schema() -> SchemaRef {
    let zoned = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let fields = [
        ("locktype", DataType::Utf8),
        ("database", DataType::Int32),
        ("relation", DataType::Int32),
        ("page", DataType::Int32),
        ("tuple", DataType::Int16),
        ("virtualxid", DataType::Utf8),
        ("transactionid", DataType::Utf8),
        ("classid", DataType::Int64),
        ("objid", DataType::Int64),
        ("objsubid", DataType::Int16),
        ("virtualtransaction", DataType::Utf8),
        ("pid", DataType::Int32),
        ("mode", DataType::Utf8),
        ("granted", DataType::Boolean),
        ("fastpath", DataType::Boolean),
        ("waitstart", zoned),
    ];
    Arc::new(Schema::new(
        fields
            .into_iter()
            .map(|(name, t)| Field::new(name, t, true))
            .collect::<Vec<_>>(),
    ))
}

/// (classid, objid, objsubid) of a key, as PostgreSQL shows them.
fn parts(key: Key) -> (i64, i64, i16) {
    match key {
        Key::One(k) => (i64::from((k >> 32) as u32), i64::from(k as u32), 1),
        Key::Two(a, b) => (i64::from(a as u32), i64::from(b as u32), 2),
    }
}

fn mode(mode: Mode) -> &'static str {
    match mode {
        Mode::Exclusive => "ExclusiveLock",
        Mode::Shared => "ShareLock",
    }
}

/// The rows now: each live session's locks.
fn relation(backends: &Backends, database: i32) -> Result<MemTable> {
    let rows: Vec<(i32, Shown)> = backends
        .live()
        .iter()
        .flat_map(|b| {
            let pid = b.pid();
            b.locks().into_iter().map(move |l| (pid, l))
        })
        .collect();
    let n = rows.len();
    let nulls_i32 = || Arc::new(Int32Array::from(vec![None::<i32>; n])) as ArrayRef;
    let nulls_text = || Arc::new(StringArray::from(vec![None::<&str>; n])) as ArrayRef;
    let split: Vec<(i64, i64, i16)> = rows.iter().map(|(_, l)| parts(l.key)).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec!["advisory"; n])),
        Arc::new(Int32Array::from(vec![database; n])),
        nulls_i32(),
        nulls_i32(),
        Arc::new(Int16Array::from(vec![None::<i16>; n])),
        nulls_text(),
        nulls_text(),
        Arc::new(split.iter().map(|p| Some(p.0)).collect::<Int64Array>()),
        Arc::new(split.iter().map(|p| Some(p.1)).collect::<Int64Array>()),
        Arc::new(split.iter().map(|p| Some(p.2)).collect::<Int16Array>()),
        nulls_text(),
        Arc::new(
            rows.iter()
                .map(|(pid, _)| Some(*pid))
                .collect::<Int32Array>(),
        ),
        Arc::new(
            rows.iter()
                .map(|(_, l)| Some(mode(l.mode)))
                .collect::<StringArray>(),
        ),
        Arc::new(
            rows.iter()
                .map(|(_, l)| Some(l.granted))
                .collect::<BooleanArray>(),
        ),
        Arc::new(BooleanArray::from(vec![false; n])),
        Arc::new(TimestampMicrosecondArray::from(vec![None::<i64>; n]).with_timezone("UTC")),
    ];
    let batch = RecordBatch::try_new(schema(), columns)?;
    MemTable::try_new(schema(), vec![vec![batch]])
}

/// pg_locks, read when a statement scans it; `database` is the database's OID.
pub fn view(backends: Arc<Backends>, database: i32) -> super::live_view::LiveView {
    super::live_view::LiveView::new("pg_locks", schema(), move |_| relation(&backends, database))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_as_postgresql_shows_them() {
        // PostgreSQL 15: pg_advisory_lock(-1), (4294967298), (-5, 7).
        assert_eq!(parts(Key::One(-1)), (4294967295, 4294967295, 1));
        assert_eq!(parts(Key::One(4294967298)), (1, 2, 1));
        assert_eq!(parts(Key::Two(-5, 7)), (4294967291, 7, 2));
    }
}
