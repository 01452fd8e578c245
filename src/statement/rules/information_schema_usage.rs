//! information_schema's views of what uses what, and the implementation's own rows: the
//! catalog's name; each column's type (column_udt_usage), an array column's element type
//! (element_types) and what carries a data type (data_type_privileges), from the typed
//! `information_schema.columns` (information_schema_columns.rs); and what each view reads
//! (view_table_usage, view_column_usage, view_routine_usage), from its parsed statement
//! (catalog/view_reads.rs). PostgreSQL takes the last three from the dependencies it records
//! while planning a view; cip reads the view's SQL instead, so a column counts as used when
//! the view names it (or selects `*` from its relation) — a column of the same name in
//! another relation the view reads is listed too. system_views.rs puts these queries in
//! place of the references.

use super::information_schema_columns as typed;
use super::information_schema_objects::{nulls, SCOPE, TYPE_DETAILS};

/// The implementation facts ODBC-style clients read; cip's answers, in PostgreSQL's form.
const SQL_IMPLEMENTATION_INFO: &str = "SELECT i.* FROM (VALUES \
        ('10003', 'CATALOG NAME', CAST(NULL AS INT), 'Y', CAST(NULL AS VARCHAR)), \
        ('10004', 'COLLATING SEQUENCE', NULL, NULL, NULL), \
        ('23', 'CURSOR COMMIT BEHAVIOR', 1, NULL, \
          'close cursors and retain prepared statements'), \
        ('2', 'DATA SOURCE NAME', NULL, NULL, NULL), \
        ('17', 'DBMS NAME', NULL, 'PostgreSQL', NULL), \
        ('26', 'DEFAULT TRANSACTION ISOLATION', 2, NULL, 'READ COMMITTED; user-settable'), \
        ('28', 'IDENTIFIER CASE', 3, NULL, 'stored in mixed case - case sensitive'), \
        ('85', 'NULL COLLATION', 0, NULL, 'nulls higher than non-nulls'), \
        ('13', 'SERVER NAME', NULL, NULL, NULL), \
        ('94', 'SPECIAL CHARACTERS', NULL, NULL, 'all non-ASCII characters allowed'), \
        ('46', 'TRANSACTION CAPABLE', 2, NULL, 'both DML and DDL'), \
        ('18', 'DBMS VERSION', NULL, current_setting('server_version'), NULL)) \
     AS i(implementation_info_id, implementation_info_name, integer_value, character_value, \
          comments)";

fn column_udt_usage() -> String {
    format!(
        "SELECT c.udt_catalog, c.udt_schema, c.udt_name, c.table_catalog, c.table_schema, \
            c.table_name, c.column_name FROM ({}) c",
        typed::query(&[])
    )
}

/// An array column's element: its type is the array's udt_name without the underscore.
fn element_types() -> String {
    format!(
        "SELECT c.table_catalog AS object_catalog, c.table_schema AS object_schema, \
            c.table_name AS object_name, 'TABLE' AS object_type, \
            c.dtd_identifier AS collection_type_identifier, \
            CASE substr(c.udt_name, 2) WHEN 'int2' THEN 'smallint' WHEN 'int4' THEN 'integer' \
              WHEN 'int8' THEN 'bigint' WHEN 'float4' THEN 'real' \
              WHEN 'float8' THEN 'double precision' WHEN 'bool' THEN 'boolean' \
              ELSE substr(c.udt_name, 2) END AS data_type, \
            {details}, {n} AS domain_default, c.udt_catalog, c.udt_schema, \
            substr(c.udt_name, 2) AS udt_name, {scope}, \
            concat('a', c.dtd_identifier) AS dtd_identifier \
         FROM ({q}) c WHERE c.data_type = 'ARRAY'",
        details = nulls(TYPE_DETAILS),
        n = "CAST(NULL AS VARCHAR)",
        scope = nulls(SCOPE),
        q = typed::query(&[])
    )
}

/// The objects that carry a data type: columns and routines (no domains, attributes or
/// routine parameters with a type identifier of their own here).
fn data_type_privileges() -> String {
    format!(
        "SELECT c.table_catalog AS object_catalog, c.table_schema AS object_schema, \
            c.table_name AS object_name, 'TABLE' AS object_type, \
            c.dtd_identifier FROM ({}) c \
         UNION ALL \
         SELECT DISTINCT r.specific_catalog, r.specific_schema, r.specific_name, 'ROUTINE', '0' \
         FROM information_schema.routines r",
        typed::query(&[])
    )
}

/// Each view with what its statement reads: `rel` one relation per row, and `cols`.
const VIEW_READS: &str = "SELECT r.table_schema AS view_schema, r.table_name AS view_name, \
        unnest(r.rels) AS rel, r.cols \
     FROM (SELECT v.table_schema, v.table_name, \
             cip_view_reads(v.definition, 'relations') AS rels, \
             cip_view_reads(v.definition, 'columns') AS cols \
           FROM information_schema.views v WHERE v.definition IS NOT NULL) r";

/// The relations the views read that exist, as `t` in schema `nt`, beside VIEW_READS' `u`.
fn read_relations() -> String {
    format!(
        "FROM ({VIEW_READS}) u \
         JOIN pg_catalog.pg_class t ON t.relkind IN ('r', 'v', 'f', 'p') \
         JOIN pg_catalog.pg_namespace nt ON nt.oid = t.relnamespace \
           AND concat(nt.nspname, '.', t.relname) = u.rel"
    )
}

fn view_table_usage() -> String {
    format!(
        "SELECT DISTINCT current_database() AS view_catalog, u.view_schema, u.view_name, \
            current_database() AS table_catalog, nt.nspname AS table_schema, \
            t.relname AS table_name {}",
        read_relations()
    )
}

fn view_column_usage() -> String {
    format!(
        "SELECT DISTINCT current_database() AS view_catalog, u.view_schema, u.view_name, \
            current_database() AS table_catalog, nt.nspname AS table_schema, \
            t.relname AS table_name, a.attname AS column_name {} \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 \
         WHERE array_has(u.cols, a.attname) OR array_has(u.cols, '*')",
        read_relations()
    )
}

/// cip's own functions a view calls (PostgreSQL records no dependency on a built-in, so
/// lists none), as information_schema.routines lists them.
const VIEW_ROUTINE_USAGE: &str = "SELECT DISTINCT current_database() AS table_catalog, \
        f.view_schema AS table_schema, f.view_name AS table_name, \
        r.specific_catalog, r.specific_schema, r.specific_name \
     FROM (SELECT v.table_schema AS view_schema, v.table_name AS view_name, \
             unnest(cip_view_reads(v.definition, 'functions')) AS fn \
           FROM information_schema.views v WHERE v.definition IS NOT NULL) f \
     JOIN information_schema.routines r ON r.routine_name = f.fn \
     WHERE f.fn IN (SELECT c.name FROM public.cip_functions c)";

/// (name, query) of each view.
pub fn views() -> Vec<(&'static str, String)> {
    vec![
        (
            "information_schema_catalog_name",
            "SELECT current_database() AS catalog_name".to_string(),
        ),
        (
            "sql_implementation_info",
            SQL_IMPLEMENTATION_INFO.to_string(),
        ),
        ("column_udt_usage", column_udt_usage()),
        ("element_types", element_types()),
        ("data_type_privileges", data_type_privileges()),
        ("view_table_usage", view_table_usage()),
        ("view_column_usage", view_column_usage()),
        ("view_routine_usage", VIEW_ROUTINE_USAGE.to_string()),
    ]
}
