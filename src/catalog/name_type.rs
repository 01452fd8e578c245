//! PostgreSQL's `name` type: the catalog's identifiers (relname, attname, nspname, …) are of
//! type `name`, not `text`, and an array of them is `name[]`. Clients tell them apart by the
//! OID in the row description: node-pg parses `text[]` into an array but leaves `name[]` a
//! string, and Sequelize's `showIndex` (which `Model.sync()` calls) parses the string of
//! `array_agg(a.attname)` — it failed on the array cip sent.
//!
//! A catalog column PostgreSQL declares as `name` is an Arrow Utf8 field carrying the
//! extension type [`NAME`]; `array_agg` of such a column (name_arrays.rs) is a list carrying
//! [`NAME_ARRAY`]. Both are described to clients as PostgreSQL describes them
//! (pg/respond.rs). An extension type is what Arrow has for a logical type over a physical
//! one, and DataFusion drops it on any cast, so `attname::text` is text again, as in
//! PostgreSQL.

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::Result;
use datafusion::datasource::{MemTable, TableType};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::{collect, ExecutionPlan};
use pgwire::api::Type;
use std::collections::HashMap;
use std::sync::Arc;

/// Arrow's field metadata key naming an extension type (arrow_schema's EXTENSION_TYPE_NAME_KEY,
/// which the `arrow` crate does not re-export).
const EXTENSION_NAME_KEY: &str = "ARROW:extension:name";

/// The extension type name of a `name` column.
pub const NAME: &str = "cip.pg_name";
/// The extension type name of a `name[]` column.
pub const NAME_ARRAY: &str = "cip.pg_name_array";

/// The columns PostgreSQL's catalog declares as `name`, by relation (its catalog headers and
/// system views).
const COLUMNS: &[(&str, &[&str])] = &[
    ("pg_class", &["relname"]),
    ("pg_namespace", &["nspname"]),
    ("pg_attribute", &["attname"]),
    ("pg_type", &["typname"]),
    ("pg_proc", &["proname"]),
    ("pg_constraint", &["conname"]),
    ("pg_database", &["datname"]),
    ("pg_roles", &["rolname"]),
    ("pg_authid", &["rolname"]),
    ("pg_user", &["usename"]),
    ("pg_am", &["amname"]),
    ("pg_collation", &["collname"]),
    ("pg_extension", &["extname"]),
    ("pg_language", &["lanname"]),
    ("pg_tablespace", &["spcname"]),
    ("pg_trigger", &["tgname"]),
    ("pg_opclass", &["opcname"]),
    ("pg_operator", &["oprname"]),
    ("pg_opfamily", &["opfname"]),
    ("pg_rewrite", &["rulename"]),
    ("pg_enum", &["enumlabel"]),
    ("pg_statistic_ext", &["stxname"]),
    ("pg_event_trigger", &["evtname"]),
    ("pg_publication", &["pubname"]),
    ("pg_subscription", &["subname"]),
    ("pg_foreign_server", &["srvname"]),
    ("pg_foreign_data_wrapper", &["fdwname"]),
    (
        "pg_indexes",
        &["schemaname", "tablename", "indexname", "tablespace"],
    ),
    ("pg_stat_activity", &["datname", "usename"]),
    ("pg_stat_user_tables", &["schemaname", "relname"]),
    ("pg_stat_all_tables", &["schemaname", "relname"]),
    ("pg_statio_user_tables", &["schemaname", "relname"]),
    ("pg_statio_all_tables", &["schemaname", "relname"]),
];

fn tagged_field(field: &Field, extension: &str) -> Field {
    let mut metadata = field.metadata().clone();
    metadata.insert(EXTENSION_NAME_KEY.to_string(), extension.to_string());
    field.clone().with_metadata(metadata)
}

/// Whether `field` is a `name` (Utf8 with the extension type).
pub fn is_name(field: &Field) -> bool {
    field.extension_type_name() == Some(NAME) && field.data_type() == &DataType::Utf8
}

/// Whether `field` is a `name[]`.
pub fn is_name_array(field: &Field) -> bool {
    field.extension_type_name() == Some(NAME_ARRAY)
        && matches!(field.data_type(), DataType::List(item) if item.data_type() == &DataType::Utf8)
}

/// The PostgreSQL type a `name` / `name[]` field is described with; None for any other.
pub fn pg_type(field: &Field) -> Option<Type> {
    if is_name(field) {
        Some(Type::NAME)
    } else if is_name_array(field) {
        Some(Type::NAME_ARRAY)
    } else {
        None
    }
}

/// `field` as a `name` column.
pub fn name(field: Field) -> Field {
    tagged_field(&field, NAME)
}

/// `field` as a `name[]` column.
pub fn name_array(field: Field) -> Field {
    tagged_field(&field, NAME_ARRAY)
}

/// `schema` of catalog relation `relation` with its `name` columns tagged; None when it has
/// none.
fn tagged(relation: &str, schema: &SchemaRef) -> Option<SchemaRef> {
    let (_, names) = COLUMNS.iter().find(|(r, _)| *r == relation)?;
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            if names.contains(&f.name().as_str()) && f.data_type() == &DataType::Utf8 {
                name(f.as_ref().clone())
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    let metadata: HashMap<String, String> = schema.metadata().clone();
    Some(Arc::new(Schema::new_with_metadata(fields, metadata)))
}

/// `table` with its `name` columns typed as such, or as it is when it has none.
pub fn typed(relation: &str, table: Arc<dyn TableProvider>) -> Arc<dyn TableProvider> {
    match tagged(relation, &table.schema()) {
        Some(schema) => Arc::new(NameTyped {
            inner: table,
            schema,
        }),
        None => table,
    }
}

/// A catalog relation read through with its `name` columns tagged. Catalog relations are
/// held in memory, so the rows are read whole and served from a MemTable of the tagged
/// schema: DataFusion checks that an aggregate's physical input has the metadata its logical
/// input has.
#[derive(Debug)]
struct NameTyped {
    inner: Arc<dyn TableProvider>,
    schema: SchemaRef,
}

#[async_trait]
impl TableProvider for NameTyped {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let plan = self.inner.scan(state, None, &[], None).await?;
        let batches = collect(plan, state.task_ctx()).await?;
        let batches = batches
            .into_iter()
            .map(|b| RecordBatch::try_new(self.schema.clone(), b.columns().to_vec()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        MemTable::try_new(self.schema.clone(), vec![batches])?
            .scan(state, projection, filters, limit)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_name_columns_are_tagged_and_others_not() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("oid", DataType::Int32, false),
            Field::new("relname", DataType::Utf8, false),
            Field::new("relkind", DataType::Utf8, true),
        ]));
        let out = tagged("pg_class", &schema).expect("pg_class has a name column");
        let names: Vec<bool> = out.fields().iter().map(|f| is_name(f)).collect();
        assert_eq!(names, [false, true, false]);
        assert!(tagged("pg_settings", &schema).is_none());
        let list = Field::new_list("a", Field::new_list_field(DataType::Utf8, true), true);
        assert!(is_name_array(&name_array(list)));
        assert!(!is_name_array(&Field::new("a", DataType::Utf8, true)));
    }
}
