//! `information_schema.routines` and `parameters` with PostgreSQL 15's columns in its order,
//! DataFusion's extra ones (`function_type`, `description`, `syntax_example`; `is_variadic`,
//! `rid`) after them: DataFusion's list types by Arrow's names (`Float64`, `String`), a
//! boolean `is_deterministic`, and none of the standard's other columns, so a tool selecting
//! them (pgAdmin, DBeaver's routine browser, the JDBC metadata some drivers derive from
//! these views) failed with 42703. cip's functions are compiled in: their body is EXTERNAL,
//! their language INTERNAL, as PostgreSQL lists its built-ins. system_views.rs puts these
//! queries in place of the references.

use super::information_schema_columns::{DATA_TYPE, UDT_NAME};
use super::information_schema_objects::{nulls, SCOPE, TYPE_DETAILS};

/// PostgreSQL's data_type (`d`) and udt_name of an Arrow type's name in column `t` of `x`.
fn typed(x: &str) -> String {
    format!(
        "SELECT x.*, CASE WHEN t IS NULL OR t = 'TABLE' THEN t ELSE {DATA_TYPE} END AS d \
         FROM (SELECT *, data_type AS t FROM {x}) x"
    )
}

fn udt_name() -> String {
    format!("CASE WHEN d IS NULL OR d = 'TABLE' THEN NULL ELSE {UDT_NAME} END")
}

fn routines() -> String {
    format!(
        "SELECT specific_catalog, specific_schema, specific_name, routine_catalog, \
            routine_schema, routine_name, routine_type, {}, d AS data_type, {}, \
            routine_catalog AS type_udt_catalog, 'pg_catalog' AS type_udt_schema, \
            {} AS type_udt_name, {}, '0' AS dtd_identifier, 'EXTERNAL' AS routine_body, \
            CAST(NULL AS VARCHAR) AS routine_definition, routine_name AS external_name, \
            'INTERNAL' AS external_language, 'GENERAL' AS parameter_style, \
            CASE WHEN is_deterministic THEN 'YES' ELSE 'NO' END AS is_deterministic, \
            'MODIFIES' AS sql_data_access, {}, 'YES' AS schema_level_routine, \
            0 AS max_dynamic_result_sets, 'NO' AS is_user_defined_cast, {}, \
            'INVOKER' AS security_type, {}, 'NO' AS as_locator, {}, \
            'NO' AS is_udt_dependent, {}, function_type, description, syntax_example \
         FROM ({}) r",
        nulls("module_catalog module_schema module_name udt_catalog udt_schema udt_name"),
        nulls(TYPE_DETAILS),
        udt_name(),
        nulls(SCOPE),
        nulls("is_null_call sql_path"),
        nulls("is_implicitly_invocable"),
        nulls("to_sql_specific_catalog to_sql_specific_schema to_sql_specific_name"),
        nulls("created:timestamptz last_altered:timestamptz new_savepoint_level"),
        nulls(
            "result_cast_from_data_type result_cast_as_locator \
             result_cast_char_max_length:int result_cast_char_octet_length:int \
             result_cast_char_set_catalog result_cast_char_set_schema \
             result_cast_char_set_name result_cast_collation_catalog \
             result_cast_collation_schema result_cast_collation_name \
             result_cast_numeric_precision:int result_cast_numeric_precision_radix:int \
             result_cast_numeric_scale:int result_cast_datetime_precision:int \
             result_cast_interval_type result_cast_interval_precision:int \
             result_cast_type_udt_catalog result_cast_type_udt_schema \
             result_cast_type_udt_name result_cast_scope_catalog result_cast_scope_schema \
             result_cast_scope_name result_cast_maximum_cardinality:int \
             result_cast_dtd_identifier"
        ),
        typed("information_schema.routines"),
    )
}

fn parameters() -> String {
    format!(
        "SELECT specific_catalog, specific_schema, specific_name, \
            CAST(ordinal_position AS INT) AS ordinal_position, parameter_mode, \
            'NO' AS is_result, 'NO' AS as_locator, parameter_name, d AS data_type, {}, \
            specific_catalog AS udt_catalog, 'pg_catalog' AS udt_schema, {} AS udt_name, {}, \
            CAST(ordinal_position AS VARCHAR) AS dtd_identifier, parameter_default, \
            is_variadic, rid \
         FROM ({}) p",
        nulls(TYPE_DETAILS),
        udt_name(),
        nulls(SCOPE),
        typed("information_schema.parameters"),
    )
}

/// (name, query) of each view.
pub fn views() -> Vec<(&'static str, String)> {
    vec![("routines", routines()), ("parameters", parameters())]
}
