//! The side file of `cip generate`: each member's generating archetype, so tests can score
//! the segmentation against the truth. Written beside the tables, not as a table.

use super::out;
use crate::error::Result;
use crate::storage::parquet_io::PartWriter;
use crate::storage::Layout;
use datafusion::arrow::array::{RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use std::path::Path;
use std::sync::Arc;

/// The side file of generating archetypes.
pub struct Truth {
    writer: PartWriter,
    ids: StringBuilder,
    kinds: StringBuilder,
    schema: Arc<Schema>,
    n: usize,
}

impl Truth {
    pub fn new(root: &Path) -> Result<Self> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("member_id", DataType::Utf8, false),
            Field::new("archetype", DataType::Utf8, false),
        ]));
        Ok(Truth {
            writer: PartWriter::create(root, "archetypes.parquet", &schema, Layout::Scans)?,
            ids: StringBuilder::new(),
            kinds: StringBuilder::new(),
            schema,
            n: 0,
        })
    }

    pub fn push(&mut self, id: &str, kind: &str) -> Result<()> {
        self.ids.append_value(id);
        self.kinds.append_value(kind);
        self.n += 1;
        if self.n >= out::BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.n > 0 {
            let b = RecordBatch::try_new(
                self.schema.clone(),
                vec![Arc::new(self.ids.finish()), Arc::new(self.kinds.finish())],
            )?;
            self.writer.write(&b)?;
            self.n = 0;
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        self.flush()?;
        self.writer.finish()?;
        Ok(())
    }
}
