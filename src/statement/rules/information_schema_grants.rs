//! information_schema's privilege views of routines, types and collations, and the role
//! views built on the others, as PostgreSQL 15 lists objects with default privileges (cip
//! keeps no GRANTs): the owner holds each privilege, grantable, and PUBLIC may execute every
//! function and use every collation and composite type, not grantable. Functions, types and
//! collations belong to the bootstrap superuser (OID 10), as pg_proc and pg_type say.
//! system_views.rs puts these queries in place of the references.

use super::information_schema_collations::{COLUMN_PRIVILEGES, USABLE_COLLATIONS};
use super::information_schema_objects::APPLICABLE_ROLES;

/// The owner's grant and PUBLIC's: `GRANTS` joined to an object's row, then `grantee(owner)`
/// and `IS_GRANTABLE` as its columns.
const GRANTS: &str = "CROSS JOIN (VALUES (true), (false)) AS g(own)";
const IS_GRANTABLE: &str = "CASE WHEN g.own THEN 'YES' ELSE 'NO' END AS is_grantable";

fn grantee(owner: &str) -> String {
    format!("CASE WHEN g.own THEN {owner} ELSE 'PUBLIC' END AS grantee")
}

/// EXECUTE on every function DataFusion lists (one row per routine name and schema).
fn routine_privileges() -> String {
    format!(
        "SELECT pg_get_userbyid(10) AS grantor, {}, r.specific_catalog, \
            r.specific_schema, r.specific_name, r.routine_catalog, r.routine_schema, \
            r.routine_name, 'EXECUTE' AS privilege_type, {IS_GRANTABLE} \
         FROM (SELECT DISTINCT specific_catalog, specific_schema, specific_name, \
                 routine_catalog, routine_schema, routine_name \
               FROM information_schema.routines) r {GRANTS}",
        grantee("pg_get_userbyid(10)")
    )
}

/// TYPE USAGE on the composite types (PostgreSQL's udt_privileges lists typtype 'c').
fn udt_privileges() -> String {
    format!(
        "SELECT pg_get_userbyid(t.typowner) AS grantor, {}, \
            current_database() AS udt_catalog, n.nspname AS udt_schema, t.typname AS udt_name, \
            'TYPE USAGE' AS privilege_type, {IS_GRANTABLE} \
         FROM pg_catalog.pg_type t \
         JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace {GRANTS} \
         WHERE t.typtype = 'c'",
        grantee("pg_get_userbyid(t.typowner)")
    )
}

/// USAGE on the collations usable with the database's encoding, PUBLIC's only (as
/// PostgreSQL lists them: a collation has no ACL of its own).
fn usage_privileges() -> String {
    format!(
        "SELECT pg_get_userbyid(10) AS grantor, 'PUBLIC' AS grantee, \
            current_database() AS object_catalog, nc.nspname AS object_schema, \
            c.collname AS object_name, 'COLLATION' AS object_type, \
            'USAGE' AS privilege_type, 'NO' AS is_grantable {USABLE_COLLATIONS}"
    )
}

/// (name, query) of each view.
pub fn views() -> Vec<(&'static str, String)> {
    vec![
        ("routine_privileges", routine_privileges()),
        // The role_* views are their privilege view's rows granted by or to a role the
        // session acts as: all of them here, the grantor being the owner.
        ("role_routine_grants", routine_privileges()),
        ("udt_privileges", udt_privileges()),
        ("role_udt_grants", udt_privileges()),
        ("usage_privileges", usage_privileges()),
        ("role_usage_grants", usage_privileges()),
        ("role_column_grants", COLUMN_PRIVILEGES.to_string()),
        (
            "administrable_role_authorizations",
            format!("SELECT * FROM ({APPLICABLE_ROLES}) a WHERE a.is_grantable = 'YES'"),
        ),
    ]
}
