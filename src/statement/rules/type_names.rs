//! PostgreSQL's spellings of type names, as DataFusion's planner knows the types. PostgreSQL
//! accepts a type however the catalog names it: quoted (`"numeric"`, `"timestamp"` — what
//! `quote_ident(typname)` gives for a keyword, so sqlsmith and catalog-driven tools write
//! them so), qualified (`pg_catalog.numeric(10,2)`), by internal name (`name`, `bpchar`,
//! `"char"`, `int4`, `_text` for text[]) or in the standard's long forms (`character
//! varying(20)`, which dbt writes in ADD COLUMN). DataFusion refused all of these ("Unsupported
//! SQL type"). And `json` / `jsonb` are text: DataFusion has no JSON type, and cip keeps JSON
//! as text, as its own tables do (favorite_categories, rewards); the value is kept as written.
//! Casts, typed literals and column definitions are rewritten; OID types (regclass, oid, …)
//! are left to datafusion-pg-catalog's type planner.

use crate::catalog::declared_types::declared;
use datafusion::sql::sqlparser::ast::Value;
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, AlterColumnOperation, AlterTableOperation, ArrayElemTypeDef, ColumnDef,
    DataType, ExactNumberInfo, Expr, ObjectNamePart, Statement, TimezoneInfo,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

#[derive(Debug)]
pub struct TypeNames;

/// A type modifier list's numbers (`numeric(10,2)` → [10, 2]); None if one is not a number.
fn modifiers(args: &[String]) -> Option<Vec<u64>> {
    args.iter().map(|a| a.trim().parse().ok()).collect()
}

/// The type a PostgreSQL type name (already unquoted and unqualified) names, with `args`.
fn named(name: &str, args: &[String]) -> Option<DataType> {
    let m = modifiers(args)?;
    let simple = |t: DataType| m.is_empty().then_some(t);
    let precision = match m.as_slice() {
        [] => Some(None),
        [p] => Some(Some(*p)),
        _ => None,
    };
    if let Some(element) = name.strip_prefix('_') {
        let element = named(element, &[])?;
        return simple(DataType::Array(ArrayElemTypeDef::SquareBracket(
            Box::new(element),
            None,
        )));
    }
    match name {
        "json" | "jsonb" | "text" | "name" => simple(DataType::Text),
        "numeric" | "decimal" => Some(DataType::Numeric(match m.as_slice() {
            [] => ExactNumberInfo::None,
            [p] => ExactNumberInfo::Precision(*p),
            [p, s] => ExactNumberInfo::PrecisionAndScale(*p, i64::try_from(*s).ok()?),
            _ => return None,
        })),
        "timestamp" => Some(DataType::Timestamp(precision?, TimezoneInfo::None)),
        "timestamptz" => Some(DataType::Timestamp(precision?, TimezoneInfo::Tz)),
        "time" => Some(DataType::Time(precision?, TimezoneInfo::None)),
        "interval" => simple(DataType::Interval {
            fields: None,
            precision: None,
        }),
        "date" => simple(DataType::Date),
        "bool" | "boolean" => simple(DataType::Boolean),
        "int2" | "smallint" => simple(DataType::Int2(None)),
        "int4" | "int" | "integer" => simple(DataType::Int4(None)),
        "int8" | "bigint" => simple(DataType::Int8(None)),
        "float4" | "real" => simple(DataType::Float4),
        "float8" => simple(DataType::Float8),
        "bytea" => simple(DataType::Bytea),
        // Lengths are not enforced on text in cip (as the standard spellings already were).
        "varchar" | "bpchar" | "char" => Some(DataType::Text).filter(|_| m.len() <= 1),
        _ => None,
    }
}

/// DataFusion's spelling of `t`, when it is one of PostgreSQL's that DataFusion refuses.
fn canonical(t: &DataType) -> Option<DataType> {
    if let Some(declared) = crate::catalog::declared_types::marked(t) {
        // Already a declared column's marker: a uuid stays, varchar / char are text.
        return (declared != crate::column_types::ColumnType::Uuid).then_some(DataType::Text);
    }
    match t {
        DataType::JSON | DataType::JSONB => Some(DataType::Text),
        DataType::CharacterVarying(_)
        | DataType::CharVarying(_)
        | DataType::Character(_)
        | DataType::Varchar(_)
        | DataType::Char(_) => Some(DataType::Text),
        DataType::Array(ArrayElemTypeDef::SquareBracket(inner, size)) => {
            let inner = canonical(inner)?;
            Some(DataType::Array(ArrayElemTypeDef::SquareBracket(
                Box::new(inner),
                *size,
            )))
        }
        DataType::Custom(name, args) => {
            let parts: Vec<String> = name
                .0
                .iter()
                .map(|p| match p {
                    // Unquoted names fold to lower case; quoted ones are exact, as in PostgreSQL.
                    ObjectNamePart::Identifier(i) if i.quote_style.is_none() => {
                        Some(i.value.to_lowercase())
                    }
                    ObjectNamePart::Identifier(i) => Some(i.value.clone()),
                    _ => None,
                })
                .collect::<Option<_>>()?;
            match parts.as_slice() {
                [n] => named(n, args),
                [schema, n] if schema == "pg_catalog" => named(n, args),
                _ => None,
            }
        }
        _ => None,
    }
}

