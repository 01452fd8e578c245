//! pg_catalog's statistics views and old role views that list what cip has, with PostgreSQL
//! 15's columns: a row per table, index and database as PostgreSQL lists them, so a
//! monitoring dashboard (pgAdmin's, DBeaver's, Grafana's PostgreSQL ones) finds every
//! relation. cip counts no scans, tuples or block reads, so those columns are NULL
//! (unknown), not a zero that would claim nothing happened; numbackends is counted from the
//! sessions. `pg_shadow` and `pg_group` are PostgreSQL's pre-8.1 views of the roles, read
//! by older tools. system_views.rs puts these queries in place of the references.

use super::information_schema_objects::nulls;

/// The counters of pg_stat_*_tables after relid, schemaname and relname.
const TABLE_COUNTERS: &str = "seq_scan:bigint seq_tup_read:bigint idx_scan:bigint \
     idx_tup_fetch:bigint n_tup_ins:bigint n_tup_upd:bigint n_tup_del:bigint \
     n_tup_hot_upd:bigint";

/// What pg_stat_{all,sys,user}_tables add to the transaction-level counters.
const TABLE_MAINTENANCE: &str = "n_live_tup:bigint n_dead_tup:bigint \
     n_mod_since_analyze:bigint n_ins_since_vacuum:bigint last_vacuum:timestamptz \
     last_autovacuum:timestamptz last_analyze:timestamptz last_autoanalyze:timestamptz \
     vacuum_count:bigint autovacuum_count:bigint analyze_count:bigint \
     autoanalyze_count:bigint";

const TABLE_BLOCKS: &str = "heap_blks_read:bigint heap_blks_hit:bigint idx_blks_read:bigint \
     idx_blks_hit:bigint toast_blks_read:bigint toast_blks_hit:bigint \
     tidx_blks_read:bigint tidx_blks_hit:bigint";

const INDEX_COUNTERS: &str = "idx_scan:bigint idx_tup_read:bigint idx_tup_fetch:bigint";

const INDEX_BLOCKS: &str = "idx_blks_read:bigint idx_blks_hit:bigint";

/// PostgreSQL's split of relations into the system's and the user's.
const SYSTEM: &str = "n.nspname IN ('pg_catalog', 'information_schema') \
     OR starts_with(n.nspname, 'pg_toast')";

/// Which relations of the all / sys / user triple a view lists.
#[derive(Clone, Copy)]
enum Kind {
    All,
    System,
    User,
}

impl Kind {
    fn filter(self) -> String {
        match self {
            Kind::All => "true".into(),
            Kind::System => format!("({SYSTEM})"),
            Kind::User => format!("NOT ({SYSTEM})"),
        }
    }
}

/// Tables (and materialized views, partitioned and TOAST tables, as PostgreSQL lists them)
/// with `counters` NULL.
fn tables(kind: Kind, counters: &str) -> String {
    format!(
        "SELECT c.oid AS relid, n.nspname AS schemaname, c.relname, {} \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 't', 'm', 'p') AND {}",
        nulls(counters),
        kind.filter()
    )
}

/// Indexes with the table they index and `counters` NULL.
fn indexes(kind: Kind, counters: &str) -> String {
    format!(
        "SELECT c.oid AS relid, i.oid AS indexrelid, n.nspname AS schemaname, c.relname, \
           i.relname AS indexrelname, {} \
         FROM pg_catalog.pg_index x \
         JOIN pg_catalog.pg_class c ON c.oid = x.indrelid \
         JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 't', 'm') AND {}",
        nulls(counters),
        kind.filter()
    )
}

