//! `information_schema.columns` with PostgreSQL's type names and the standard's columns, and
//! `information_schema.tables` with its standard columns. DataFusion's lists Arrow's
//! (`Int64`, `Utf8`, `Decimal128(10, 2)`); dbt reads `data_type` from it to add a model's new
//! columns (`ALTER TABLE … ADD COLUMN "n" Int64` fails), and BI tools show it. system_views.rs
//! puts this query in place of the reference.

use crate::catalog::system_kinds::{INFORMATION_SCHEMA_TABLES, PG_CATALOG_VIEWS};

/// PostgreSQL's `data_type` of an Arrow type's name (`t`).
pub(super) const DATA_TYPE: &str = "CASE \
      WHEN t IN ('Int8', 'Int16', 'UInt8') THEN 'smallint' \
      WHEN t IN ('Int32', 'UInt16') THEN 'integer' \
      WHEN t IN ('Int64', 'UInt32') THEN 'bigint' \
      WHEN t = 'UInt64' OR t LIKE 'Decimal%' THEN 'numeric' \
      WHEN t IN ('Float16', 'Float32') THEN 'real' \
      WHEN t = 'Float64' THEN 'double precision' \
      WHEN t IN ('Utf8', 'LargeUtf8', 'Utf8View', 'String', 'Null') THEN 'text' \
      WHEN t = 'Boolean' THEN 'boolean' \
      WHEN t LIKE 'Date%' THEN 'date' \
      WHEN t LIKE 'Timestamp(%,%' THEN 'timestamp with time zone' \
      WHEN t LIKE 'Timestamp%' THEN 'timestamp without time zone' \
      WHEN t LIKE 'Time%' THEN 'time without time zone' \
      WHEN t LIKE 'Interval%' OR t LIKE 'Duration%' THEN 'interval' \
      WHEN t LIKE '%Binary%' THEN 'bytea' \
      WHEN t LIKE '%List%' THEN 'ARRAY' \
      ELSE 'USER-DEFINED' END";

/// PostgreSQL's `udt_name` of a `data_type` (`d`) and Arrow type (`t`): arrays' are their
/// element's with a leading underscore.
pub(super) const UDT_NAME: &str = "CASE d \
      WHEN 'smallint' THEN 'int2' WHEN 'integer' THEN 'int4' WHEN 'bigint' THEN 'int8' \
      WHEN 'numeric' THEN 'numeric' WHEN 'real' THEN 'float4' \
      WHEN 'double precision' THEN 'float8' WHEN 'text' THEN 'text' \
      WHEN 'boolean' THEN 'bool' WHEN 'date' THEN 'date' \
      WHEN 'timestamp with time zone' THEN 'timestamptz' \
      WHEN 'timestamp without time zone' THEN 'timestamp' \
      WHEN 'time without time zone' THEN 'time' WHEN 'interval' THEN 'interval' \
      WHEN 'bytea' THEN 'bytea' WHEN 'uuid' THEN 'uuid' \
      WHEN 'character varying' THEN 'varchar' WHEN 'character' THEN 'bpchar' \
      WHEN 'ARRAY' THEN CASE \
        WHEN t LIKE '%(Int16)' THEN '_int2' WHEN t LIKE '%(Int32)' THEN '_int4' \
        WHEN t LIKE '%(Int64)' THEN '_int8' WHEN t LIKE '%(Float32)' THEN '_float4' \
        WHEN t LIKE '%(Float64)' THEN '_float8' WHEN t LIKE '%(Boolean)' THEN '_bool' \
        WHEN t LIKE '%(Decimal%' THEN '_numeric' ELSE '_text' END \
      ELSE t END";

