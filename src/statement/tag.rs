//! PostgreSQL's command tags, read off the parsed statement: what a client sees in
//! CommandComplete ("CREATE VIEW", "DROP TABLE", "UPDATE 3"). A statement with no tag here
//! returns rows.

use datafusion::sql::sqlparser::ast::{ObjectType, Statement};

/// The tag of a statement that returns no rows; None for one that returns rows.
pub fn command_tag(statement: &Statement) -> Option<String> {
    use Statement as S;
    let tag = match statement {
        S::Insert(_) => "INSERT",
        S::Update { .. } => "UPDATE",
        S::Delete(_) => "DELETE",
        S::Truncate { .. } => "TRUNCATE TABLE",
        S::Merge { .. } => "MERGE",
        S::CreateView(v) if v.materialized => "CREATE MATERIALIZED VIEW",
        S::CreateView(_) => "CREATE VIEW",
        // PostgreSQL answers CREATE TABLE … AS with the rows it wrote ("SELECT 3").
        S::CreateTable(t) if t.query.is_some() => "SELECT",
        S::CreateTable(_) => "CREATE TABLE",
        S::CreateSchema { .. } => "CREATE SCHEMA",
        S::CreateDatabase { .. } => "CREATE DATABASE",
        S::CreateIndex(_) => "CREATE INDEX",
        S::CreateFunction(_) => "CREATE FUNCTION",
        S::CreateExtension(_) => "CREATE EXTENSION",
        S::CreateType { .. } => "CREATE TYPE",
        S::CreateSequence { .. } => "CREATE SEQUENCE",
        S::CreateRole(_) => "CREATE ROLE",
        S::AlterTable(_) => "ALTER TABLE",
        S::AlterView { .. } => "ALTER VIEW",
        S::AlterSchema(_) => "ALTER SCHEMA",
        S::AlterIndex { .. } => "ALTER INDEX",
        S::AlterRole { .. } => "ALTER ROLE",
        S::RenameTable(_) => "ALTER TABLE",
        S::Drop { object_type, .. } => return Some(drop_tag(object_type)),
        S::DropFunction(_) => "DROP FUNCTION",
        S::DropExtension(_) => "DROP EXTENSION",
        S::Comment { .. } => "COMMENT",
        S::Grant(_) => "GRANT",
        S::Revoke(_) => "REVOKE",
        S::Prepare { .. } => "PREPARE",
        S::Deallocate { .. } => "DEALLOCATE",
        S::Set(_) => "SET",
        S::Reset(_) => "RESET",
        S::Discard { object_type } => return Some(format!("DISCARD {object_type}")),
        S::Declare { .. } => "DECLARE CURSOR",
        S::Close { .. } => "CLOSE CURSOR",
        S::Copy { .. } => "COPY",
        S::Analyze { .. } => "ANALYZE",
        S::Vacuum(_) => "VACUUM",
        S::Lock(_) | S::LockTables { .. } => "LOCK TABLE",
        S::LISTEN { .. } => "LISTEN",
        S::UNLISTEN { .. } => "UNLISTEN",
        S::NOTIFY { .. } => "NOTIFY",
        S::StartTransaction { .. } => "BEGIN",
        S::Commit { .. } => "COMMIT",
        S::Rollback { .. } => "ROLLBACK",
        S::Savepoint { .. } => "SAVEPOINT",
        S::ReleaseSavepoint { .. } => "RELEASE",
        _ => return None,
    };
    Some(tag.to_string())
}

fn drop_tag(object_type: &ObjectType) -> String {
    let what = match object_type {
        ObjectType::Table => "TABLE",
        ObjectType::View => "VIEW",
        ObjectType::MaterializedView => "MATERIALIZED VIEW",
        ObjectType::Schema => "SCHEMA",
        ObjectType::Index => "INDEX",
        ObjectType::Database => "DATABASE",
        ObjectType::Role => "ROLE",
        ObjectType::Sequence => "SEQUENCE",
        ObjectType::Type => "TYPE",
        other => return format!("DROP {}", other.to_string().to_uppercase()),
    };
    format!("DROP {what}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn tag(sql: &str) -> Option<String> {
        let s = Parser::parse_sql(&PostgreSqlDialect {}, sql).expect("parses");
        command_tag(&s[0])
    }

    #[test]
    fn tags_follow_postgres() {
        assert_eq!(
            tag("CREATE VIEW v AS SELECT 1").as_deref(),
            Some("CREATE VIEW")
        );
        assert_eq!(tag("CREATE TABLE t AS SELECT 1").as_deref(), Some("SELECT"));
        assert_eq!(tag("DROP VIEW IF EXISTS v").as_deref(), Some("DROP VIEW"));
        assert_eq!(tag("PREPARE p AS SELECT 1").as_deref(), Some("PREPARE"));
        assert_eq!(tag("SELECT 1"), None);
        assert_eq!(tag("EXPLAIN SELECT 1"), None);
    }
}