/// A row per database; its sessions counted.
fn database() -> String {
    format!(
        "SELECT d.oid AS datid, d.datname, \
           CAST((SELECT count(*) FROM pg_catalog.pg_stat_activity a WHERE a.datid = d.oid) \
             AS INT) AS numbackends, {} \
         FROM pg_catalog.pg_database d",
        nulls(
            "xact_commit:bigint xact_rollback:bigint blks_read:bigint blks_hit:bigint \
             tup_returned:bigint tup_fetched:bigint tup_inserted:bigint tup_updated:bigint \
             tup_deleted:bigint conflicts:bigint temp_files:bigint temp_bytes:bigint \
             deadlocks:bigint checksum_failures:bigint checksum_last_failure:timestamptz \
             blk_read_time:double blk_write_time:double session_time:double \
             active_time:double idle_in_transaction_time:double sessions:bigint \
             sessions_abandoned:bigint sessions_fatal:bigint sessions_killed:bigint \
             stats_reset:timestamptz"
        )
    )
}

/// Recovery conflicts happen on standbys; cip has none, so each database has had none.
const DATABASE_CONFLICTS: &str = "SELECT d.oid AS datid, d.datname, \
       CAST(0 AS BIGINT) AS confl_tablespace, CAST(0 AS BIGINT) AS confl_lock, \
       CAST(0 AS BIGINT) AS confl_snapshot, CAST(0 AS BIGINT) AS confl_bufferpin, \
       CAST(0 AS BIGINT) AS confl_deadlock \
     FROM pg_catalog.pg_database d";

/// The roles that can log in, as users. cip keeps no password hash in the catalog.
const SHADOW: &str = "SELECT a.rolname AS usename, a.oid AS usesysid, \
       a.rolcreatedb AS usecreatedb, a.rolsuper AS usesuper, a.rolreplication AS userepl, \
       a.rolbypassrls AS usebypassrls, CAST(NULL AS VARCHAR) AS passwd, \
       a.rolvaliduntil AS valuntil, CAST(NULL AS VARCHAR[]) AS useconfig \
     FROM pg_catalog.pg_authid a WHERE a.rolcanlogin";

/// The roles that cannot log in, as groups, with their members' OIDs.
const GROUP: &str = "SELECT r.rolname AS groname, r.oid AS grosysid, \
       coalesce(array_agg(m.member) FILTER (WHERE m.member IS NOT NULL), \
                CAST(make_array() AS INT[])) AS grolist \
     FROM pg_catalog.pg_roles r \
     LEFT JOIN pg_catalog.pg_auth_members m ON m.roleid = r.oid \
     WHERE NOT r.rolcanlogin GROUP BY r.rolname, r.oid";

/// The all / sys / user names of a family of views, how its query is built, and the
/// counters it lists.
type Triple<'a> = ([&'static str; 3], fn(Kind, &str) -> String, &'a str);

/// (name, query) of each view.
pub fn views() -> Vec<(&'static str, String)> {
    let full = format!("{TABLE_COUNTERS} {TABLE_MAINTENANCE}");
    let mut views = vec![
        ("pg_stat_database", database()),
        ("pg_stat_database_conflicts", DATABASE_CONFLICTS.to_string()),
        ("pg_shadow", SHADOW.to_string()),
        ("pg_group", GROUP.to_string()),
    ];
    let triples: [Triple; 5] = [
        (
            [
                "pg_stat_all_tables",
                "pg_stat_sys_tables",
                "pg_stat_user_tables",
            ],
            tables,
            &full,
        ),
        (
            [
                "pg_stat_xact_all_tables",
                "pg_stat_xact_sys_tables",
                "pg_stat_xact_user_tables",
            ],
            tables,
            TABLE_COUNTERS,
        ),
        (
            [
                "pg_statio_all_tables",
                "pg_statio_sys_tables",
                "pg_statio_user_tables",
            ],
            tables,
            TABLE_BLOCKS,
        ),
        (
            [
                "pg_stat_all_indexes",
                "pg_stat_sys_indexes",
                "pg_stat_user_indexes",
            ],
            indexes,
            INDEX_COUNTERS,
        ),
        (
            [
                "pg_statio_all_indexes",
                "pg_statio_sys_indexes",
                "pg_statio_user_indexes",
            ],
            indexes,
            INDEX_BLOCKS,
        ),
    ];
    for (names, query, counters) in triples {
        for (name, kind) in names.into_iter().zip([Kind::All, Kind::System, Kind::User]) {
            views.push((name, query(kind, counters)));
        }
    }
    views
}