fn rename(t: &mut DataType) {
    if let Some(c) = canonical(t) {
        *t = c;
    }
}

/// `t` as a cast's target: DataFusion's spelling of it.
pub fn as_cast(t: &DataType) -> DataType {
    canonical(t).unwrap_or_else(|| t.clone())
}

/// A column definition's type: one crate::column_types declares over text is written as the
/// type planner's marker (catalog/declared_types.rs); the others are renamed as in casts.
fn column_type(t: &mut DataType) {
    match declared(t) {
        Some(d) => *t = crate::catalog::declared_types::marker(d),
        None => rename(t),
    }
}

fn columns(defs: &mut [ColumnDef]) {
    defs.iter_mut().for_each(|c| column_type(&mut c.data_type));
}

fn is_uuid(t: &DataType) -> bool {
    declared(t) == Some(crate::column_types::ColumnType::Uuid)
}

/// `uuid_in(expr)`: a cast to uuid checks the text and gives PostgreSQL's form of it.
fn uuid_in(expr: Expr) -> Expr {
    super::ast::call("uuid_in", vec![expr])
}

impl SqlStatementRewriteRule for TypeNames {
    fn rewrite(&self, mut s: Statement) -> Statement {
        match &mut s {
            Statement::CreateTable(c) => columns(&mut c.columns),
            Statement::AlterTable(a) => {
                for op in a.operations.iter_mut() {
                    match op {
                        AlterTableOperation::AddColumn { column_def, .. } => {
                            columns(std::slice::from_mut(column_def))
                        }
                        AlterTableOperation::AlterColumn {
                            op: AlterColumnOperation::SetDataType { data_type, .. },
                            ..
                        } => column_type(data_type),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        let _ = visit_expressions_mut(&mut s, |e| {
            match e {
                Expr::Cast {
                    data_type, expr, ..
                } if is_uuid(data_type) => {
                    *e = uuid_in(std::mem::replace(expr.as_mut(), Expr::value(Value::Null)))
                }
                Expr::TypedString(t) if is_uuid(&t.data_type) => {
                    *e = uuid_in(Expr::Value(t.value.clone()))
                }
                Expr::Cast { data_type, .. } => rename(data_type),
                Expr::TypedString(t) => rename(&mut t.data_type),
                _ => {}
            }
            ControlFlow::<()>::Continue(())
        });
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        TypeNames.rewrite(super::super::parse(sql)).to_string()
    }

    #[test]
    fn json_types_are_text() {
        assert_eq!(
            rewritten("SELECT '{\"a\":1}'::jsonb, CAST($1 AS json), x::int FROM t"),
            "SELECT '{\"a\":1}'::TEXT, CAST($1 AS TEXT), x::INT FROM t"
        );
        assert_eq!(
            rewritten("CREATE TABLE j (k int, doc jsonb, raw json)"),
            "CREATE TABLE j (k INT, doc TEXT, raw TEXT)"
        );
    }

    #[test]
    fn postgresql_spellings_become_datafusions() {
        assert_eq!(
            rewritten(
                "SELECT x::\"numeric\", y::pg_catalog.\"numeric\"(10, 2), z::\"timestamp\", \
                 w::\"interval\", v::name, u::bpchar, t::\"char\", s::_int4, r::character varying(9)"
            ),
            "SELECT x::NUMERIC, y::NUMERIC(10,2), z::TIMESTAMP, w::INTERVAL, v::TEXT, \
             u::TEXT, t::TEXT, s::INT4[], r::TEXT"
        );
        // A column keeps a type declared over text (its length is kept and enforced); a cast
        // to uuid checks and normalizes its text.
        assert_eq!(
            rewritten("ALTER TABLE t ADD COLUMN c character varying(256), ADD d int4"),
            "ALTER TABLE t ADD COLUMN c cip_declared(varchar, 256), ADD d INT4"
        );
        assert_eq!(
            rewritten("ALTER TABLE t ALTER COLUMN c TYPE varchar(9) USING c::varchar(9)"),
            "ALTER TABLE t ALTER COLUMN c TYPE cip_declared(varchar, 9) USING c::TEXT"
        );
        assert_eq!(
            rewritten("SELECT x::uuid, uuid 'a', CAST(y AS pg_catalog.uuid), z::varchar(3)"),
            "SELECT uuid_in(x), uuid_in('a'), uuid_in(y), z::TEXT"
        );
        // Quoted names are exact, other schemas and OID types are not ours.
        let untouched = "SELECT x::\"NUMERIC\", y::myschema.numeric, z::REGCLASS, w::oid";
        assert_eq!(rewritten(untouched), untouched);
    }
}
