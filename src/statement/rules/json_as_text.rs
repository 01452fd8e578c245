//! `json` and `jsonb` as text. DataFusion has no JSON type ("Unsupported SQL type JSONB" for
//! `'{"a":1}'::jsonb`, `$1::jsonb` from asyncpg and SQLAlchemy, a `jsonb` column in CREATE
//! TABLE); cip keeps JSON as text, as its own tables do (favorite_categories, rewards). Casts
//! and column definitions of either type become `text`; the value is kept as written.

use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, AlterTableOperation, ColumnDef, DataType, Expr, Statement,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

#[derive(Debug)]
pub struct JsonAsText;

fn as_text(t: &mut DataType) {
    let json = match t {
        DataType::JSON | DataType::JSONB => true,
        DataType::Custom(name, args) => {
            args.is_empty() && matches!(name.to_string().to_lowercase().as_str(), "json" | "jsonb")
        }
        _ => false,
    };
    if json {
        *t = DataType::Text;
    }
}

fn columns(defs: &mut [ColumnDef]) {
    defs.iter_mut().for_each(|c| as_text(&mut c.data_type));
}

impl SqlStatementRewriteRule for JsonAsText {
    fn rewrite(&self, mut s: Statement) -> Statement {
        match &mut s {
            Statement::CreateTable(c) => columns(&mut c.columns),
            Statement::AlterTable(a) => {
                for op in a.operations.iter_mut() {
                    if let AlterTableOperation::AddColumn { column_def, .. } = op {
                        columns(std::slice::from_mut(column_def));
                    }
                }
            }
            _ => {}
        }
        let _ = visit_expressions_mut(&mut s, |e| {
            if let Expr::Cast { data_type, .. } = e {
                as_text(data_type);
            }
            ControlFlow::<()>::Continue(())
        });
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_types_are_text() {
        let out = JsonAsText.rewrite(super::super::parse(
            "SELECT '{\"a\":1}'::jsonb, CAST($1 AS json), x::int FROM t",
        ));
        assert_eq!(
            out.to_string(),
            "SELECT '{\"a\":1}'::TEXT, CAST($1 AS TEXT), x::INT FROM t"
        );
        let out = JsonAsText.rewrite(super::super::parse(
            "CREATE TABLE j (k int, doc jsonb, raw json)",
        ));
        assert_eq!(
            out.to_string(),
            "CREATE TABLE j (k INT, doc TEXT, raw TEXT)"
        );
    }
}
