//! `pg_views` and `pg_tables` as PostgreSQL defines them, over pg_class: datafusion-pg-catalog
//! answers pg_views with an empty table and lists views in pg_tables (with a column misnamed
//! `hasindex`). dbt lists a schema's relations with both and treats what pg_tables names as
//! tables; Metabase and DBeaver read them too. A reference to either becomes the defining
//! query, under the reference's alias (a view kept in the catalog would hold the session's
//! catalog alive through its plan). `information_schema.columns` gets PostgreSQL's type names
//! and `information_schema.tables` the standard's columns the same way
//! (information_schema_columns.rs), the standard's other views are defined over pg_catalog
//! (information_schema_constraints.rs, information_schema_objects.rs), and `pg_namespace`
//! lists information_schema.

use super::ast::name_parts;
use datafusion::sql::sqlparser::ast::{
    Ident, Query, Statement, TableAlias, TableFactor, VisitMut, VisitorMut,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;
use std::sync::LazyLock;

const PG_VIEWS: &str = "SELECT n.nspname AS schemaname, c.relname AS viewname, \
        pg_get_userbyid(c.relowner) AS viewowner, cip_view_query(v.definition) AS definition \
     FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN information_schema.views v \
       ON v.table_schema = n.nspname AND v.table_name = c.relname \
     WHERE c.relkind = 'v'";

const PG_TABLES: &str = "SELECT n.nspname AS schemaname, c.relname AS tablename, \
        pg_get_userbyid(c.relowner) AS tableowner, CAST(NULL AS VARCHAR) AS tablespace, \
        c.relhasindex AS hasindexes, false AS hasrules, false AS hastriggers, false AS rowsecurity \
     FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind IN ('r', 'p')";

/// DataFusion serves information_schema beside the catalog's schemas, so
/// datafusion-pg-catalog does not list it; PostgreSQL does, with the OID its own catalog rows
/// (the information_schema functions in pg_proc, its types in pg_type) name it by.
fn pg_namespace() -> String {
    format!(
        "SELECT * FROM pg_catalog.pg_namespace \
         UNION ALL SELECT {}, 'information_schema', 10, NULL, NULL",
        crate::catalog::object_ids::INFORMATION_SCHEMA_OID
    )
}

/// The standard's information_schema views cip defines over pg_catalog.
fn standard_views() -> Vec<(&'static str, String)> {
    let mut views = super::information_schema_constraints::views();
    views.extend(super::information_schema_objects::views());
    views.extend(super::information_schema_collations::views());
    views.extend(super::information_schema_grants::views());
    views.extend(super::information_schema_usage::views());
    views.extend(super::information_schema_absent::views());
    views.extend(super::information_schema_routines::views());
    views
}

/// The relations cip adds to pg_catalog itself (catalog/overrides.rs), which
/// datafusion-pg-catalog's unqualified lookup does not know.
const FOUND_UNQUALIFIED: &[&str] = &[
    "pg_indexes",
    "pg_user",
    "pg_stat_activity",
    "pg_locks",
    "pg_stat_ssl",
    "pg_timezone_names",
];

/// (schema, relation, its query): pg_catalog's are found unqualified too.
static QUERIES: LazyLock<Vec<(&'static str, &'static str, Query)>> = LazyLock::new(|| {
    let standard = standard_views();
    let mut sources: Vec<(&'static str, &'static str, String)> = vec![
        ("pg_catalog", "pg_views", PG_VIEWS.to_string()),
        ("pg_catalog", "pg_tables", PG_TABLES.to_string()),
        ("pg_catalog", "pg_namespace", pg_namespace()),
        // datafusion-pg-catalog's pg_collation has PostgreSQL 17's columns; cip answers as
        // 16 (server_version), whose clients ask for colliculocale (psql 15/16's `\dO`).
        (
            "pg_catalog",
            "pg_collation",
            "SELECT oid, collname, collnamespace, collowner, collprovider, \
               collisdeterministic, collencoding, collcollate, collctype, \
               colllocale AS colliculocale, collicurules, collversion \
             FROM pg_catalog.pg_collation"
                .to_string(),
        ),
        // datafusion-pg-catalog's pg_database has its columns in an order no PostgreSQL
        // has, PostgreSQL 14's datlastsysoid (kept, last) and not datcollversion; here in
        // PostgreSQL 16's order (server_version), the version of the collation unknown.
        (
            "pg_catalog",
            "pg_database",
            "SELECT oid, datname, datdba, encoding, datlocprovider, datistemplate, \
               datallowconn, datconnlimit, datfrozenxid, datminmxid, dattablespace, \
               datcollate, datctype, daticulocale, daticurules, \
               CAST(NULL AS VARCHAR) AS datcollversion, datacl AS datacl, datlastsysoid \
             FROM pg_catalog.pg_database"
                .to_string(),
        ),
        // No foreign servers, so no user mappings (psql's `\deu`).
        (
            "pg_catalog",
            "pg_user_mappings",
            super::information_schema_objects::empty(
                "umid:int srvid:int srvname umuser:int usename umoptions:varchar[]",
            ),
        ),
    ];
    // cip's own relations (catalog/overrides.rs), found unqualified as PostgreSQL's are.
    sources.extend(FOUND_UNQUALIFIED.iter().map(|name| {
        let sql = format!("SELECT * FROM pg_catalog.{name}");
        ("pg_catalog", *name, sql)
    }));
    sources.extend(
        standard
            .into_iter()
            .map(|(name, sql)| ("information_schema", name, sql)),
    );
    sources.extend(
        super::pg_catalog_absent::views()
            .into_iter()
            .chain(super::pg_catalog_statistics::views())
            .map(|(name, sql)| ("pg_catalog", name, sql)),
    );
    // information_schema.tables and .columns list every relation here, themselves included.
    let mut listed: Vec<(&str, &str)> = sources.iter().map(|(s, n, _)| (*s, *n)).collect();
    listed.extend([
        ("information_schema", "tables"),
        ("information_schema", "columns"),
    ]);
    let columns = super::information_schema_columns::query(&listed);
    let tables = super::information_schema_columns::tables(&listed);
    sources.push(("information_schema", "tables", tables));
    sources.push(("information_schema", "columns", columns));
    sources
        .into_iter()
        .filter_map(|(schema, name, sql)| Some((schema, name, super::ast::template_query(&sql)?)))
        .collect()
});

/// (schema, name) of every relation defined here.
pub fn relations() -> impl Iterator<Item = (&'static str, &'static str)> {
    QUERIES.iter().map(|(schema, name, _)| (*schema, *name))
}

#[derive(Debug)]
pub struct SystemViews;

struct Visitor;

impl VisitorMut for Visitor {
    type Break = ();

    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        let parts = name_parts(name);
        let (schema, object) = match parts.as_slice() {
            [o] => (None, o.as_str()),
            [s, o] => (Some(s.as_str()), o.as_str()),
            [_, s, o] => (Some(s.as_str()), o.as_str()),
            _ => return ControlFlow::Continue(()),
        };
        let found = QUERIES.iter().find(|(s, n, _)| {
            *n == object && (schema == Some(*s) || (schema.is_none() && *s == "pg_catalog"))
        });
        let Some((_, _, query)) = found else {
            return ControlFlow::Continue(());
        };
        let alias = alias.clone().unwrap_or_else(|| TableAlias {
            explicit: true,
            name: Ident::new(object),
            columns: vec![],
            at: None,
        });
        *factor = TableFactor::Derived {
            lateral: false,
            subquery: Box::new(query.clone()),
            alias: Some(alias),
            sample: None,
        };
        ControlFlow::Continue(())
    }
}

