//! Streaming output of the generator: column builders per table, flushed into Parquet parts
//! every `BATCH` rows, so memory stays flat whatever the member count.

use crate::error::Result;
use crate::storage::manifest::{self, DataFile, Manifest};
use crate::storage::parquet_io::PartWriter;
use crate::storage::TableDef;
use crate::warehouse::tables::table_def;
use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Decimal128Builder, Float64Builder, Int32Builder,
    Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const BATCH: usize = 64 * 1024;
const PART_ROWS: u64 = 16 << 20;

/// One column being built.
pub enum Col {
    Text(StringBuilder),
    Ts(TimestampMicrosecondBuilder),
    Money(Decimal128Builder),
    I64(Int64Builder),
    I32(Int32Builder),
    F64(Float64Builder),
    Bool(BooleanBuilder),
}

impl Col {
    fn finish(&mut self) -> ArrayRef {
        match self {
            Col::Text(b) => Arc::new(b.finish()),
            Col::Ts(b) => Arc::new(b.finish()),
            Col::Money(b) => Arc::new(b.finish()),
            Col::I64(b) => Arc::new(b.finish()),
            Col::I32(b) => Arc::new(b.finish()),
            Col::F64(b) => Arc::new(b.finish()),
            Col::Bool(b) => Arc::new(b.finish()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Col::Text(b) => b.len(),
            Col::Ts(b) => b.len(),
            Col::Money(b) => b.len(),
            Col::I64(b) => b.len(),
            Col::I32(b) => b.len(),
            Col::F64(b) => b.len(),
            Col::Bool(b) => b.len(),
        }
    }
}

/// A table being written: builders for the current batch and the part being filled.
pub struct TableOut {
    pub def: TableDef,
    dir: PathBuf,
    pub cols: Vec<Col>,
    part: Option<PartWriter>,
    files: Vec<DataFile>,
    next_file: u64,
    pub rows: u64,
}

impl TableOut {
    pub fn new(root: &Path, name: &str) -> Result<Self> {
        let def = table_def(name).ok_or_else(|| {
            crate::error::CipError::Corrupt(format!("generator: no table {name}"))
        })?;
        let dir = root.join(name);
        std::fs::create_dir_all(&dir)
            .map_err(|e| crate::error::CipError::io(format!("create {}", dir.display()), e))?;
        let cols = def
            .schema
            .fields()
            .iter()
            .map(|f| {
                use datafusion::arrow::datatypes::DataType::*;
                match f.data_type() {
                    Timestamp(..) => Col::Ts(TimestampMicrosecondBuilder::new()),
                    Decimal128(p, s) => Col::Money(
                        Decimal128Builder::new()
                            .with_precision_and_scale(*p, *s)
                            .expect("valid decimal"),
                    ),
                    Int64 => Col::I64(Int64Builder::new()),
                    Int32 => Col::I32(Int32Builder::new()),
                    Float64 => Col::F64(Float64Builder::new()),
                    Boolean => Col::Bool(BooleanBuilder::new()),
                    _ => Col::Text(StringBuilder::new()),
                }
            })
            .collect();
        Ok(TableOut {
            def,
            dir,
            cols,
            part: None,
            files: vec![],
            next_file: 1,
            rows: 0,
        })
    }

    pub fn text(&mut self, i: usize, v: Option<&str>) {
        if let Col::Text(b) = &mut self.cols[i] {
            b.append_option(v);
        }
    }
    pub fn ts(&mut self, i: usize, v: Option<i64>) {
        if let Col::Ts(b) = &mut self.cols[i] {
            b.append_option(v);
        }
    }
    /// Money in cents.
    pub fn money(&mut self, i: usize, cents: Option<i64>) {
        if let Col::Money(b) = &mut self.cols[i] {
            b.append_option(cents.map(i128::from));
        }
    }
    pub fn i64(&mut self, i: usize, v: Option<i64>) {
        if let Col::I64(b) = &mut self.cols[i] {
            b.append_option(v);
        }
    }
    pub fn i32(&mut self, i: usize, v: Option<i32>) {
        if let Col::I32(b) = &mut self.cols[i] {
            b.append_option(v);
        }
    }
    pub fn f64(&mut self, i: usize, v: Option<f64>) {
        if let Col::F64(b) = &mut self.cols[i] {
            b.append_option(v);
        }
    }
    pub fn bool(&mut self, i: usize, v: Option<bool>) {
        if let Col::Bool(b) = &mut self.cols[i] {
            b.append_option(v);
        }
    }

    /// Ends a row; writes the batch out when it is full.
    pub fn end_row(&mut self) -> Result<()> {
        self.rows += 1;
        if self.cols[0].len() >= BATCH {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> Result<()> {
        if self.cols[0].len() == 0 {
            return Ok(());
        }
        let columns: Vec<ArrayRef> = self.cols.iter_mut().map(|c| c.finish()).collect();
        let batch = RecordBatch::try_new(self.def.schema.clone(), columns)?;
        if self.part.is_none() {
            let name = manifest::part_name(self.next_file);
            self.next_file += 1;
            self.part = Some(PartWriter::create(
                &self.dir,
                &name,
                &self.def.schema,
                self.def.layout,
            )?);
        }
        if let Some(p) = self.part.as_mut() {
            p.write(&batch)?;
            if p.rows() >= PART_ROWS {
                self.close_part()?;
            }
        }
        Ok(())
    }

    fn close_part(&mut self) -> Result<()> {
        if let Some(p) = self.part.take() {
            self.files.push(p.finish()?);
        }
        Ok(())
    }

    /// Finishes the table and commits its manifest.
    pub fn finish(mut self, next_id: i64) -> Result<u64> {
        self.flush_batch()?;
        self.close_part()?;
        let mut m = Manifest::empty();
        m.files = std::mem::take(&mut self.files);
        m.next_file = self.next_file + 1;
        m.wal = manifest::wal_name(self.next_file);
        m.next_id = next_id;
        manifest::write(&self.dir, &m)?;
        Ok(self.rows)
    }
}
