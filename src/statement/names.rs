//! The names PostgreSQL gives result columns (its FigureColname): a column keeps its name, a
//! function call is named after the function, a cast of something nameless after the type, a
//! CASE "case", anything else "?column?". DataFusion names columns after the expression's
//! text (`Int64(1)`, `count(*)`), which clients show and map by name.
//!
//! The names are for the wire only: two columns may share one (`SELECT NULL, NULL`), which a
//! DataFusion plan cannot; see rules/unique_output_names.rs.

use super::rules::unique_output_names::synthetic_name;
use datafusion::arrow::datatypes::{DataType as ArrowType, Field, Schema, SchemaRef};
use datafusion::sql::sqlparser::ast::{
    CastKind, DataType, Expr, ObjectNamePart, Query, SelectItem, SetExpr, Statement, TrimWhereField,
};
use datafusion_postgres::arrow_pg::datatypes::PG_OID_ALIAS_KEY;
use std::sync::Arc;

/// The result's columns as clients are told them: PostgreSQL's names, and text for a column
/// DataFusion could not type (`SELECT NULL`, a UNION whose first branch is NULL), as
/// PostgreSQL resolves unknown-typed output to text.
pub fn describe(statement: &Statement, schema: &SchemaRef) -> SchemaRef {
    let renamed = reg_typed(statement, rename(statement, schema));
    if !renamed
        .fields()
        .iter()
        .any(|f| f.data_type() == &ArrowType::Null)
    {
        return renamed;
    }
    let fields: Vec<Field> = renamed
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            ArrowType::Null => f.as_ref().clone().with_data_type(ArrowType::Utf8),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(
        fields,
        renamed.metadata().clone(),
    ))
}