impl SqlStatementRewriteRule for SystemViews {
    fn rewrite(&self, mut s: Statement) -> Statement {
        let _ = s.visit(&mut Visitor);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_system_view_parses() {
        // QUERIES drops a query that does not parse; a typo must fail here, not vanish.
        let expected = 14
            + standard_views().len()
            + super::super::pg_catalog_absent::views().len()
            + super::super::pg_catalog_statistics::views().len();
        assert_eq!(QUERIES.len(), expected);
    }

    #[test]
    fn pg_views_and_pg_tables_read_pg_class() {
        let out = SystemViews
            .rewrite(super::super::parse(
                "SELECT viewname FROM pg_catalog.pg_views v WHERE v.schemaname = 'a' \
                 UNION ALL SELECT tablename FROM pg_tables",
            ))
            .to_string();
        assert!(out.contains("WHERE c.relkind = 'v') v WHERE"), "{out}");
        assert!(
            out.contains("WHERE c.relkind IN ('r', 'p')) AS pg_tables"),
            "{out}"
        );
        let columns = SystemViews
            .rewrite(super::super::parse(
                "SELECT data_type FROM information_schema.columns WHERE table_name = 't'",
            ))
            .to_string();
        assert!(
            columns.contains("'Int64', 'UInt32') THEN 'bigint'"),
            "{columns}"
        );
        assert!(
            columns.contains(") AS columns WHERE table_name"),
            "{columns}"
        );
        // Only the qualified name is information_schema's.
        let untouched = "SELECT * FROM columns";
        assert_eq!(
            SystemViews
                .rewrite(super::super::parse(untouched))
                .to_string(),
            untouched
        );
        let untouched = "SELECT * FROM analytics.pg_views";
        assert_eq!(
            SystemViews
                .rewrite(super::super::parse(untouched))
                .to_string(),
            untouched
        );
    }
}
