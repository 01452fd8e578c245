//! The standard's constraint views of information_schema, defined over pg_constraint as
//! PostgreSQL's own information_schema.sql defines them. DataFusion serves seven
//! information_schema relations and none of these, so Sequelize's `describeTable` (primary
//! keys from table_constraints joined to key_column_usage), its foreign-key listing
//! (constraint_column_usage for the referenced side) and any tool reading the standard's
//! views failed with 42P01. system_views.rs puts these queries in place of the references.
//!
//! pg_constraint keeps `conkey` / `confkey` as the text of a list (`[1, 2]`); each view reads
//! them as integer arrays. As in PostgreSQL, NOT NULL columns are listed as CHECK constraints
//! named `<schema oid>_<table oid>_<column number>_not_null`. A foreign key's unique
//! constraint is the referenced table's primary key or unique constraint on the same
//! columns (PostgreSQL follows the index the key depends on; cip has no such dependency).

/// Every p / u / f / c constraint of a relation, with its schema, its relation and the keys
/// as integer arrays (`keys`, and `fkeys` for the referenced columns of a foreign key).
const CONSTRAINTS: &str = "SELECT c.oid, c.conname, c.contype, c.conrelid, c.confrelid, \
        c.condeferrable, c.condeferred, c.confupdtype, c.confdeltype, c.confmatchtype, \
        cn.nspname AS con_schema, rn.nspname AS rel_schema, r.relname AS rel_name, \
        CAST(string_to_array(btrim(c.conkey, '[]'), ', ') AS INT[]) AS keys, \
        CAST(string_to_array(btrim(c.confkey, '[]'), ', ') AS INT[]) AS fkeys \
     FROM pg_catalog.pg_constraint c \
     JOIN pg_catalog.pg_namespace cn ON cn.oid = c.connamespace \
     JOIN pg_catalog.pg_class r ON r.oid = c.conrelid \
     JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace \
     WHERE c.contype IN ('p', 'u', 'f', 'c')";

/// Every NOT NULL column of a table: (schema, table, column), the constraint's name.
const NOT_NULL: &str = "SELECT n.nspname, r.relname, a.attname, \
        concat(CAST(n.oid AS VARCHAR), '_', CAST(r.oid AS VARCHAR), '_', \
               CAST(a.attnum AS VARCHAR), '_not_null') AS conname \
     FROM pg_catalog.pg_attribute a \
     JOIN pg_catalog.pg_class r ON r.oid = a.attrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace \
     WHERE a.attnotnull AND a.attnum > 0 AND NOT a.attisdropped AND r.relkind IN ('r', 'p')";

/// A foreign key's referential action as the standard spells it.
fn rule(column: &str) -> String {
    format!(
        "CASE k.{column} WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' \
         WHEN 'd' THEN 'SET DEFAULT' WHEN 'r' THEN 'RESTRICT' ELSE 'NO ACTION' END"
    )
}

/// The unique constraint (`u`) a foreign key (`k`) references.
fn referenced() -> String {
    format!(
        "LEFT JOIN ({CONSTRAINTS}) u ON k.contype = 'f' AND u.conrelid = k.confrelid \
         AND u.contype IN ('p', 'u') AND array_sort(u.keys) = array_sort(k.fkeys)"
    )
}

fn table_constraints() -> String {
    format!(
        "SELECT current_database() AS constraint_catalog, k.con_schema AS constraint_schema, \
            k.conname AS constraint_name, current_database() AS table_catalog, \
            k.rel_schema AS table_schema, k.rel_name AS table_name, \
            CASE k.contype WHEN 'p' THEN 'PRIMARY KEY' WHEN 'u' THEN 'UNIQUE' \
              WHEN 'f' THEN 'FOREIGN KEY' ELSE 'CHECK' END AS constraint_type, \
            CASE WHEN k.condeferrable THEN 'YES' ELSE 'NO' END AS is_deferrable, \
            CASE WHEN k.condeferred THEN 'YES' ELSE 'NO' END AS initially_deferred, \
            'YES' AS enforced, CASE WHEN k.contype = 'u' THEN 'YES' END AS nulls_distinct \
         FROM ({CONSTRAINTS}) k \
         UNION ALL \
         SELECT current_database(), nspname, conname, current_database(), nspname, relname, \
            'CHECK', 'NO', 'NO', 'YES', CAST(NULL AS VARCHAR) \
         FROM ({NOT_NULL}) nn"
    )
}

