//! Reading and writing a table's Parquet part files.
//!
//! Part files are plain Parquet with the table's Arrow schema, so DuckDB, pyarrow and polars
//! open them as they are. A part is written to a temp name, fsync'd, then renamed into place;
//! only a manifest commit makes it part of the table.

use super::def::Layout;
use super::fsutil::publish;
use super::manifest::DataFile;
use crate::error::{CipError, Result};
use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use std::fs::File;
use std::path::{Path, PathBuf};

pub const ROW_GROUP_ROWS: usize = 1 << 20;
/// Rows per data page (at most; a page also ends at 1 MiB). A reader that selects rows by
/// the page index (min/max per page) decodes only the pages that may hold them: for a part
/// sorted by its key, a lookup of one key decodes one page of each column instead of up to
/// the default 20,000 rows.
const PAGE_ROWS: usize = 2048;
/// Rows per data page of a table laid out for point reads: a lookup decompresses and decodes
/// a page of each column to return one row of it.
const POINT_READ_PAGE_ROWS: usize = 256;
/// Rows per row group of a table laid out for point reads. The reader walks the page index
/// of every column of the row groups it reads (in a million-row group of 256-row pages,
/// ~3,800 pages per column: 16% of a lookup's time, measured), and picks the row groups by
/// their statistics first: smaller groups keep that walk short.
const POINT_READ_GROUP_ROWS: usize = 16 * 1024;
/// The most a column chunk's dictionary may hold before the writer falls back to plain
/// values (parquet's default is 1 MiB). A reader needs the dictionary page whatever page it
/// selects: at the default, a lookup of one row in a million-row part of figures (one
/// distinct double per row) decompressed ~12 MB of dictionaries. Columns of few distinct
/// values (a store, a segment, a category) still fit.
const DICTIONARY_BYTES: usize = 16 * 1024;

fn props(layout: Layout) -> WriterProperties {
    let props = WriterProperties::builder().set_compression(Compression::SNAPPY);
    match layout {
        Layout::Scans => props
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_data_page_row_count_limit(PAGE_ROWS)
            .set_dictionary_page_size_limit(DICTIONARY_BYTES),
        // The writer checks a page's row count once per write batch (1,024 rows by default).
        // No dictionaries: a reader reads a column's dictionary page with any page of it.
        Layout::PointReads => props
            .set_max_row_group_row_count(Some(POINT_READ_GROUP_ROWS))
            .set_data_page_row_count_limit(POINT_READ_PAGE_ROWS)
            .set_write_batch_size(POINT_READ_PAGE_ROWS)
            .set_dictionary_enabled(false),
    }
    .build()
}

/// Streams batches into one part file. Dropping it without `finish` leaves only a temp file,
/// which the next open of the table removes.
pub struct PartWriter {
    tmp: PathBuf,
    path: PathBuf,
    writer: ArrowWriter<File>,
    rows: u64,
}

