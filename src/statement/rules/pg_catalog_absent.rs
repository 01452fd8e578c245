//! pg_catalog's relations of things cip does not have, answering with PostgreSQL 15's
//! columns (its order; identifiers and texts VARCHAR, OIDs INT) and no rows, where a missing
//! relation was 42P01 and stopped the tool reading it (pgAdmin's and DBeaver's dashboards,
//! monitoring queries): extensions to install, configuration files (cip reads its own
//! TOML, not postgresql.conf / pg_hba.conf), replication, publications and subscriptions,
//! WAL and its archiver, background writer and checkpoints, row-level security policies and
//! rewrite rules, security labels, planner statistics (cip gathers none: no ANALYZE),
//! sequences (a serial column fills from its table's counter), two-phase transactions,
//! function-call counting (PostgreSQL's is off by default too), progress of maintenance
//! commands cip does not run, the server's shared-memory layout, time zone abbreviations
//! (date-time input takes zone names, not abbreviations) and PostgreSQL's build
//! configuration (`pg_config`; cip is not built from PostgreSQL's sources). Each is empty
//! because cip has none of the thing it lists, so no row is missing from a true answer.
//! system_views.rs puts these queries in place of the references.
//!
//! Views of what cip does have are answered from it (catalog/overrides.rs: pg_locks,
//! pg_stat_ssl, pg_timezone_names) or not at all: pg_prepared_statements and pg_cursors
//! remain 42P01, as an empty answer would be a wrong one.

use super::information_schema_objects::empty;

