//! information_schema's character set, collation and column privilege views, over pg_catalog
//! as PostgreSQL's information_schema.sql defines them. system_views.rs puts these queries in
//! place of the references.
//!
//! cip's text is UTF-8 and compared byte by byte, which is PostgreSQL's "C" collation; the
//! database's encoding is UTF8 (`getdatabaseencoding()`).

/// The database's one character set, with its default collation as pg_database names it.
const CHARACTER_SETS: &str = "SELECT CAST(NULL AS VARCHAR) AS character_set_catalog, \
        CAST(NULL AS VARCHAR) AS character_set_schema, \
        getdatabaseencoding() AS character_set_name, 'UCS' AS character_repertoire, \
        getdatabaseencoding() AS form_of_use, current_database() AS default_collate_catalog, \
        'pg_catalog' AS default_collate_schema, 'C' AS default_collate_name";

/// The collations usable with the database's encoding (any encoding, or UTF8's), as `c` in
/// the schema `nc`: what both collation views list.
pub(super) const USABLE_COLLATIONS: &str = "FROM pg_catalog.pg_collation c \
     JOIN pg_catalog.pg_namespace nc ON c.collnamespace = nc.oid \
     WHERE c.collencoding IN (-1, 6)";

const COLLATIONS: &str = "SELECT current_database() AS collation_catalog, \
        nc.nspname AS collation_schema, c.collname AS collation_name, \
        'NO PAD' AS pad_attribute";

const COLLATION_CHARACTER_SET_APPLICABILITY: &str = "SELECT \
        current_database() AS collation_catalog, nc.nspname AS collation_schema, \
        c.collname AS collation_name, CAST(NULL AS VARCHAR) AS character_set_catalog, \
        CAST(NULL AS VARCHAR) AS character_set_schema, \
        getdatabaseencoding() AS character_set_name";

/// Each column's privileges as PostgreSQL lists a relation owner's (cip keeps no GRANTs):
/// the four that apply to columns, granted by the owner to itself.
pub(super) const COLUMN_PRIVILEGES: &str = "SELECT pg_get_userbyid(c.relowner) AS grantor, \
        pg_get_userbyid(c.relowner) AS grantee, current_database() AS table_catalog, \
        n.nspname AS table_schema, c.relname AS table_name, a.attname AS column_name, \
        p.privilege_type, 'YES' AS is_grantable \
     FROM pg_catalog.pg_attribute a \
     JOIN pg_catalog.pg_class c ON a.attrelid = c.oid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     CROSS JOIN (VALUES ('INSERT'), ('SELECT'), ('UPDATE'), ('REFERENCES')) \
       AS p(privilege_type) \
     WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'v', 'm', 'f', 'p')";

/// (name, query) of each view.
pub fn views() -> Vec<(&'static str, String)> {
    vec![
        ("character_sets", CHARACTER_SETS.to_string()),
        ("collations", format!("{COLLATIONS} {USABLE_COLLATIONS}")),
        (
            "collation_character_set_applicability",
            format!("{COLLATION_CHARACTER_SET_APPLICABILITY} {USABLE_COLLATIONS}"),
        ),
        ("column_privileges", COLUMN_PRIVILEGES.to_string()),
    ]
}
