//! The warehouse's tables as the cluster reads them: each table's committed Parquet parts as
//! one listing table, which Ballista ships to executors by path. The executors must see the
//! same paths (one machine, or a shared file system mounted at the same place).

use crate::error::Result;
use crate::storage::Table;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::ScalarValue;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::ViewTable;
use datafusion::logical_expr::{lit, Expr, LogicalPlanBuilder};
use std::sync::Arc;

/// `table`'s committed rows, as a provider Ballista can serialize. The caller checkpoints
/// first: rows still in the write-ahead log are not in any part.
pub fn committed(table: &Table) -> Result<Arc<dyn TableProvider>> {
    let snap = table.snapshot()?;
    let schema = table.def.schema.clone();
    let paths = table.part_paths(&snap);
    if paths.is_empty() {
        return empty(schema);
    }
    let urls = paths
        .iter()
        .map(|p| ListingTableUrl::parse(p.to_string_lossy()))
        .collect::<datafusion::common::Result<Vec<_>>>()?;
    let options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(schema);
    Ok(Arc::new(ListingTable::try_new(config)?))
}

/// A table without parts: a view of no rows with its columns (a listing table needs a file).
fn empty(schema: SchemaRef) -> Result<Arc<dyn TableProvider>> {
    let columns: Vec<Expr> = schema
        .fields()
        .iter()
        .map(|f| Ok(lit(ScalarValue::try_from(f.data_type())?).alias(f.name())))
        .collect::<datafusion::common::Result<_>>()?;
    let plan = LogicalPlanBuilder::empty(false).project(columns)?.build()?;
    Ok(Arc::new(ViewTable::new(plan, None)))
}
