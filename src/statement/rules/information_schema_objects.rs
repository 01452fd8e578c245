//! The rest of the standard's information_schema views a client may read, over pg_catalog as
//! PostgreSQL defines them: `views` (DataFusion's listed every table as a view, with none of
//! the standard's columns), `schemata` with its owners, and the privilege and role views of
//! tables. system_views.rs puts these queries in place of the references.
//!
//! Privileges: cip does not keep GRANTs, so, as PostgreSQL does for a relation with default
//! privileges, each relation's owner holds every privilege on it (granted by itself).

const NULL: &str = "CAST(NULL AS VARCHAR)";

/// Views only, with the standard's columns; none can be written through.
const VIEWS: &str = "SELECT t.table_catalog, t.table_schema, t.table_name, \
        cip_view_query(v.definition) AS view_definition, 'NONE' AS check_option, \
        'NO' AS is_updatable, \
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

pub(super) const APPLICABLE_ROLES: &str = "SELECT u.rolname AS grantee, g.rolname AS role_name, \
        CASE WHEN m.admin_option THEN 'YES' ELSE 'NO' END AS is_grantable \
     FROM pg_catalog.pg_auth_members m \
     JOIN pg_catalog.pg_roles g ON g.oid = m.roleid \
     JOIN pg_catalog.pg_roles u ON u.oid = m.member WHERE u.rolname = session_user";

/// Typed NULLs for the columns `spec` names, whitespace-separated, each of its `name:TYPE`
/// type (VARCHAR when none is given): a select list.
pub(super) fn nulls(spec: &str) -> String {
    let items: Vec<String> = spec
        .split_whitespace()
        .map(|c| match c.split_once(':') {
            Some((name, t)) => format!("CAST(NULL AS {}) AS {name}", t.to_uppercase()),
            None => format!("{NULL} AS {c}"),
        })
        .collect();
    items.join(", ")
}

/// The standard's details of a data type that cip leaves NULL (for a routine's result and
/// parameters, an array's element), as `nulls` reads them.
pub(super) const TYPE_DETAILS: &str = "character_maximum_length:int character_octet_length:int \
     character_set_catalog character_set_schema character_set_name collation_catalog \
     collation_schema collation_name numeric_precision:int numeric_precision_radix:int \
     numeric_scale:int datetime_precision:int interval_type interval_precision:int";

/// A reference type's scope and an array's bound, NULL for every type here.
pub(super) const SCOPE: &str = "scope_catalog scope_schema scope_name maximum_cardinality:int";

/// A view of no rows with the columns `spec` names (as `nulls` reads it).
pub(super) fn empty(spec: &str) -> String {
    format!("SELECT {} WHERE false", nulls(spec))
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
    ]
}
