//! The AST rewrites every statement goes through after parsing, in order: a reviewed subset
//! of datafusion-pg-catalog's rules, then cip's own, one rule per file. Each rule has the
//! shape of datafusion-pg-catalog's `SqlStatementRewriteRule` (statement in, statement out)
//! and its own test.
//!
//! Of datafusion-pg-catalog 0.19's fixed list (`PostgresCompatibilityParser::new()`), three
//! are left out on purpose:
//! - `RemoveSubqueryFromProjection` replaced every correlated scalar subquery in a projection
//!   with NULL — in users' queries too, which then silently answered NULL
//!   (`SELECT c.id, (SELECT count(*) FROM a WHERE a.c = c.id) FROM c`). DataFusion plans such
//!   aggregated subqueries itself; the catalog queries that need help get it from
//!   `catalog_scalar_subqueries`, which only touches statements over the catalogs.
//! - `ResolveUnqualifiedIdentifier` qualified every bare column of WHERE / ORDER BY with the
//!   table of a `t.*` in the projection, which points a column of another joined table at the
//!   wrong one.
//! - `FixVersionColumnName` is subsumed by PostgreSQL's column naming (names.rs).
//!
//! And one is replaced: `RewriteRegCastToSubquery` by `reg_lookups` (a missing name is
//! PostgreSQL's error, not NULL; unqualified relations are looked for in pg_catalog too).

mod array_subquery;
pub mod ast;
mod at_time_zone;
mod catalog_array_columns;
pub mod catalog_fallback;
mod catalog_scalar_subqueries;
mod catalog_subscripts;
mod datetime_patterns;
mod definitions;
mod distinct_from_precedence;
mod expand_array;
pub mod functions_in_from;
mod in_subquery_in_projection;
mod information_schema_absent;
mod information_schema_collations;
mod information_schema_columns;
mod information_schema_constraints;
mod information_schema_grants;
mod information_schema_objects;
mod information_schema_routines;
mod information_schema_usage;
mod lateral_unnest;
mod like_escape;
mod nested_values;
mod order_by_positions;
mod order_by_subqueries;
mod pg_catalog_absent;
mod pg_catalog_statistics;
mod reg_functions;
mod reg_lookups;
mod regclass_names;
mod regproc_columns;
mod regtype_text;
mod row_in_subquery;
mod serial_columns;
mod subquery;
mod system_views;
mod table_oids;
mod type_names;
pub mod unique_output_names;
mod unnest_table_factor;
mod user_registers;

pub(crate) use reg_lookups::reg_kind;
pub(crate) use system_views::relations as system_relations;
pub(crate) use type_names::as_cast;

use datafusion::sql::sqlparser::ast::Statement;
use datafusion_postgres::datafusion_pg_catalog::sql::rules::{
    AliasDuplicatedProjectionRewrite, CurrentUserVariableToSessionUserFunctionCall,
    FixArrayLiteral, PrependUnqualifiedPgTableName, RewriteArrayAnyAllOperation,
    RewritePgCatalogOperator, SqlStatementRewriteRule, StripCallableQualifier, StripCollate,
};
use std::sync::{Arc, LazyLock};

static RULES: LazyLock<Vec<Arc<dyn SqlStatementRewriteRule>>> = LazyLock::new(|| {
    vec![
        // First: the parse itself, as PostgreSQL would have grouped it.
        Arc::new(distinct_from_precedence::DistinctFromPrecedence),
        // Before datafusion-pg-catalog's reg* casts, which leave an OID a number.
        Arc::new(regtype_text::RegtypeText),
        Arc::new(regproc_columns::RegprocColumns),
        Arc::new(type_names::TypeNames),
        Arc::new(serial_columns::SerialColumns),
        Arc::new(nested_values::NestedValues),
        Arc::new(datetime_patterns::DatetimePatterns),
        Arc::new(like_escape::LikeEscape),
        Arc::new(at_time_zone::AtTimeZone),
        // datafusion-pg-catalog's, reviewed (see the module docs for those left out).
        Arc::new(AliasDuplicatedProjectionRewrite),
        Arc::new(RewriteArrayAnyAllOperation),
        Arc::new(PrependUnqualifiedPgTableName),
        Arc::new(StripCallableQualifier),
        Arc::new(FixArrayLiteral),
        Arc::new(CurrentUserVariableToSessionUserFunctionCall),
        Arc::new(StripCollate),
        Arc::new(RewritePgCatalogOperator),
        Arc::new(reg_functions::RegFunctions),
        Arc::new(reg_lookups::RegLookups),
        Arc::new(regclass_names::RegclassNames),
        // cip's.
        Arc::new(table_oids::TableOids),
        Arc::new(system_views::SystemViews),
        Arc::new(user_registers::UserRegisters),
        Arc::new(unnest_table_factor::UnnestTableFactor),
        Arc::new(lateral_unnest::LateralUnnest),
        Arc::new(unique_output_names::UniqueOutputNames),
        Arc::new(order_by_positions::OrderByPositions),
        Arc::new(order_by_subqueries::OrderBySubqueries),
        Arc::new(row_in_subquery::RowInSubquery),
        Arc::new(in_subquery_in_projection::InSubqueryInProjection),
        Arc::new(catalog_array_columns::CatalogArrayColumns),
        Arc::new(catalog_subscripts::CatalogSubscripts),
        Arc::new(array_subquery::ArraySubquery),
        Arc::new(definitions::Definitions),
        Arc::new(expand_array::ExpandArray),
        Arc::new(catalog_scalar_subqueries::CatalogScalarSubqueries),
    ]
});

/// `statement` after every rule.
pub fn rewrite(mut statement: Statement) -> Statement {
    for rule in RULES.iter() {
        statement = rule.rewrite(statement);
    }
    statement
}

#[cfg(test)]
pub(crate) fn parse(sql: &str) -> Statement {
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    Parser::parse_sql(&PostgreSqlDialect {}, sql)
        .expect("test SQL parses")
        .remove(0)
}