/// (relation, its columns as `empty` reads them).
const ABSENT: &[(&str, &str)] = &[
    (
        "pg_available_extension_versions",
        "name version installed:boolean superuser:boolean trusted:boolean relocatable:boolean \
         schema requires:varchar[] comment",
    ),
    (
        "pg_available_extensions",
        "name default_version installed_version comment",
    ),
    (
        "pg_backend_memory_contexts",
        "name ident parent level:int total_bytes:bigint total_nblocks:bigint \
         free_bytes:bigint free_chunks:bigint used_bytes:bigint",
    ),
    ("pg_config", "name setting"),
    (
        "pg_file_settings",
        "sourcefile sourceline:int seqno:int name setting applied:boolean error",
    ),
    (
        "pg_hba_file_rules",
        "line_number:int type database:varchar[] user_name:varchar[] address netmask \
         auth_method options:varchar[] error",
    ),
    (
        "pg_ident_file_mappings",
        "line_number:int map_name sys_name pg_username error",
    ),
    ("pg_parameter_acl", "oid:int parname paracl:varchar[]"),
    (
        "pg_policies",
        "schemaname tablename policyname permissive roles:varchar[] cmd qual with_check",
    ),
    (
        "pg_prepared_xacts",
        "transaction gid prepared:timestamptz owner database",
    ),
    (
        "pg_publication_tables",
        "pubname schemaname tablename attnames:varchar[] rowfilter",
    ),
    (
        "pg_replication_origin_status",
        "local_id:int external_id remote_lsn local_lsn",
    ),
    ("pg_rules", "schemaname tablename rulename definition"),
    (
        "pg_seclabels",
        "objoid:int classoid:int objsubid:int objtype objnamespace:int objname provider label",
    ),
    (
        "pg_sequences",
        "schemaname sequencename sequenceowner data_type:int start_value:bigint \
         min_value:bigint max_value:bigint increment_by:bigint cycle:boolean \
         cache_size:bigint last_value:bigint",
    ),
    (
        "pg_shmem_allocations",
        "name off:bigint size:bigint allocated_size:bigint",
    ),
    (
        "pg_stat_archiver",
        "archived_count:bigint last_archived_wal last_archived_time:timestamptz \
         failed_count:bigint last_failed_wal last_failed_time:timestamptz \
         stats_reset:timestamptz",
    ),
    (
        "pg_stat_bgwriter",
        "checkpoints_timed:bigint checkpoints_req:bigint checkpoint_write_time:double \
         checkpoint_sync_time:double buffers_checkpoint:bigint buffers_clean:bigint \
         maxwritten_clean:bigint buffers_backend:bigint buffers_backend_fsync:bigint \
         buffers_alloc:bigint stats_reset:timestamptz",
    ),
    (
        "pg_stat_progress_analyze",
        "pid:int datid:int datname relid:int phase sample_blks_total:bigint \
         sample_blks_scanned:bigint ext_stats_total:bigint ext_stats_computed:bigint \
         child_tables_total:bigint child_tables_done:bigint current_child_table_relid:int",
    ),
    (
        "pg_stat_progress_basebackup",
        "pid:int phase backup_total:bigint backup_streamed:bigint tablespaces_total:bigint \
         tablespaces_streamed:bigint",
    ),
    (
        "pg_stat_progress_cluster",
        "pid:int datid:int datname relid:int command phase cluster_index_relid:int \
         heap_tuples_scanned:bigint heap_tuples_written:bigint heap_blks_total:bigint \
         heap_blks_scanned:bigint index_rebuild_count:bigint",
    ),
    (
        "pg_stat_progress_copy",
        "pid:int datid:int datname relid:int command type bytes_processed:bigint \
         bytes_total:bigint tuples_processed:bigint tuples_excluded:bigint",
    ),
    (
        "pg_stat_progress_create_index",
        "pid:int datid:int datname relid:int index_relid:int command phase \
         lockers_total:bigint lockers_done:bigint current_locker_pid:bigint \
         blocks_total:bigint blocks_done:bigint tuples_total:bigint tuples_done:bigint \
         partitions_total:bigint partitions_done:bigint",
    ),
    (
        "pg_stat_progress_vacuum",
        "pid:int datid:int datname relid:int phase heap_blks_total:bigint \
         heap_blks_scanned:bigint heap_blks_vacuumed:bigint index_vacuum_count:bigint \
         max_dead_tuples:bigint num_dead_tuples:bigint",
    ),
    (
        "pg_stat_recovery_prefetch",
        "stats_reset:timestamptz prefetch:bigint hit:bigint skip_init:bigint skip_new:bigint \
         skip_fpw:bigint skip_rep:bigint wal_distance:int block_distance:int io_depth:int",
    ),
    (
        "pg_stat_replication",
        "pid:int usesysid:int usename application_name client_addr client_hostname \
         client_port:int backend_start:timestamptz backend_xmin state sent_lsn write_lsn \
         flush_lsn replay_lsn write_lag:interval flush_lag:interval replay_lag:interval \
         sync_priority:int sync_state reply_time:timestamptz",
    ),
    (
        "pg_stat_replication_slots",
        "slot_name spill_txns:bigint spill_count:bigint spill_bytes:bigint stream_txns:bigint \
         stream_count:bigint stream_bytes:bigint total_txns:bigint total_bytes:bigint \
         stats_reset:timestamptz",
    ),
    (
        "pg_stat_slru",
        "name blks_zeroed:bigint blks_hit:bigint blks_read:bigint blks_written:bigint \
         blks_exists:bigint flushes:bigint truncates:bigint stats_reset:timestamptz",
    ),
    (
        "pg_stat_subscription",
        "subid:int subname pid:int relid:int received_lsn last_msg_send_time:timestamptz \
         last_msg_receipt_time:timestamptz latest_end_lsn latest_end_time:timestamptz",
    ),
    (
        "pg_stat_subscription_stats",
        "subid:int subname apply_error_count:bigint sync_error_count:bigint \
         stats_reset:timestamptz",
    ),
    (
        "pg_stat_user_functions",
        "funcid:int schemaname funcname calls:bigint total_time:double self_time:double",
    ),
    (
        "pg_stat_wal",
        "wal_records:bigint wal_fpi:bigint wal_bytes:numeric wal_buffers_full:bigint \
         wal_write:bigint wal_sync:bigint wal_write_time:double wal_sync_time:double \
         stats_reset:timestamptz",
    ),
    (
        "pg_stat_wal_receiver",
        "pid:int status receive_start_lsn receive_start_tli:int written_lsn flushed_lsn \
         received_tli:int last_msg_send_time:timestamptz last_msg_receipt_time:timestamptz \
         latest_end_lsn latest_end_time:timestamptz slot_name sender_host sender_port:int \
         conninfo",
    ),
    (
        "pg_stat_xact_user_functions",
        "funcid:int schemaname funcname calls:bigint total_time:double self_time:double",
    ),
    (
        "pg_statio_all_sequences",
        "relid:int schemaname relname blks_read:bigint blks_hit:bigint",
    ),
    (
        "pg_statio_sys_sequences",
        "relid:int schemaname relname blks_read:bigint blks_hit:bigint",
    ),
    (
        "pg_statio_user_sequences",
        "relid:int schemaname relname blks_read:bigint blks_hit:bigint",
    ),
    (
        "pg_stats",
        "schemaname tablename attname inherited:boolean null_frac:real avg_width:int \
         n_distinct:real most_common_vals most_common_freqs:real[] histogram_bounds \
         correlation:real most_common_elems most_common_elem_freqs:real[] \
         elem_count_histogram:real[]",
    ),
    (
        "pg_stats_ext",
        "schemaname tablename statistics_schemaname statistics_name statistics_owner \
         attnames:varchar[] exprs:varchar[] kinds:varchar[] inherited:boolean n_distinct \
         dependencies most_common_vals:varchar[] most_common_val_nulls:boolean[] \
         most_common_freqs:double[] most_common_base_freqs:double[]",
    ),
    (
        "pg_stats_ext_exprs",
        "schemaname tablename statistics_schemaname statistics_name statistics_owner expr \
         inherited:boolean null_frac:real avg_width:int n_distinct:real most_common_vals \
         most_common_freqs:real[] histogram_bounds correlation:real most_common_elems \
         most_common_elem_freqs:real[] elem_count_histogram:real[]",
    ),
    (
        "pg_timezone_abbrevs",
        "abbrev utc_offset:interval is_dst:boolean",
    ),
    (
        "pg_transform",
        "oid:int trftype:int trflang:int trffromsql:int trftosql:int",
    ),
    (
        "pg_ts_config_map",
        "mapcfg:int maptokentype:int mapseqno:int mapdict:int",
    ),
];

/// (name, query) of each relation.
pub fn views() -> Vec<(&'static str, String)> {
    ABSENT
        .iter()
        .map(|(name, columns)| (*name, empty(columns)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_relation_is_listed_once_with_columns() {
        let mut names: Vec<&str> = ABSENT.iter().map(|(n, _)| *n).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ABSENT.len());
        assert!(ABSENT.iter().all(|(_, c)| !c.trim().is_empty()));
        assert!(views().iter().all(|(_, q)| q.ends_with("WHERE false")));
    }
}