/// The query: DataFusion's columns, the types renamed, precision as PostgreSQL states it
/// (bits for integers and floats, digits for numeric), its cardinal_number columns as
/// integers (which node-pg reads as numbers, bigints as strings), positions counted from 1 as in
/// PostgreSQL (DataFusion counts from 0), defaults as pg_attrdef lists them, declared types,
/// lengths and NOT NULL as pg_attribute has them (catalog/attribute_types.rs), in the
/// standard's order with the columns cip has no use for (character sets, domains, identity,
/// generation) NULL or 'NO'. The columns of the relations the rules define (`listed`) are
/// the ones their queries are planned to return (statement/system_columns.rs), in place of
/// DataFusion's rows for those it lists with its own columns.
pub fn query(listed: &[(&str, &str)]) -> String {
    const NULL: &str = "CAST(NULL AS VARCHAR)";
    format!(
        "SELECT table_catalog, table_schema, table_name, column_name, \
            CAST(ordinal_position + 1 AS INT) AS ordinal_position, \
            def_text AS column_default, \
            CASE WHEN a_notnull THEN 'NO' ELSE is_nullable END AS is_nullable, d AS data_type, \
            CAST(CASE WHEN a_type IN (1043, 1042) AND a_typmod > 4 THEN a_typmod - 4 \
              ELSE character_maximum_length END AS INT) AS character_maximum_length, \
            CAST(CASE WHEN a_type IN (1043, 1042) AND a_typmod > 4 THEN (a_typmod - 4) * 4 \
              WHEN d IN ('text', 'character varying', 'character') THEN 1073741824 END AS INT) \
              AS character_octet_length, \
            CAST(CASE d WHEN 'smallint' THEN 16 WHEN 'integer' THEN 32 WHEN 'bigint' THEN 64 \
              WHEN 'real' THEN 24 WHEN 'double precision' THEN 53 \
              WHEN 'numeric' THEN numeric_precision END AS INT) AS numeric_precision, \
            CAST(CASE WHEN d IN ('smallint', 'integer', 'bigint', 'real', 'double precision') \
              THEN 2 WHEN d = 'numeric' THEN 10 END AS INT) AS numeric_precision_radix, \
            CAST(CASE WHEN d IN ('smallint', 'integer', 'bigint') THEN 0 \
              WHEN d = 'numeric' THEN numeric_scale END AS INT) AS numeric_scale, \
            CAST(CASE WHEN d = 'date' THEN 0 WHEN d LIKE 'time%' THEN 6 END AS INT) \
              AS datetime_precision, \
            interval_type, CAST(NULL AS INT) AS interval_precision, \
            {NULL} AS character_set_catalog, {NULL} AS character_set_schema, \
            {NULL} AS character_set_name, {NULL} AS collation_catalog, \
            {NULL} AS collation_schema, {NULL} AS collation_name, \
            {NULL} AS domain_catalog, {NULL} AS domain_schema, {NULL} AS domain_name, \
            table_catalog AS udt_catalog, 'pg_catalog' AS udt_schema, \
            {UDT_NAME} AS udt_name, \
            {NULL} AS scope_catalog, {NULL} AS scope_schema, {NULL} AS scope_name, \
            CAST(NULL AS INT) AS maximum_cardinality, \
            CAST(ordinal_position + 1 AS VARCHAR) AS dtd_identifier, 'NO' AS is_self_referencing, \
            'NO' AS is_identity, {NULL} AS identity_generation, {NULL} AS identity_start, \
            {NULL} AS identity_increment, {NULL} AS identity_maximum, \
            {NULL} AS identity_minimum, {NULL} AS identity_cycle, \
            'NEVER' AS is_generated, {NULL} AS generation_expression, \
            CASE WHEN kind = 'BASE TABLE' THEN 'YES' ELSE 'NO' END AS is_updatable \
         FROM (SELECT *, CASE a_type WHEN 2950 THEN 'uuid' WHEN 1043 THEN 'character varying' \
                      WHEN 1042 THEN 'character' ELSE {DATA_TYPE} END AS d \
               FROM (SELECT c.*, c.data_type AS t, k.table_type AS kind, f.def_text, \
                            f.a_type, f.a_typmod, f.a_notnull \
                     FROM (SELECT table_catalog, table_schema, table_name, column_name, \
                             ordinal_position, is_nullable, data_type, \
                             character_maximum_length, numeric_precision, numeric_scale, \
                             interval_type \
                           FROM information_schema.columns \
                           WHERE {not_defined} {system}) c \
                     LEFT JOIN information_schema.tables k \
                       ON k.table_catalog = c.table_catalog \
                      AND k.table_schema = c.table_schema \
                      AND k.table_name = c.table_name \
                     LEFT JOIN (SELECT n.nspname AS a_schema, r.relname AS a_table, \
                                  CAST(a.attnum AS BIGINT) AS a_num, \
                                  CAST(a.atttypid AS INT) AS a_type, a.atttypmod AS a_typmod, \
                                  a.attnotnull AS a_notnull, d.adbin AS def_text \
                                FROM pg_catalog.pg_attribute a \
                                JOIN pg_catalog.pg_class r ON r.oid = a.attrelid \
                                JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace \
                                LEFT JOIN pg_catalog.pg_attrdef d \
                                  ON d.adrelid = a.attrelid AND d.adnum = a.attnum) f \
                       ON f.a_schema = c.table_schema AND f.a_table = c.table_name \
                      AND f.a_num = CAST(c.ordinal_position AS BIGINT) + 1) typed) named",
        not_defined = not_defined(listed),
        system = if listed.is_empty() {
            String::new()
        } else {
            format!(
                "UNION ALL SELECT * FROM {}()",
                crate::statement::system_columns::NAME
            )
        },
    )
}

