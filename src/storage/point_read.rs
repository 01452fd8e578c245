//! Reading the rows of one key without planning a scan: the parts whose statistics may hold
//! it, and in each the pages of its row groups whose page statistics may hold it, read with
//! positioned reads on the calling thread. A lookup by key over a table laid out for point
//! reads is then a few small reads; planning and running a DataFusion scan of the same page
//! cost most of a lookup's time (stop 70: EXPLAIN alone ran at 881/s, the lookups at 650/s).
//!
//! Each part's page index is kept once read (a part never changes under its name): the
//! offset index, to read only the selected pages, and the key column's page minima and
//! maxima. The column index of the other columns is dropped.

use super::part_cache::PartCache;
use super::part_pruning::Pruning;
use super::pin::Pin;
use super::table::Table;
use crate::error::{CipError, Result};
use bytes::Bytes;
use datafusion::arrow::array::{new_null_array, Array, ArrayRef, BooleanArray, Datum, Scalar};
use datafusion::arrow::compute::kernels::cmp::{eq, gt_eq, lt_eq};
use datafusion::arrow::compute::CastOptions;
use datafusion::arrow::compute::{and, cast_with_options, concat_batches, filter_record_batch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use datafusion::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
    RowSelector,
};
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataBuilder};
use datafusion::parquet::file::reader::{ChunkReader, Length};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

/// Each part's page index for its key column, read once.
pub(super) type PartIndexes = PartCache<PartIndex>;

#[derive(Debug)]
pub(super) struct PartIndex {
    meta: ArrowReaderMetadata,
    /// Per row group, the key column's pages: minima, maxima and row counts. None when the
    /// part has no page index (then the whole row group is read).
    groups: Vec<Option<Pages>>,
    /// Per row group, the key column's minimum and maximum (None: unknown, read it).
    ranges: Vec<Option<(ArrayRef, ArrayRef)>>,
}

#[derive(Debug)]
struct Pages {
    mins: ArrayRef,
    maxes: ArrayRef,
    rows: Vec<u64>,
}

/// A part read by positioned reads: one syscall per page, no file offset shared between
/// readers, no copy of the file handle per read.
struct PartFile {
    file: File,
    len: u64,
}

impl Length for PartFile {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for PartFile {
    type T = std::io::Cursor<Bytes>;

    fn get_read(&self, start: u64) -> datafusion::parquet::errors::Result<Self::T> {
        let length = self.len.saturating_sub(start) as usize;
        Ok(std::io::Cursor::new(self.get_bytes(start, length)?))
    }

