//! The rest of the standard's information_schema views a client may read, over pg_catalog as
//! PostgreSQL defines them: `views` (DataFusion's listed every table as a view, with none of
//! the standard's columns), `schemata` with its owners, the privilege and role views, and
//! `sequences`, `triggers` and `domains` — empty, as cip has none of these objects, but
//! answering with their columns instead of 42P01. system_views.rs puts these queries in place
//! of the references.
//!
//! Privileges: cip does not keep GRANTs, so, as PostgreSQL does for a relation with default
//! privileges, each relation's owner holds every privilege on it (granted by itself).

const NULL: &str = "CAST(NULL AS VARCHAR)";

/// Views only, with the standard's columns; none can be written through.
const VIEWS: &str = "SELECT t.table_catalog, t.table_schema, t.table_name, \
        v.definition AS view_definition, 'NONE' AS check_option, 'NO' AS is_updatable, \
        'NO' AS is_insertable_into, 'NO' AS is_trigger_updatable, \
        'NO' AS is_trigger_deletable, 'NO' AS is_trigger_insertable_into \
     FROM information_schema.tables t \
     LEFT JOIN information_schema.views v ON v.table_catalog = t.table_catalog \
       AND v.table_schema = t.table_schema AND v.table_name = t.table_name \
     WHERE t.table_type = 'VIEW'";

/// Each schema with its owner, information_schema among them as PostgreSQL lists it (owned,
/// like pg_catalog, by the bootstrap superuser, OID 10; DataFusion lists neither it nor an
/// owner).
const SCHEMATA: &str = "SELECT s.catalog_name, s.schema_name, \
        pg_get_userbyid(coalesce(n.nspowner, 10)) AS schema_owner, \
        s.default_character_set_catalog, s.default_character_set_schema, \
        s.default_character_set_name, s.sql_path \
     FROM (SELECT * FROM information_schema.schemata \
           UNION ALL SELECT current_database(), 'information_schema', NULL, NULL, NULL, \
             NULL, NULL WHERE NOT EXISTS (SELECT 1 FROM information_schema.schemata \
               WHERE schema_name = 'information_schema')) s \
     LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = s.schema_name";

/// A table's privileges as PostgreSQL lists them (SELECT is the one `with_hierarchy`).
const TABLE_PRIVILEGES: &str = "SELECT pg_get_userbyid(c.relowner) AS grantor, \
        pg_get_userbyid(c.relowner) AS grantee, current_database() AS table_catalog, \
        n.nspname AS table_schema, c.relname AS table_name, p.privilege_type, \
        'YES' AS is_grantable, \
        CASE WHEN p.privilege_type = 'SELECT' THEN 'YES' ELSE 'NO' END AS with_hierarchy \
     FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     CROSS JOIN (VALUES ('INSERT'), ('SELECT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'), \
                        ('REFERENCES'), ('TRIGGER')) AS p(privilege_type) \
     WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p')";

/// The roles the session's user acts as: itself and the roles it is a member of.
const ENABLED_ROLES: &str = "SELECT r.rolname AS role_name FROM pg_catalog.pg_roles r \
     WHERE r.rolname = session_user \
     UNION SELECT g.rolname FROM pg_catalog.pg_auth_members m \
     JOIN pg_catalog.pg_roles g ON g.oid = m.roleid \
     JOIN pg_catalog.pg_roles u ON u.oid = m.member WHERE u.rolname = session_user";

const APPLICABLE_ROLES: &str = "SELECT u.rolname AS grantee, g.rolname AS role_name, \
        CASE WHEN m.admin_option THEN 'YES' ELSE 'NO' END AS is_grantable \
     FROM pg_catalog.pg_auth_members m \
     JOIN pg_catalog.pg_roles g ON g.oid = m.roleid \
     JOIN pg_catalog.pg_roles u ON u.oid = m.member WHERE u.rolname = session_user";

/// `columns` typed NULLs (`INT` where the name ends in `:int`) selected from nothing.
pub(super) fn empty(columns: &[&str]) -> String {
    let items: Vec<String> = columns
        .iter()
        .map(|c| match c.strip_suffix(":int") {
            Some(name) => format!("CAST(NULL AS INT) AS {name}"),
            None => format!("{NULL} AS {c}"),
        })
        .collect();
    format!("SELECT {} WHERE false", items.join(", "))
}

/// (name, query) of each view.
pub fn views() -> Vec<(&'static str, String)> {
    vec![
        ("views", VIEWS.to_string()),
        ("schemata", SCHEMATA.to_string()),
        ("table_privileges", TABLE_PRIVILEGES.to_string()),
        // PostgreSQL's role_table_grants is table_privileges' rows (both limited to the
        // roles in play).
        ("role_table_grants", TABLE_PRIVILEGES.to_string()),
        ("enabled_roles", ENABLED_ROLES.to_string()),
        ("applicable_roles", APPLICABLE_ROLES.to_string()),
        (
            "sequences",
            empty(&[
                "sequence_catalog",
                "sequence_schema",
                "sequence_name",
                "data_type",
                "numeric_precision:int",
                "numeric_precision_radix:int",
                "numeric_scale:int",
                "start_value",
                "minimum_value",
                "maximum_value",
                "increment",
                "cycle_option",
            ]),
        ),
        (
            "triggers",
            empty(&[
                "trigger_catalog",
                "trigger_schema",
                "trigger_name",
                "event_manipulation",
                "event_object_catalog",
                "event_object_schema",
                "event_object_table",
                "action_order:int",
                "action_condition",
                "action_statement",
                "action_orientation",
                "action_timing",
                "action_reference_old_table",
                "action_reference_new_table",
                "action_reference_old_row",
                "action_reference_new_row",
                "created",
            ]),
        ),
        (
            "domains",
            empty(&[
                "domain_catalog",
                "domain_schema",
                "domain_name",
                "data_type",
                "character_maximum_length:int",
                "numeric_precision:int",
                "numeric_scale:int",
                "domain_default",
                "udt_catalog",
                "udt_schema",
                "udt_name",
            ]),
        ),
    ]
}