fn quoted_list(names: impl Iterator<Item = String>) -> String {
    names
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A filter of DataFusion's information_schema rows: none of a relation the rules define
/// (system_views.rs), which it lacks or lists with its own columns.
fn not_defined(listed: &[(&str, &str)]) -> String {
    if listed.is_empty() {
        return "true".into();
    }
    let names = quoted_list(listed.iter().map(|(s, n)| format!("{s}.{n}")));
    format!("concat(table_schema, '.', table_name) NOT IN ({names})")
}

/// `information_schema.tables` with the standard's columns after DataFusion's four: the
/// catalog's relations and every relation the rules define (`listed`), pg_catalog's and
/// information_schema's typed as PostgreSQL types them (DataFusion calls a catalog table it
/// answers through a view a view, and a view it answers from memory a table). A base table
/// can be inserted into, a view cannot (sqlsmith reads `is_insertable_into`).
pub fn tables(listed: &[(&str, &str)]) -> String {
    let values: Vec<String> = listed
        .iter()
        .map(|(schema, name)| format!("('{schema}', '{name}')"))
        .collect();
    let views = quoted_list(PG_CATALOG_VIEWS.iter().map(|n| n.to_string()));
    let tables = quoted_list(INFORMATION_SCHEMA_TABLES.iter().map(|n| n.to_string()));
    format!(
        "SELECT table_catalog, table_schema, table_name, table_type, \
            CAST(NULL AS VARCHAR) AS self_referencing_column_name, \
            CAST(NULL AS VARCHAR) AS reference_generation, \
            CAST(NULL AS VARCHAR) AS user_defined_type_catalog, \
            CAST(NULL AS VARCHAR) AS user_defined_type_schema, \
            CAST(NULL AS VARCHAR) AS user_defined_type_name, \
            CASE WHEN table_type = 'BASE TABLE' THEN 'YES' ELSE 'NO' END AS is_insertable_into, \
            'NO' AS is_typed, CAST(NULL AS VARCHAR) AS commit_action \
         FROM (SELECT table_catalog, table_schema, table_name, \
                 CASE table_schema \
                   WHEN 'pg_catalog' THEN CASE WHEN table_name IN ({views}) THEN 'VIEW' \
                     ELSE 'BASE TABLE' END \
                   WHEN 'information_schema' THEN CASE WHEN table_name IN ({tables}) \
                     THEN 'BASE TABLE' ELSE 'VIEW' END \
                   ELSE table_type END AS table_type \
               FROM (SELECT table_catalog, table_schema, table_name, table_type \
                     FROM information_schema.tables \
                     WHERE {not_defined} \
                     UNION ALL SELECT current_database(), a.s, a.n, 'VIEW' \
                     FROM (VALUES {values}) AS a(s, n)) found) typed",
        not_defined = not_defined(listed),
        values = values.join(", "),
    )
}
