//! The SQL planner's side of crate::column_types: a column declared `uuid`, `varchar(n)` or
//! `char(n)` (CREATE TABLE, ADD COLUMN, ALTER COLUMN … TYPE) is planned as a Utf8 field
//! carrying that type, which storage keeps with the table. Every other type name goes to
//! datafusion-pg-catalog's planner (reg* and `pg_catalog.`-qualified types), as before.
//!
//! `timestamptz` — a column, a cast or a literal — is a timestamp in the venues' time zone
//! (Arrow keeps the instant and the zone): text with an offset is read as that instant, text
//! without one as the venues' wall clock, as PostgreSQL reads it in the session's zone; the
//! value is shown with its offset and sent to clients as timestamptz (binary: the instant), so
//! node-pg and pgjdbc read the instant that was written. cip's own times (now(), the
//! warehouse's columns) are the venues' wall clock without a zone; comparing one with a
//! timestamptz reads it in the venues' zone.
//!
//! Only column definitions carry uuid, varchar(n) and char(n): the type_names rule writes a
//! declared column's type as the marker [`marker`] (`cip_declared(varchar, 20)`), which no
//! cast has. A cast's target field carrying metadata would make DataFusion's logical and
//! physical plans disagree on the column (datafusion-pg-catalog's oid_type_planner explains
//! it), and SQL planned by DataFusion alone (the views of queries/) keeps its
//! `CAST(x AS VARCHAR)` as DataFusion types it; the rule turns cip's `x::uuid` into
//! `uuid_in(x)` (uuid_functions.rs).

use crate::column_types::ColumnType;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, TimeUnit};
use datafusion::common::Result;
use datafusion::logical_expr::planner::TypePlanner;
use datafusion::sql::sqlparser::ast::{
    CharacterLength, DataType as SqlType, ObjectNamePart, TimezoneInfo,
};
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::oid_type_planner::PgOidTypePlanner;
use std::sync::Arc;

#[derive(Debug)]
pub struct DeclaredTypes {
    /// The planner it stands in front of.
    pub inner: Arc<dyn TypePlanner>,
    /// The venues' time zone (IANA name), timestamptz's.
    pub zone: Arc<str>,
}

impl TypePlanner for DeclaredTypes {
    fn plan_type_field(&self, sql_type: &SqlType) -> Result<Option<FieldRef>> {
        if let Some(t) = marked(sql_type) {
            return Ok(Some(Arc::new(t.tag(Field::new("", DataType::Utf8, true)))));
        }
        if let SqlType::Timestamp(precision, TimezoneInfo::Tz | TimezoneInfo::WithTimeZone) =
            sql_type
        {
            let unit = match precision {
                Some(0) => TimeUnit::Second,
                Some(1..=3) => TimeUnit::Millisecond,
                // PostgreSQL keeps microseconds.
                _ => TimeUnit::Microsecond,
            };
            let t = DataType::Timestamp(unit, Some(self.zone.clone()));
            return Ok(Some(Arc::new(Field::new("", t, true))));
        }
        self.inner.plan_type_field(sql_type)
    }
}

fn length(l: &Option<CharacterLength>) -> Option<Option<u32>> {
    match l {
        None | Some(CharacterLength::Max) => Some(None),
        Some(CharacterLength::IntegerLength { length, .. }) => {
            u32::try_from(*length).ok().filter(|n| *n > 0).map(Some)
        }
    }
}