/// `schema` with the column names PostgreSQL would give the statement's result.
fn rename(statement: &Statement, schema: &SchemaRef) -> SchemaRef {
    let columns = schema.fields().len();
    let names = match statement {
        Statement::Query(q) => query_names(q, columns),
        _ => None,
    }
    .unwrap_or_else(|| vec![None; columns]);
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .zip(names)
        .map(|(f, name)| match name {
            Some(name) => f.as_ref().clone().with_name(name),
            None => unaliased(f),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// For each output column, PostgreSQL's name where it differs from DataFusion's; None when
/// the projection cannot be matched to the columns (several wildcards).
fn query_names(query: &Query, columns: usize) -> Option<Vec<Option<String>>> {
    let items = aligned_items(query, columns)?;
    Some(
        items
            .into_iter()
            .map(|item| match item? {
                // A synthetic alias carries the name; a user's is DataFusion's name already.
                SelectItem::ExprWithAlias { alias, .. } => {
                    synthetic_name(&alias.value).map(str::to_string)
                }
                SelectItem::UnnamedExpr(expr) => Some(figure(expr).unwrap_or_else(unnamed)),
                _ => None,
            })
            .collect(),
    )
}

/// The select item each of `columns` result columns comes from (a set operation's first
/// branch), None for the columns a `*` stands for; None when they cannot be told apart.
fn aligned_items(query: &Query, columns: usize) -> Option<Vec<Option<&SelectItem>>> {
    let mut body = query.body.as_ref();
    // A set operation takes its names from its first branch.
    while let SetExpr::SetOperation { left, .. } = body {
        body = left.as_ref();
    }
    let select = match body {
        SetExpr::Select(s) => s,
        SetExpr::Query(q) => return aligned_items(q, columns),
        _ => return None,
    };
    let wildcards = select
        .projection
        .iter()
        .filter(|i| {
            matches!(
                i,
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
            )
        })
        .count();
    let named = select.projection.len() - wildcards;
    if wildcards > 1 || named > columns || (wildcards == 0 && named != columns) {
        return None;
    }
    let mut out = Vec::with_capacity(columns);
    for item in &select.projection {
        match item {
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                out.extend(std::iter::repeat_n(None, columns - named));
            }
            item => out.push(Some(item)),
        }
    }
    Some(out)
}

/// `schema` with each OID column whose select item is a cast to a reg* type tagged as that
/// type, so it is described as PostgreSQL describes it and printed by name (reg_names.rs).
/// DataFusion's cast keeps the operand's tag (or none), as its planner has no reg* types.
fn reg_typed(statement: &Statement, schema: SchemaRef) -> SchemaRef {
    let Statement::Query(q) = statement else {
        return schema;
    };
    let Some(items) = aligned_items(q, schema.fields().len()) else {
        return schema;
    };
    let kinds: Vec<Option<&str>> = items
        .iter()
        .map(|item| match item {
            Some(SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }) => {
                reg_cast(e)
            }
            _ => None,
        })
        .collect();
    if kinds.iter().all(Option::is_none) {
        return schema;
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .zip(kinds)
        .map(|(f, kind)| match kind {
            Some(kind) if f.data_type() == &ArrowType::Int32 => {
                let mut metadata = f.metadata().clone();
                metadata.insert(PG_OID_ALIAS_KEY.to_string(), kind.to_string());
                metadata.insert(super::reg_names::REG_CAST_KEY.to_string(), kind.to_string());
                f.as_ref().clone().with_metadata(metadata)
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// The reg* type an expression is cast to at its top, if any.
fn reg_cast(e: &Expr) -> Option<&'static str> {
    match e {
        Expr::Nested(inner) => reg_cast(inner),
        Expr::Cast { data_type, .. } => super::rules::reg_kind(data_type),
        _ => None,
    }
}

/// A field as it is, or with the name a synthetic alias carries (a `*` over a derived table
/// whose columns repeated a name).
fn unaliased(f: &Arc<Field>) -> Field {
    match synthetic_name(f.name()) {
        Some(name) => f.as_ref().clone().with_name(name),
        None => f.as_ref().clone(),
    }
}

fn unnamed() -> String {
    "?column?".to_string()
}

pub(crate) fn ident(value: &str, quoted: bool) -> String {
    if quoted {
        value.to_string()
    } else {
        value.to_lowercase()
    }
}

/// PostgreSQL's name for an expression, None for "?column?".
pub fn figure(expr: &Expr) -> Option<String> {
    Some(match expr {
        Expr::Identifier(i) => ident(&i.value, i.quote_style.is_some()),
        Expr::CompoundIdentifier(parts) => {
            let last = parts.last()?;
            ident(&last.value, last.quote_style.is_some())
        }
        Expr::Function(f) => {
            let last = f.name.0.last()?;
            match last {
                ObjectNamePart::Identifier(i) => ident(&i.value, i.quote_style.is_some()),
                _ => return None,
            }
        }
        Expr::Cast {
            expr,
            data_type,
            kind,
            ..
        } => match figure(expr) {
            // A name that is itself only a type's (a cast, a typed literal, a CASE) gives way
            // to this cast's type, as PostgreSQL's FigureColname ranks them.
            Some(name) if !named_by_type(expr) => name,
            None if *kind == CastKind::TryCast || *kind == CastKind::SafeCast => return None,
            _ => type_name(data_type),
        },
        Expr::Nested(inner) | Expr::Collate { expr: inner, .. } => return figure(inner),
        Expr::Case { .. } => "case".into(),
        Expr::Array(_) => "array".into(),
        Expr::Exists { .. } => "exists".into(),
        Expr::Subquery(q) => {
            let names = query_names(q, 1)?;
            return names
                .into_iter()
                .next()
                .flatten()
                .or_else(|| subquery_alias(q));
        }
        Expr::Tuple(_) => "row".into(),
        Expr::Extract { .. } => "extract".into(),
        Expr::Ceil { .. } => "ceil".into(),
        Expr::Floor { .. } => "floor".into(),
        Expr::Position { .. } => "position".into(),
        Expr::Substring { .. } => "substring".into(),
        Expr::Overlay { .. } => "overlay".into(),
        Expr::Trim { trim_where, .. } => match trim_where {
            Some(TrimWhereField::Leading) => "ltrim".into(),
            Some(TrimWhereField::Trailing) => "rtrim".into(),
            _ => "btrim".into(),
        },
        Expr::AtTimeZone { .. } => "timezone".into(),
        Expr::Interval(_) => "interval".into(),
        Expr::TypedString(t) => type_name(&t.data_type),
        _ => return None,
    })
}

/// Whether PostgreSQL names `e` only weakly — after a type (a cast of something nameless, a
/// typed literal) or "case" — so that a cast around it is named after its own type instead.
/// A cast of a column keeps the column's name, through any number of casts.
fn named_by_type(e: &Expr) -> bool {
    match e {
        Expr::Nested(inner) => named_by_type(inner),
        Expr::Cast { expr, kind, .. } => {
            !matches!(kind, CastKind::TryCast | CastKind::SafeCast)
                && (named_by_type(expr) || figure(expr).is_none())
        }
        Expr::TypedString(_) | Expr::Case { .. } => true,
        _ => false,
    }
}

/// The alias of a scalar subquery's one output (`(SELECT 1 AS x)` is "x").
fn subquery_alias(q: &Query) -> Option<String> {
    let SetExpr::Select(s) = q.body.as_ref() else {
        return None;
    };
    match s.projection.first()? {
        SelectItem::ExprWithAlias { alias, .. } => Some(
            synthetic_name(&alias.value)
                .map(str::to_string)
                .unwrap_or_else(|| ident(&alias.value, alias.quote_style.is_some())),
        ),
        _ => None,
    }
}

/// A cast's type as PostgreSQL names it in a column heading (its internal type name).
fn type_name(data_type: &DataType) -> String {
    let written = data_type.to_string().to_lowercase();
    let base = written.split('(').next().unwrap_or(&written).trim();
    let base = base.strip_prefix("pg_catalog.").unwrap_or(base);
    match base {
        "int" | "integer" | "int4" => "int4",
        "bigint" | "int8" => "int8",
        "smallint" | "int2" => "int2",
        "real" | "float4" => "float4",
        "double precision" | "float8" | "double" | "float" => "float8",
        "boolean" | "bool" => "bool",
        "character varying" | "varchar" => "varchar",
        "character" | "char" | "bpchar" => "bpchar",
        "decimal" | "numeric" => "numeric",
        "timestamp with time zone" | "timestamptz" => "timestamptz",
        "timestamp" | "timestamp without time zone" => "timestamp",
        "time" | "time without time zone" => "time",
        other => return other.to_string(),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn names(sql: &str, n: usize) -> Vec<String> {
        let s = Parser::parse_sql(&PostgreSqlDialect {}, sql).expect("parses");
        let fields: Vec<Field> = (0..n)
            .map(|i| Field::new(format!("df{i}"), ArrowType::Int64, true))
            .collect();
        let schema = rename(&s[0], &Arc::new(Schema::new(fields)));
        schema.fields().iter().map(|f| f.name().clone()).collect()
    }

    #[test]
    fn columns_are_named_as_postgres_names_them() {
        assert_eq!(names("SELECT 1", 1), ["?column?"]);
        assert_eq!(names("SELECT 1 AS one", 1), ["df0"]);
        assert_eq!(
            names(
                "SELECT count(*), pg_catalog.version(), m.Tier, \"Mixed\"",
                4
            ),
            ["count", "version", "tier", "Mixed"]
        );
        assert_eq!(
            names(
                "SELECT '1'::int, x::text, CAST(NULL AS bigint), CASE WHEN true THEN 1 END",
                4
            ),
            ["int4", "x", "int8", "case"]
        );
        // A name from a type gives way to the outer cast's type; a column's does not.
        assert_eq!(
            names(
                "SELECT 'members'::regclass::text, x::regclass::text, (1::int)::text, \
                 CASE WHEN true THEN 1 END::text",
                4
            ),
            ["text", "x", "text", "text"]
        );
        assert_eq!(names("SELECT NULL, NULL", 2), ["?column?", "?column?"]);
        assert_eq!(names("SELECT a, * FROM t", 3), ["a", "df1", "df2"]);
        assert_eq!(names("SELECT 1 UNION ALL SELECT 2", 1), ["?column?"]);
        assert_eq!(names("SELECT (SELECT max(x) FROM t)", 1), ["max"]);
    }
}