impl PartWriter {
    pub fn create(dir: &Path, name: &str, schema: &SchemaRef, layout: Layout) -> Result<Self> {
        let path = dir.join(name);
        let tmp = dir.join(format!("{name}.tmp"));
        let file =
            File::create(&tmp).map_err(|e| CipError::io(format!("create {}", tmp.display()), e))?;
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props(layout)))?;
        Ok(PartWriter {
            tmp,
            path,
            writer,
            rows: 0,
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() > 0 {
            self.writer.write(batch)?;
            self.rows += batch.num_rows() as u64;
        }
        Ok(())
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Abandons the file: its temp file is removed.
    pub fn discard(self) {
        drop(self.writer);
        let _ = std::fs::remove_file(&self.tmp);
    }

    /// `finish`, under another name in the same folder.
    pub fn finish_as(mut self, name: &str) -> Result<DataFile> {
        self.path = self.path.with_file_name(name);
        self.finish()
    }

    /// Closes, fsyncs and renames the file into place.
    pub fn finish(self) -> Result<DataFile> {
        let file = self.writer.into_inner()?;
        file.sync_all()
            .map_err(|e| CipError::io(format!("fsync {}", self.tmp.display()), e))?;
        let bytes = file
            .metadata()
            .map_err(|e| CipError::io(format!("stat {}", self.tmp.display()), e))?
            .len();
        drop(file);
        publish(&self.tmp, &self.path)?;
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(DataFile {
            name,
            rows: self.rows,
            bytes,
        })
    }
}

/// Writes `batches` as one part file.
pub fn write_part(
    dir: &Path,
    name: &str,
    schema: &SchemaRef,
    layout: Layout,
    batches: &[RecordBatch],
) -> Result<DataFile> {
    let mut w = PartWriter::create(dir, name, schema, layout)?;
    for b in batches {
        w.write(b)?;
    }
    w.finish()
}

/// Reads a whole part file, batch by batch, stamped with the table's schema (widened, see
/// widen.rs).
pub fn read_part(
    path: &Path,
    schema: &SchemaRef,
) -> Result<impl Iterator<Item = Result<RecordBatch>>> {
    let file = File::open(path).map_err(|e| CipError::io(format!("open {}", path.display()), e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)?
        .with_batch_size(64 * 1024)
        .build()?;
    let schema = schema.clone();
    // A part written before the table gained columns is read at the table's width.
    Ok(reader.map(move |b| super::widen::widen(b?, &schema)))
}

/// The least and the greatest value of `column` in each row group of the part at `path`,
/// from its footer alone (NULL where a group keeps none); None when the part has no such
/// column (written before the table gained it) or its statistics are not of a kind Arrow
/// reads.
pub fn column_bounds(path: &Path, column: &str) -> Result<Option<(ArrayRef, ArrayRef)>> {
    let file = File::open(path).map_err(|e| CipError::io(format!("open {}", path.display()), e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
    let Ok(converter) =
        StatisticsConverter::try_new(column, builder.schema(), builder.parquet_schema())
    else {
        return Ok(None);
    };
    let groups = builder.metadata().row_groups();
    Ok(Some((
        converter.row_group_mins(groups.iter())?,
        converter.row_group_maxes(groups.iter())?,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::parquet::arrow::arrow_reader::ArrowReaderOptions;
    use datafusion::parquet::file::metadata::PageIndexPolicy;
    use std::sync::Arc;

    #[test]
    fn a_part_has_pages_small_enough_to_read_one_key() {
        for (layout, page_rows) in [
            (Layout::Scans, PAGE_ROWS),
            (Layout::PointReads, POINT_READ_PAGE_ROWS),
        ] {
            pages_of(layout, page_rows);
        }
    }

    fn pages_of(layout: Layout, page_rows: usize) {
        let dir = tempfile::tempdir().unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, false),
            Field::new("v", DataType::Int64, false),
        ]));
        let n = 10_000;
        let keys: Vec<String> = (0..n).map(|i| format!("M{i:08}")).collect();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(keys)),
                Arc::new(Int64Array::from_iter_values(0..n as i64)),
            ],
        )
        .unwrap();
        write_part(dir.path(), "p.parquet", &schema, layout, &[batch]).unwrap();
        let file = File::open(dir.path().join("p.parquet")).unwrap();
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
        let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options).unwrap();
        let offsets = reader.metadata().offset_index().expect("an offset index");
        // Every column of the row group is cut into pages of about page_rows rows (a
        // dictionary's fallback ends a page late).
        for column in &offsets[0] {
            let pages = column.page_locations();
            assert!(
                pages.len() >= n / page_rows,
                "{layout:?}: {} pages",
                pages.len()
            );
            let firsts: Vec<i64> = pages.iter().map(|p| p.first_row_index).collect();
            let widest = firsts
                .windows(2)
                .map(|w| w[1] - w[0])
                .chain([n as i64 - firsts[firsts.len() - 1]])
                .max()
                .unwrap_or(0);
            assert!(
                widest <= 2 * page_rows as i64,
                "{layout:?}: a page of {widest} rows"
            );
        }
        // And the dictionary page every such read needs stays small for all-distinct keys;
        // parts laid out for point reads have none.
        for column in reader.metadata().row_group(0).columns() {
            if let Some(dictionary) = column.dictionary_page_offset() {
                assert_eq!(layout, Layout::Scans, "a dictionary in a point-read part");
                let bytes = column.data_page_offset() - dictionary;
                assert!(
                    bytes <= DICTIONARY_BYTES as i64 + 64,
                    "a {bytes}-byte dictionary"
                );
            }
        }
    }
}
