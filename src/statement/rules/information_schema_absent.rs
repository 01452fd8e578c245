//! information_schema's views of objects cip does not have, answering with PostgreSQL 15's
//! columns (in its order, with its types: identifiers and texts VARCHAR, cardinal numbers
//! INT, options text arrays) and no rows, where a missing view was 42P01 and stopped the
//! client reading it: foreign data (wrappers, servers, foreign tables, user mappings and their
//! options), domains and composite / user-defined types, sequences (a serial column fills
//! from its table's counter, not a sequence object), triggers, transforms, generated
//! columns, and routines with SQL bodies (cip's functions are compiled in, so none reads a
//! table, sequence or other routine). `sql_features`, `sql_parts` and `sql_sizing` are
//! PostgreSQL's claims about itself; cip makes none. system_views.rs puts these queries in
//! place of the references.

use super::information_schema_objects::empty;

/// (view, its columns as `empty` reads them).
const ABSENT: &[(&str, &str)] = &[
    (
        "_pg_foreign_data_wrappers",
        "oid:int fdwowner:int fdwoptions:varchar[] foreign_data_wrapper_catalog \
         foreign_data_wrapper_name authorization_identifier foreign_data_wrapper_language",
    ),
    (
        "_pg_foreign_servers",
        "oid:int srvoptions:varchar[] foreign_server_catalog foreign_server_name \
         foreign_data_wrapper_catalog foreign_data_wrapper_name foreign_server_type \
         foreign_server_version authorization_identifier",
    ),
    (
        "_pg_foreign_table_columns",
        "nspname relname attname attfdwoptions:varchar[]",
    ),
    (
        "_pg_foreign_tables",
        "foreign_table_catalog foreign_table_schema foreign_table_name ftoptions:varchar[] \
         foreign_server_catalog foreign_server_name authorization_identifier",
    ),
    (
        "_pg_user_mappings",
        "oid:int umoptions:varchar[] umuser:int authorization_identifier \
         foreign_server_catalog foreign_server_name srvowner",
    ),
    (
        "check_constraint_routine_usage",
        "constraint_catalog constraint_schema constraint_name specific_catalog \
         specific_schema specific_name",
    ),
    (
        "column_column_usage",
        "table_catalog table_schema table_name column_name dependent_column",
    ),
    (
        "column_domain_usage",
        "domain_catalog domain_schema domain_name table_catalog table_schema table_name \
         column_name",
    ),
    (
        "column_options",
        "table_catalog table_schema table_name column_name option_name option_value",
    ),
    (
        "domain_constraints",
        "constraint_catalog constraint_schema constraint_name domain_catalog domain_schema \
         domain_name is_deferrable initially_deferred",
    ),
    (
        "domain_udt_usage",
        "udt_catalog udt_schema udt_name domain_catalog domain_schema domain_name",
    ),
    (
        "foreign_data_wrapper_options",
        "foreign_data_wrapper_catalog foreign_data_wrapper_name option_name option_value",
    ),
    (
        "foreign_data_wrappers",
        "foreign_data_wrapper_catalog foreign_data_wrapper_name authorization_identifier \
         library_name foreign_data_wrapper_language",
    ),
    (
        "foreign_server_options",
        "foreign_server_catalog foreign_server_name option_name option_value",
    ),
    (
        "foreign_servers",
        "foreign_server_catalog foreign_server_name foreign_data_wrapper_catalog \
         foreign_data_wrapper_name foreign_server_type foreign_server_version \
         authorization_identifier",
    ),
    (
        "foreign_table_options",
        "foreign_table_catalog foreign_table_schema foreign_table_name option_name \
         option_value",
    ),
    (
        "foreign_tables",
        "foreign_table_catalog foreign_table_schema foreign_table_name foreign_server_catalog \
         foreign_server_name",
    ),
    (
        "routine_column_usage",
        "specific_catalog specific_schema specific_name routine_catalog routine_schema \
         routine_name table_catalog table_schema table_name column_name",
    ),
    (
        "routine_routine_usage",
        "specific_catalog specific_schema specific_name routine_catalog routine_schema \
         routine_name",
    ),
    (
        "routine_sequence_usage",
        "specific_catalog specific_schema specific_name routine_catalog routine_schema \
         routine_name sequence_catalog sequence_schema sequence_name",
    ),
    (
        "routine_table_usage",
        "specific_catalog specific_schema specific_name routine_catalog routine_schema \
         routine_name table_catalog table_schema table_name",
    ),
    (
        "transforms",
        "udt_catalog udt_schema udt_name specific_catalog specific_schema specific_name \
         group_name transform_type",
    ),
    (
        "triggered_update_columns",
        "trigger_catalog trigger_schema trigger_name event_object_catalog event_object_schema \
         event_object_table event_object_column",
    ),
    (
        "user_mapping_options",
        "authorization_identifier foreign_server_catalog foreign_server_name option_name \
         option_value",
    ),
    (
        "user_mappings",
        "authorization_identifier foreign_server_catalog foreign_server_name",
    ),
    (
        "attributes",
        "udt_catalog udt_schema udt_name attribute_name ordinal_position:int \
         attribute_default is_nullable data_type character_maximum_length:int \
         character_octet_length:int character_set_catalog character_set_schema \
         character_set_name collation_catalog collation_schema collation_name \
         numeric_precision:int numeric_precision_radix:int numeric_scale:int \
         datetime_precision:int interval_type interval_precision:int attribute_udt_catalog \
         attribute_udt_schema attribute_udt_name scope_catalog scope_schema scope_name \
         maximum_cardinality:int dtd_identifier is_derived_reference_attribute",
    ),
    (
        "domains",
        "domain_catalog domain_schema domain_name data_type character_maximum_length:int \
         character_octet_length:int character_set_catalog character_set_schema \
         character_set_name collation_catalog collation_schema collation_name \
         numeric_precision:int numeric_precision_radix:int numeric_scale:int \
         datetime_precision:int interval_type interval_precision:int domain_default \
         udt_catalog udt_schema udt_name scope_catalog scope_schema scope_name \
         maximum_cardinality:int dtd_identifier",
    ),
    (
        "user_defined_types",
        "user_defined_type_catalog user_defined_type_schema user_defined_type_name \
         user_defined_type_category is_instantiable is_final ordering_form ordering_category \
         ordering_routine_catalog ordering_routine_schema ordering_routine_name \
         reference_type data_type character_maximum_length:int character_octet_length:int \
         character_set_catalog character_set_schema character_set_name collation_catalog \
         collation_schema collation_name numeric_precision:int numeric_precision_radix:int \
         numeric_scale:int datetime_precision:int interval_type interval_precision:int \
         source_dtd_identifier ref_dtd_identifier",
    ),
    (
        "sequences",
        "sequence_catalog sequence_schema sequence_name data_type numeric_precision:int \
         numeric_precision_radix:int numeric_scale:int start_value minimum_value \
         maximum_value increment cycle_option",
    ),
    (
        "triggers",
        "trigger_catalog trigger_schema trigger_name event_manipulation event_object_catalog \
         event_object_schema event_object_table action_order:int action_condition \
         action_statement action_orientation action_timing action_reference_old_table \
         action_reference_new_table action_reference_old_row action_reference_new_row \
         created:timestamptz",
    ),
    (
        "sql_features",
        "feature_id feature_name sub_feature_id sub_feature_name is_supported is_verified_by \
         comments",
    ),
    (
        "sql_parts",
        "feature_id feature_name is_supported is_verified_by comments",
    ),
    (
        "sql_sizing",
        "sizing_id:int sizing_name supported_value:int comments",
    ),
];

/// (name, query) of each view.
pub fn views() -> Vec<(&'static str, String)> {
    ABSENT
        .iter()
        .map(|(name, spec)| (*name, empty(spec)))
        .collect()
}