    fn get_bytes(&self, start: u64, length: usize) -> datafusion::parquet::errors::Result<Bytes> {
        let mut buffer = vec![0; length];
        self.file.read_exact_at(&mut buffer, start)?;
        Ok(Bytes::from(buffer))
    }
}

impl PartFile {
    fn open(path: &Path) -> Result<Self> {
        let file =
            File::open(path).map_err(|e| CipError::io(format!("open {}", path.display()), e))?;
        let len = (file.metadata())
            .map_err(|e| CipError::io(format!("stat {}", path.display()), e))?
            .len();
        Ok(PartFile { file, len })
    }
}

impl Table {
    /// The rows whose column `key` (an index into the table's schema) equals `value` (of
    /// that column's type), in the table's columns `projection`, as committed now: the
    /// parts, then the log. Reads files: call off the statement threads.
    pub fn read_key(
        self: &Arc<Self>,
        key: usize,
        value: &ScalarValue,
        projection: &[usize],
    ) -> Result<RecordBatch> {
        let schema = self.def.schema.clone();
        let out = Arc::new(schema.project(projection)?);
        if value.is_null() {
            return Ok(RecordBatch::new_empty(out));
        }
        let (snap, pin) = self.pinned_snapshot()?;
        let wanted = want_with_key(projection, key);
        let probe = Scalar::new(value.to_array()?);
        let mut found = Vec::new();
        // The parts whose footer statistics may hold the key, as a scan's pruning picks them.
        let parts = self.part_paths(&snap);
        self.point_index.forget_all_but(&parts);
        let pruning = Pruning::key_equals(&schema, key, value);
        for path in self.part_stats.prune(pruning.as_ref(), parts) {
            let index = self
                .point_index
                .get_or(&path, || PartIndex::load(&path, &schema, key))?;
            if let Some(rows) = index.read(&path, &schema, &wanted, &probe)? {
                found.push(matching(rows, &probe)?);
            }
        }
        for batch in snap.wal_batches.iter() {
            let batch = super::widen::widen(batch.clone(), &schema)?;
            found.push(matching(batch.project(&wanted)?, &probe)?);
        }
        drop::<Pin>(pin);
        let wanted_schema = Arc::new(schema.project(&wanted)?);
        let rows = concat_batches(&wanted_schema, &found)?;
        // The key column was read to match on; the caller's columns are the first ones.
        Ok(RecordBatch::try_new(
            out,
            rows.columns()[..projection.len()].to_vec(),
        )?)
    }
}

/// `projection` and then `key`, last whatever `projection` names: the rows are matched on it.
fn want_with_key(projection: &[usize], key: usize) -> Vec<usize> {
    let mut wanted = projection.to_vec();
    wanted.push(key);
    wanted
}

/// The rows of `batch` (the table's columns `wanted`, the key last) whose key equals
/// `probe`.
fn matching(batch: RecordBatch, probe: &Scalar<ArrayRef>) -> Result<RecordBatch> {
    let mask = eq(batch.column(batch.num_columns() - 1), probe)?;
    Ok(filter_record_batch(&batch, &mask)?)
}

fn corrupt(path: &Path, e: impl std::fmt::Display) -> CipError {
    CipError::Corrupt(format!("read the page index of {}: {e}", path.display()))
}

impl PartIndex {
    fn load(path: &Path, schema: &SchemaRef, key: usize) -> Result<Self> {
        let file = PartFile::open(path)?;
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
        let meta = ArrowReaderMetadata::load(&file, options).map_err(|e| corrupt(path, e))?;
        let name = schema.field(key).name();
        let parquet = meta.metadata();
        let converter = StatisticsConverter::try_new(name, meta.schema(), meta.parquet_schema())
            .map_err(|e| corrupt(path, e))?;
        let row_groups = parquet.row_groups();
        let mut groups = Vec::with_capacity(row_groups.len());
        let mut ranges = Vec::with_capacity(row_groups.len());
        for (i, group) in row_groups.iter().enumerate() {
            let mins = converter.row_group_mins([group]).ok();
            let maxes = converter.row_group_maxes([group]).ok();
            ranges.push(mins.zip(maxes));
            let pages = match (parquet.column_index(), parquet.offset_index()) {
                (Some(columns), Some(offsets)) => {
                    let mins = converter.data_page_mins(columns, offsets, [&i]).ok();
                    let maxes = converter.data_page_maxes(columns, offsets, [&i]).ok();
                    let rows = converter
                        .data_page_row_counts(offsets, row_groups, [&i])
                        .ok()
                        .flatten();
                    match (mins, maxes, rows) {
                        (Some(mins), Some(maxes), Some(rows)) if rows.null_count() == 0 => {
                            Some(Pages {
                                mins,
                                maxes,
                                rows: rows.values().to_vec(),
                            })
                        }
                        _ => None,
                    }
                }
                _ => None,
            };
            groups.push(pages);
        }
        // The other columns' minima and maxima are not needed again: only the offset index
        // (where each page is) stays.
        let kept = ParquetMetaDataBuilder::new_from_metadata(parquet.as_ref().clone())
            .set_column_index(None)
            .build();
        let meta = ArrowReaderMetadata::try_new(Arc::new(kept), ArrowReaderOptions::new())
            .map_err(|e| corrupt(path, e))?;
        Ok(PartIndex {
            meta,
            groups,
            ranges,
        })
    }