fn key_column_usage() -> String {
    format!(
        "SELECT current_database() AS constraint_catalog, k.con_schema AS constraint_schema, \
            k.conname AS constraint_name, current_database() AS table_catalog, \
            k.rel_schema AS table_schema, k.rel_name AS table_name, a.attname AS column_name, \
            CAST(k.pos AS INT) AS ordinal_position, \
            CAST(CASE WHEN k.contype = 'f' \
              THEN array_position(u.keys, array_element(k.fkeys, k.pos)) END AS INT) \
              AS position_in_unique_constraint \
         FROM (SELECT c.*, unnest(generate_series(1, cardinality(c.keys))) AS pos \
               FROM ({CONSTRAINTS}) c WHERE c.contype IN ('p', 'u', 'f')) k \
         JOIN pg_catalog.pg_attribute a \
           ON a.attrelid = k.conrelid AND a.attnum = array_element(k.keys, k.pos) \
         {}",
        referenced()
    )
}

fn referential_constraints() -> String {
    format!(
        "SELECT current_database() AS constraint_catalog, k.con_schema AS constraint_schema, \
            k.conname AS constraint_name, \
            CASE WHEN u.conname IS NOT NULL THEN current_database() END \
              AS unique_constraint_catalog, \
            u.con_schema AS unique_constraint_schema, u.conname AS unique_constraint_name, \
            CASE k.confmatchtype WHEN 'f' THEN 'FULL' WHEN 'p' THEN 'PARTIAL' ELSE 'NONE' END \
              AS match_option, \
            {} AS update_rule, {} AS delete_rule \
         FROM ({CONSTRAINTS}) k {} WHERE k.contype = 'f'",
        rule("confupdtype"),
        rule("confdeltype"),
        referenced()
    )
}

/// The columns a constraint uses: a foreign key's referenced columns, else its own.
fn constraint_column_usage() -> String {
    format!(
        "SELECT current_database() AS table_catalog, tn.nspname AS table_schema, \
            t.relname AS table_name, a.attname AS column_name, \
            current_database() AS constraint_catalog, k.con_schema AS constraint_schema, \
            k.conname AS constraint_name \
         FROM (SELECT c.*, \
                 CASE WHEN c.contype = 'f' THEN c.confrelid ELSE c.conrelid END AS used, \
                 unnest(CASE WHEN c.contype = 'f' THEN c.fkeys ELSE c.keys END) AS used_key \
               FROM ({CONSTRAINTS}) c) k \
         JOIN pg_catalog.pg_class t ON t.oid = k.used \
         JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = k.used AND a.attnum = k.used_key"
    )
}

/// The table a key uses: a foreign key's referenced table, else its own.
fn constraint_table_usage() -> String {
    format!(
        "SELECT current_database() AS table_catalog, tn.nspname AS table_schema, \
            t.relname AS table_name, current_database() AS constraint_catalog, \
            k.con_schema AS constraint_schema, k.conname AS constraint_name \
         FROM ({CONSTRAINTS}) k \
         JOIN pg_catalog.pg_class t \
           ON t.oid = CASE WHEN k.contype = 'f' THEN k.confrelid ELSE k.conrelid END \
         JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace \
         WHERE k.contype IN ('p', 'u', 'f')"
    )
}

/// CHECK constraints with their condition (pg_get_constraintdef without `CHECK `), and the
/// NOT NULL ones as `column IS NOT NULL`.
fn check_constraints() -> String {
    format!(
        "SELECT current_database() AS constraint_catalog, k.con_schema AS constraint_schema, \
            k.conname AS constraint_name, \
            substr(pg_get_constraintdef(k.oid), 7) AS check_clause \
         FROM ({CONSTRAINTS}) k WHERE k.contype = 'c' \
         UNION ALL \
         SELECT current_database(), nspname, conname, \
            concat(quote_ident(attname), ' IS NOT NULL') \
         FROM ({NOT_NULL}) nn"
    )
}

/// (name, query) of each view.
pub fn views() -> Vec<(&'static str, String)> {
    vec![
        ("table_constraints", table_constraints()),
        ("key_column_usage", key_column_usage()),
        ("referential_constraints", referential_constraints()),
        ("constraint_column_usage", constraint_column_usage()),
        ("constraint_table_usage", constraint_table_usage()),
        ("check_constraints", check_constraints()),
    ]
}
