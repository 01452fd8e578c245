//! What a view's statement reads, from its parsed SQL (cip keeps a view as the statement that
//! made it): the relations it names, the identifiers it uses, the functions it calls, and its
//! query alone. DROP … RESTRICT finds a view's dependents with it (statement/dependents.rs),
//! and two catalog functions give it to the catalog's SQL:
//! - `cip_view_query(definition)`: the query PostgreSQL's `pg_get_viewdef`,
//!   `pg_views.definition` and `information_schema.views.view_definition` give (` SELECT …;`,
//!   which DBeaver and pgAdmin put after their own `CREATE OR REPLACE VIEW v AS`); cip kept
//!   the whole `CREATE OR REPLACE VIEW` there, which such a tool then doubled;
//! - `cip_view_reads(definition, kind)`: the `relations` (`schema.name`), `columns`
//!   (identifiers, `*` for a wildcard) or `functions` it reads, for view_table_usage,
//!   view_column_usage and view_routine_usage (statement/rules/information_schema_usage.rs).

use super::like_escape::texts;
use super::object_names::{fold, qualified};
use cip_udfs::error::sql_error;
use cip_udfs::sqlstate;
use datafusion::arrow::array::{Array, ListBuilder, StringArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{
    visit_expressions, visit_relations, Expr, Ident, ObjectNamePart, Query, SelectItem, SetExpr,
    Statement, Visit, Visitor,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::sync::{Arc, LazyLock};

/// A view's query and the names of its columns when its statement lists them, from either
/// form cip keeps (`CREATE [OR REPLACE] VIEW … AS query`, or the query alone).
fn parsed(sql: &str) -> Option<(Query, Vec<Ident>)> {
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    match statements.pop()? {
        Statement::CreateView(v) => {
            let names = v.columns.iter().map(|c| c.name.clone()).collect();
            Some((*v.query, names))
        }
        Statement::Query(q) => Some((*q, vec![])),
        _ => None,
    }
}

/// The `schema.object` names a view's statement reads, leaving out its own CTEs' names.
pub fn relations(sql: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some((query, _)) = parsed(sql) else {
        return out;
    };
    let mut ctes = BTreeSet::new();
    let _ = visit_queries(&query, |q| {
        for cte in q.with.iter().flat_map(|w| &w.cte_tables) {
            ctes.insert(fold(&cte.alias.name));
        }
    });
    let _ = visit_relations(&query, |name| {
        let local = matches!(name.0.as_slice(), [ObjectNamePart::Identifier(i)]
            if ctes.contains(&fold(i)));
        if let (false, Some((schema, object))) = (local, qualified(name)) {
            out.insert(format!("{schema}.{object}"));
        }
        ControlFlow::<()>::Continue(())
    });
    out
}

/// Calls `f` with every query in `query` (itself, subqueries, CTEs).
fn visit_queries(query: &Query, f: impl FnMut(&Query)) -> ControlFlow<()> {
    struct Queries<F>(F);
    impl<F: FnMut(&Query)> Visitor for Queries<F> {
        type Break = ();
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
            (self.0)(q);
            ControlFlow::Continue(())
        }
    }
    query.visit(&mut Queries(f))
}

/// Every identifier a view's statement uses as a column (the last part of a compound one),
/// and `*` when it selects a wildcard.
pub fn columns(sql: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some((query, _)) = parsed(sql) else {
        return out;
    };
    let _ = visit_expressions(&query, |e| {
        match e {
            Expr::Identifier(i) => {
                out.insert(fold(i));
            }
            Expr::CompoundIdentifier(parts) => {
                if let Some(i) = parts.last() {
                    out.insert(fold(i));
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    let _ = visit_queries(&query, |q| {
        if let SetExpr::Select(s) = q.body.as_ref() {
            if s.projection.iter().any(|i| {
                matches!(
                    i,
                    SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
                )
            }) {
                out.insert("*".into());
            }
        }
    });
    out
}

/// The functions a view's statement calls (their last name part).
pub fn functions(sql: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some((query, _)) = parsed(sql) else {
        return out;
    };
    let _ = visit_expressions(&query, |e| {
        if let Expr::Function(f) = e {
            if let Some(ObjectNamePart::Identifier(i)) = f.name.0.last() {
                out.insert(fold(i));
            }
        }
        ControlFlow::<()>::Continue(())
    });
    out
}

/// The view's query as PostgreSQL's deparser lays it out at the ends (` SELECT …;`); a column
/// list the statement gave names the query's columns as that list does. None when the text
/// is no view statement.
pub fn query_text(sql: &str) -> Option<String> {
    let (query, names) = parsed(sql)?;
    if names.is_empty() {
        return Some(format!(" {query};"));
    }
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    Some(format!(
        " SELECT * FROM ({query}) AS cip_view({});",
        names.join(", ")
    ))
}

pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::from(ViewQuery {
        signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
    }));
    ctx.register_udf(ScalarUDF::from(ViewReads {
        signature: Signature::exact(vec![DataType::Utf8, DataType::Utf8], Volatility::Immutable),
    }));
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ViewQuery {
    signature: Signature,
}

impl ScalarUDFImpl for ViewQuery {
    fn name(&self) -> &str {
        "cip_view_query"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [definition] = args.args.as_slice() else {
            return Err(sql_error(
                sqlstate::UNDEFINED_FUNCTION,
                "cip_view_query takes a view's definition",
            ));
        };
        let definition = texts(definition, rows)?;
        // A text that is no view statement is shown as it is rather than hidden.
        let out: StringArray = (0..rows)
            .map(|row| {
                (!definition.is_null(row)).then(|| {
                    let sql = definition.value(row);
                    query_text(sql).unwrap_or_else(|| sql.to_string())
                })
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&QUERY_DOC)
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ViewReads {
    signature: Signature,
}

impl ScalarUDFImpl for ViewReads {
    fn name(&self) -> &str {
        "cip_view_reads"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(Arc::new(Field::new_list_field(
            DataType::Utf8,
            true,
        ))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [definition, kind] = args.args.as_slice() else {
            return Err(sql_error(
                sqlstate::UNDEFINED_FUNCTION,
                "cip_view_reads takes a view's definition and what to list",
            ));
        };
        let (definition, kind) = (texts(definition, rows)?, texts(kind, rows)?);
        let mut out = ListBuilder::new(StringBuilder::new());
        for row in 0..rows {
            if definition.is_null(row) || kind.is_null(row) {
                out.append_null();
                continue;
            }
            let sql = definition.value(row);
            let found = match kind.value(row) {
                "relations" => relations(sql),
                "columns" => columns(sql),
                "functions" => functions(sql),
                other => {
                    return Err(sql_error(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        format!(
                            "cip_view_reads lists relations, columns or functions, not \"{other}\""
                        ),
                    ))
                }
            };
            for name in found {
                out.values().append_value(name);
            }
            out.append(true);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&READS_DOC)
    }
}

static QUERY_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::SECTION,
        "The query of a view's definition as PostgreSQL's pg_get_viewdef gives it (a leading \
         space, a closing semicolon), without the CREATE VIEW cip keeps it with. A text that \
         is no view statement is given back unchanged; NULL gives NULL.",
        "cip_view_query(definition)",
    )
    .with_sql_example("SELECT cip_view_query('CREATE VIEW v AS SELECT 1 AS a'); --  SELECT 1 AS a;")
    .with_argument(
        "definition",
        "A view's statement, as information_schema.views keeps it.",
    )
    .build()
});

static READS_DOC: LazyLock<Documentation> =
    LazyLock::new(|| {
        Documentation::builder(
        super::SECTION,
        "What a view's statement reads: its `relations` (schema.name, unqualified names in \
         public, its own CTEs left out), the identifiers it uses as `columns` (`*` when it \
         selects a wildcard), or the `functions` it calls. An unparsable text reads nothing; \
         NULL gives NULL; another kind is 22023.",
        "cip_view_reads(definition, kind)",
    )
    .with_sql_example(
        "SELECT cip_view_reads('CREATE VIEW v AS SELECT m.member_id FROM members m', 'relations');",
    )
    .with_argument("definition", "A view's statement, as information_schema.views keeps it.")
    .with_argument("kind", "relations, columns or functions.")
    .build()
    });

#[cfg(test)]
mod tests {
    use super::*;

    const VIEW: &str = "CREATE OR REPLACE VIEW a.v AS WITH k AS (SELECT member_id FROM members) \
        SELECT k.member_id, upper(m.name), * FROM k JOIN \"Other\".t m ON m.id = k.member_id \
        WHERE EXISTS (SELECT 1 FROM cip.public.visits)";

    #[test]
    fn reads_relations_columns_and_functions() {
        let r: Vec<String> = relations(VIEW).into_iter().collect();
        assert_eq!(r, ["Other.t", "public.members", "public.visits"]);
        let c: Vec<String> = columns(VIEW).into_iter().collect();
        assert_eq!(c, ["*", "id", "member_id", "name"]);
        let f: Vec<String> = functions(VIEW).into_iter().collect();
        assert_eq!(f, ["upper"]);
        assert!(relations("not sql").is_empty());
        assert!(relations("DROP VIEW v").is_empty());
    }

    #[test]
    fn the_query_alone() {
        assert_eq!(
            query_text("CREATE OR REPLACE VIEW v AS SELECT 1 AS a").as_deref(),
            Some(" SELECT 1 AS a;")
        );
        assert_eq!(
            query_text("SELECT * FROM t").as_deref(),
            Some(" SELECT * FROM t;")
        );
        assert_eq!(
            query_text("CREATE VIEW v (x, \"Y\") AS SELECT 1, 2").as_deref(),
            Some(" SELECT * FROM (SELECT 1, 2) AS cip_view(x, \"Y\");")
        );
        assert_eq!(query_text("DROP VIEW v"), None);
    }
}