/// The declared type `t` names, in any of PostgreSQL's spellings; None for another type (or
/// a length PostgreSQL refuses, left to DataFusion's error).
pub fn declared(t: &SqlType) -> Option<ColumnType> {
    match t {
        SqlType::Uuid => Some(ColumnType::Uuid),
        SqlType::Varchar(l) | SqlType::CharacterVarying(l) | SqlType::CharVarying(l) => {
            length(l).map(ColumnType::Varchar)
        }
        SqlType::Char(l) | SqlType::Character(l) => {
            length(l).map(|n| ColumnType::Bpchar(n.unwrap_or(1)))
        }
        SqlType::Custom(name, args) => {
            let parts: Vec<String> = (name.0.iter())
                .map(|p| match p {
                    ObjectNamePart::Identifier(i) => Some(i.value.to_lowercase()),
                    _ => None,
                })
                .collect::<Option<_>>()?;
            let last = match parts.as_slice() {
                [n] => n.as_str(),
                [schema, n] if schema == "pg_catalog" => n.as_str(),
                _ => return None,
            };
            let n = match args.as_slice() {
                [] => None,
                [n] => Some(n.trim().parse::<u32>().ok().filter(|n| *n > 0)?),
                _ => return None,
            };
            match last {
                "uuid" if n.is_none() => Some(ColumnType::Uuid),
                "varchar" => Some(ColumnType::Varchar(n)),
                "bpchar" => Some(ColumnType::Bpchar(n.unwrap_or(1))),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The marker's name.
const MARKER: &str = "cip_declared";

/// The type a column definition declaring `t` is written with for the planner.
pub fn marker(t: ColumnType) -> SqlType {
    let args = match t {
        ColumnType::Uuid => vec!["uuid".to_string()],
        ColumnType::Varchar(None) => vec!["varchar".to_string()],
        ColumnType::Varchar(Some(n)) => vec!["varchar".to_string(), n.to_string()],
        ColumnType::Bpchar(n) => vec!["bpchar".to_string(), n.to_string()],
    };
    SqlType::Custom(
        datafusion::sql::sqlparser::ast::ObjectName::from(vec![
            datafusion::sql::sqlparser::ast::Ident::new(MARKER),
        ]),
        args,
    )
}

/// The declared type a marker stands for.
pub fn marked(t: &SqlType) -> Option<ColumnType> {
    let SqlType::Custom(name, args) = t else {
        return None;
    };
    let [ObjectNamePart::Identifier(i)] = name.0.as_slice() else {
        return None;
    };
    if !i.value.eq_ignore_ascii_case(MARKER) {
        return None;
    }
    let n = |s: &String| s.trim().parse::<u32>().ok();
    match args
        .iter()
        .map(|a| a.trim().to_lowercase())
        .collect::<Vec<_>>()
        .as_slice()
    {
        [k] if k == "uuid" => Some(ColumnType::Uuid),
        [k] if k == "varchar" => Some(ColumnType::Varchar(None)),
        [k, _] if k == "varchar" => Some(ColumnType::Varchar(Some(n(&args[1])?))),
        [k, _] if k == "bpchar" => Some(ColumnType::Bpchar(n(&args[1])?)),
        _ => None,
    }
}

/// Puts the planner in front of datafusion-pg-catalog's, which setup_pg_catalog installed;
/// `zone` is the venues' time zone.
pub fn install(ctx: &datafusion::prelude::SessionContext, zone: &str) {
    use datafusion::execution::session_state::SessionStateBuilder;
    let state = ctx.state_ref();
    let existing = state.read().clone();
    let planner = DeclaredTypes {
        inner: Arc::new(PgOidTypePlanner),
        zone: Arc::from(zone),
    };
    let new_state = SessionStateBuilder::new_from_existing(existing)
        .with_type_planner(Arc::new(planner))
        .build();
    *state.write() = new_state;
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn column_type(sql_type: &str) -> Option<ColumnType> {
        let sql = format!("CREATE TABLE t (c {sql_type})");
        let parsed = Parser::parse_sql(&PostgreSqlDialect {}, &sql).expect("parses");
        let datafusion::sql::sqlparser::ast::Statement::CreateTable(c) = &parsed[0] else {
            panic!("not a CREATE TABLE");
        };
        declared(&c.columns[0].data_type)
    }

    #[test]
    fn timestamptz_is_an_instant_in_the_venues_zone() {
        let planner = DeclaredTypes {
            inner: Arc::new(PgOidTypePlanner),
            zone: Arc::from("Asia/Shanghai"),
        };
        let planned = |sql: &str| {
            let sql = format!("CREATE TABLE t (c {sql})");
            let parsed = Parser::parse_sql(&PostgreSqlDialect {}, &sql).expect("parses");
            let datafusion::sql::sqlparser::ast::Statement::CreateTable(c) = &parsed[0] else {
                panic!("not a CREATE TABLE");
            };
            let field = planner
                .plan_type_field(&c.columns[0].data_type)
                .expect("plans");
            field.map(|f| f.data_type().clone())
        };
        let zoned = |unit| Some(DataType::Timestamp(unit, Some(Arc::from("Asia/Shanghai"))));
        assert_eq!(planned("timestamptz"), zoned(TimeUnit::Microsecond));
        assert_eq!(
            planned("timestamp with time zone"),
            zoned(TimeUnit::Microsecond)
        );
        assert_eq!(
            planned("timestamp(0) with time zone"),
            zoned(TimeUnit::Second)
        );
        assert_eq!(planned("timestamp"), None);
    }

    #[test]
    fn postgresql_spellings_are_declared_types() {
        use ColumnType::*;
        let cases = [
            ("uuid", Some(Uuid)),
            ("UUID", Some(Uuid)),
            ("varchar(20)", Some(Varchar(Some(20)))),
            ("character varying(9)", Some(Varchar(Some(9)))),
            ("varchar", Some(Varchar(None))),
            ("pg_catalog.varchar(7)", Some(Varchar(Some(7)))),
            ("char(3)", Some(Bpchar(3))),
            ("character", Some(Bpchar(1))),
            ("bpchar(4)", Some(Bpchar(4))),
            ("text", None),
            ("int", None),
            ("myschema.uuid", None),
        ];
        for (sql, expected) in cases {
            assert_eq!(column_type(sql), expected, "{sql}");
        }
    }
}
