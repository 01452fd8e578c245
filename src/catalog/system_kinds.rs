//! Which of PostgreSQL's system relations are tables and which are views. datafusion-pg-catalog
//! makes a relation's kind the kind of the provider that answers it, so pg_class said 'v' for
//! pg_class, pg_attribute, pg_database and pg_namespace (answered through a view of stable
//! OIDs) and 'r' for pg_roles or pg_views (answered from memory). pg_class and
//! information_schema.tables give them PostgreSQL's kinds.

use datafusion::arrow::array::{Array, AsArray, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int32Type};
use datafusion::common::Result;

/// PostgreSQL 15's views in pg_catalog; its other relations there are tables.
pub const PG_CATALOG_VIEWS: &[&str] = &[
    "pg_available_extension_versions",
    "pg_available_extensions",
    "pg_backend_memory_contexts",
    "pg_config",
    "pg_cursors",
    "pg_file_settings",
    "pg_group",
    "pg_hba_file_rules",
    "pg_ident_file_mappings",
    "pg_indexes",
    "pg_locks",
    "pg_matviews",
    "pg_policies",
    "pg_prepared_statements",
    "pg_prepared_xacts",
    "pg_publication_tables",
    "pg_replication_origin_status",
    "pg_replication_slots",
    "pg_roles",
    "pg_rules",
    "pg_seclabels",
    "pg_sequences",
    "pg_settings",
    "pg_shadow",
    "pg_shmem_allocations",
    "pg_stat_activity",
    "pg_stat_all_indexes",
    "pg_stat_all_tables",
    "pg_stat_archiver",
    "pg_stat_bgwriter",
    "pg_stat_database",
    "pg_stat_database_conflicts",
    "pg_stat_gssapi",
    "pg_stat_progress_analyze",
    "pg_stat_progress_basebackup",
    "pg_stat_progress_cluster",
    "pg_stat_progress_copy",
    "pg_stat_progress_create_index",
    "pg_stat_progress_vacuum",
    "pg_stat_recovery_prefetch",
    "pg_stat_replication",
    "pg_stat_replication_slots",
    "pg_stat_slru",
    "pg_stat_ssl",
    "pg_stat_subscription",
    "pg_stat_subscription_stats",
    "pg_stat_sys_indexes",
    "pg_stat_sys_tables",
    "pg_stat_user_functions",
    "pg_stat_user_indexes",
    "pg_stat_user_tables",
    "pg_stat_wal",
    "pg_stat_wal_receiver",
    "pg_stat_xact_all_tables",
    "pg_stat_xact_sys_tables",
    "pg_stat_xact_user_functions",
    "pg_stat_xact_user_tables",
    "pg_statio_all_indexes",
    "pg_statio_all_sequences",
    "pg_statio_all_tables",
    "pg_statio_sys_indexes",
    "pg_statio_sys_sequences",
    "pg_statio_sys_tables",
    "pg_statio_user_indexes",
    "pg_statio_user_sequences",
    "pg_statio_user_tables",
    "pg_stats",
    "pg_stats_ext",
    "pg_stats_ext_exprs",
    "pg_tables",
    "pg_timezone_abbrevs",
    "pg_timezone_names",
    "pg_user",
    "pg_user_mappings",
    "pg_views",
];

/// PostgreSQL's tables in information_schema; its other relations there are views.
pub const INFORMATION_SCHEMA_TABLES: &[&str] = &[
    "sql_features",
    "sql_implementation_info",
    "sql_parts",
    "sql_sizing",
];

/// pg_class's rows (`batch`) with the tables and views of pg_catalog (namespace OID
/// `pg_catalog`) of PostgreSQL's kind; other rows, and indexes, as they are.
pub fn with_system_kinds(batch: &RecordBatch, pg_catalog: i32) -> Result<RecordBatch> {
    let schema = batch.schema();
    let (Ok(name_at), Ok(ns_at), Ok(kind_at)) = (
        schema.index_of("relname"),
        schema.index_of("relnamespace"),
        schema.index_of("relkind"),
    ) else {
        return Ok(batch.clone());
    };
    let names = cast(batch.column(name_at), &DataType::Utf8)?;
    let namespaces = cast(batch.column(ns_at), &DataType::Int32)?;
    let kinds = cast(batch.column(kind_at), &DataType::Utf8)?;
    let (names, namespaces, kinds) = (
        names.as_string::<i32>(),
        namespaces.as_primitive::<Int32Type>(),
        kinds.as_string::<i32>(),
    );
    let fixed: StringArray = (0..batch.num_rows())
        .map(|r| {
            let kind = kinds.is_valid(r).then(|| kinds.value(r));
            let system = namespaces.is_valid(r) && namespaces.value(r) == pg_catalog;
            match kind {
                Some("r" | "v") if system => {
                    let view = PG_CATALOG_VIEWS.contains(&names.value(r));
                    Some(if view { "v" } else { "r" })
                }
                other => other,
            }
        })
        .collect();
    let mut columns = batch.columns().to_vec();
    columns[kind_at] = cast(&fixed, schema.field(kind_at).data_type())?;
    Ok(RecordBatch::try_new(schema, columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{ArrayRef, Int32Array};
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    #[test]
    fn pg_catalogs_relations_get_postgresqls_kinds() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("relname", DataType::Utf8, false),
            Field::new("relnamespace", DataType::Int32, false),
            Field::new("relkind", DataType::Utf8, true),
        ]));
        let names = [
            "pg_class",
            "pg_roles",
            "pg_class_oid_index",
            "pg_class",
            "v1",
        ];
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(names.to_vec())),
            Arc::new(Int32Array::from(vec![11, 11, 11, 2200, 2200])),
            Arc::new(StringArray::from(vec!["v", "r", "i", "v", "v"])),
        ];
        let batch = RecordBatch::try_new(schema, columns).expect("batch");
        let out = with_system_kinds(&batch, 11).expect("kinds");
        let kinds: Vec<&str> = out.column(2).as_string::<i32>().iter().flatten().collect();
        // Another schema's relation named pg_class keeps its kind.
        assert_eq!(kinds, ["r", "v", "i", "v", "v"]);
    }
}