    /// The rows of the pages that may hold `probe`, in the table's columns `wanted`; None
    /// when no row group may.
    fn read(
        &self,
        path: &Path,
        schema: &SchemaRef,
        wanted: &[usize],
        probe: &Scalar<ArrayRef>,
    ) -> Result<Option<RecordBatch>> {
        let mut row_groups = Vec::new();
        let mut selectors = Vec::new();
        for (i, (range, pages)) in self.ranges.iter().zip(&self.groups).enumerate() {
            if let Some((min, max)) = range {
                if !any(&within(min, max, probe)?) {
                    continue;
                }
            }
            let group_rows = self.meta.metadata().row_group(i).num_rows() as usize;
            let Some(pages) = pages else {
                row_groups.push(i);
                selectors.push(RowSelector::select(group_rows));
                continue;
            };
            let hits = within(&pages.mins, &pages.maxes, probe)?;
            if !any(&hits) {
                continue;
            }
            row_groups.push(i);
            for (page, &rows) in pages.rows.iter().enumerate() {
                let rows = rows as usize;
                selectors.push(if hits.value(page) && !hits.is_null(page) {
                    RowSelector::select(rows)
                } else {
                    RowSelector::skip(rows)
                });
            }
        }
        if row_groups.is_empty() {
            return Ok(None);
        }
        let file_schema = self.meta.schema().clone();
        let width = file_schema.fields().len();
        // The reader returns a part's columns in its order, each once.
        let mut present: Vec<usize> = wanted.iter().copied().filter(|&c| c < width).collect();
        present.sort_unstable();
        present.dedup();
        let mask = ProjectionMask::roots(self.meta.parquet_schema(), present.iter().copied());
        let file = PartFile::open(path)?;
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.meta.clone())
            .with_row_groups(row_groups)
            .with_row_selection(RowSelection::from(selectors))
            .with_projection(mask)
            .build()
            .map_err(|e| corrupt(path, e))?;
        let mut batches = Vec::new();
        for batch in reader {
            batches.push(batch?);
        }
        let read_schema = Arc::new(file_schema.project(&present)?);
        let rows = concat_batches(&read_schema, &batches)?;
        Ok(Some(at_table_width(rows, &present, schema, wanted)?))
    }
}

/// Which entries of `mins`/`maxes` bound `probe`. A part that stores the key in another
/// type than the table's (written before a change of type) is compared in its type; one
/// the probe cannot be cast to is read whole.
fn within(mins: &ArrayRef, maxes: &ArrayRef, probe: &Scalar<ArrayRef>) -> Result<BooleanArray> {
    let (probe_array, _) = probe.get();
    if probe_array.data_type() != mins.data_type() {
        return Ok(
            match cast_with_options(probe_array, mins.data_type(), &CastOptions::default()) {
                Ok(cast) if cast.is_valid(0) => within(mins, maxes, &Scalar::new(cast))?,
                _ => BooleanArray::from(vec![true; mins.len()]),
            },
        );
    }
    Ok(and(&lt_eq(mins, probe)?, &gt_eq(maxes, probe)?)?)
}

fn any(mask: &BooleanArray) -> bool {
    mask.true_count() > 0
}

/// `rows` (a part's columns `present`) as the table's columns `wanted`: a column the part
/// predates is NULL, an older type is cast to the table's (as widen.rs reads whole parts).
fn at_table_width(
    rows: RecordBatch,
    present: &[usize],
    schema: &SchemaRef,
    wanted: &[usize],
) -> Result<RecordBatch> {
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    let columns = wanted
        .iter()
        .map(|&c| {
            let field = schema.field(c);
            match present.iter().position(|&p| p == c) {
                Some(i) if rows.column(i).data_type() == field.data_type() => {
                    Ok(Arc::clone(rows.column(i)))
                }
                Some(i) => Ok(cast_with_options(
                    rows.column(i),
                    field.data_type(),
                    &strict,
                )?),
                None => Ok(new_null_array(field.data_type(), rows.num_rows())),
            }
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    Ok(RecordBatch::try_new(
        Arc::new(schema.project(wanted)?),
        columns,
    )?)
}
