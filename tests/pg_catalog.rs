//! pg_catalog as PostgreSQL 15 has it. tests/data/pg15_pg_catalog_columns.txt is PostgreSQL
//! 15's own list of its tables and views there with their columns (tests/data/README.md):
//! each answers here, found qualified and unqualified, described with PostgreSQL's columns in
//! PostgreSQL's order (cip's own or a later PostgreSQL's may come between), and listed in
//! information_schema.tables as the kind of relation PostgreSQL has. information_schema.columns
//! lists, for every relation of pg_catalog and information_schema, the columns a `SELECT *`
//! of it is described with.

use crate::information_schema::rows;
use crate::pgwire::Server;
use std::collections::HashMap;

/// Views of session state cip keeps but does not list yet: 42P01 rather than an empty answer,
/// which would be wrong.
const NOT_ANSWERED: &[&str] = &["pg_cursors", "pg_prepared_statements"];

/// PostgreSQL 15's columns a `SELECT *` here lacks: relacl and reloptions answer NULL when a
/// statement names them (statement/rules/catalog_array_columns.rs).
const COLUMNS_MISSING: &[(&str, &str)] = &[("pg_class", "relacl"), ("pg_class", "reloptions")];

/// (relation, 'VIEW' or 'BASE TABLE', columns) of each of PostgreSQL 15's.
fn postgresql_15() -> Vec<(String, String, Vec<String>)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/pg15_pg_catalog_columns.txt"
    );
    std::fs::read_to_string(path)
        .expect("PostgreSQL 15's pg_catalog columns")
        .lines()
        .filter_map(|l| {
            let mut parts = l.split('|');
            let (name, kind, cols) = (parts.next()?, parts.next()?, parts.next()?);
            let cols = cols.split(',').map(String::from).collect();
            Some((name.to_string(), kind.to_string(), cols))
        })
        .collect()
}

/// Whether `wanted` appears in `found` in the same order.
fn in_order(wanted: &[&String], found: &[String]) -> bool {
    let mut rest = found.iter();
    wanted.iter().all(|w| rest.any(|f| f == *w))
}

async fn described(c: &tokio_postgres::Client, sql: &str) -> Result<Vec<String>, String> {
    c.prepare(sql)
        .await
        .map(|s| s.columns().iter().map(|c| c.name().to_string()).collect())
        .map_err(|e| format!("{e:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_relation_of_postgresql_15s_pg_catalog_answers_with_its_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.connect().await;
    let expected = postgresql_15();
    assert_eq!(expected.len(), 139, "PostgreSQL 15 has 139");
    let listed: HashMap<String, String> = rows(
        &c,
        "SELECT table_name, table_type FROM information_schema.tables \
         WHERE table_schema = 'pg_catalog'",
    )
    .await
    .into_iter()
    .map(|r| (r[0].clone(), r[1].clone()))
    .collect();
    let mut wrong = Vec::new();
    for (relation, kind, columns) in &expected {
        let sql = format!("SELECT * FROM pg_catalog.{relation}");
        if NOT_ANSWERED.contains(&relation.as_str()) {
            let err = c.simple_query(&sql).await.expect_err("not answered");
            if err.code().map(|s| s.code()) != Some("42P01") {
                wrong.push(format!("{relation}: {err}"));
            }
            continue;
        }
        let wanted: Vec<&String> = columns
            .iter()
            .filter(|col| !COLUMNS_MISSING.contains(&(relation.as_str(), col.as_str())))
            .collect();
        match described(&c, &sql).await {
            Ok(found) if in_order(&wanted, &found) => {}
            Ok(found) => wrong.push(format!("{relation}: {found:?}, PostgreSQL {columns:?}")),
            Err(e) => wrong.push(format!("{relation}: {e}")),
        }
        // It answers, and is found without its schema, as pg_catalog is searched first.
        for sql in [sql, format!("SELECT * FROM {relation} LIMIT 1")] {
            if let Err(e) = c.simple_query(&sql).await {
                wrong.push(format!("{sql}: {e}"));
            }
        }
        if listed.get(relation) != Some(kind) {
            let got = listed.get(relation);
            wrong.push(format!("{relation} listed as {got:?}, PostgreSQL {kind}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn information_schema_columns_lists_what_each_system_relation_is_described_with() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.connect().await;
    let mut listed: HashMap<(String, String), Vec<(i64, String)>> = HashMap::new();
    for r in rows(
        &c,
        "SELECT table_schema, table_name, ordinal_position, column_name \
         FROM information_schema.columns \
         WHERE table_schema IN ('pg_catalog', 'information_schema')",
    )
    .await
    {
        let position = r[2].parse().expect("a position");
        let key = (r[0].clone(), r[1].clone());
        listed
            .entry(key)
            .or_default()
            .push((position, r[3].clone()));
    }
    let relations = rows(
        &c,
        "SELECT table_schema, table_name FROM information_schema.tables \
         WHERE table_schema IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
    )
    .await;
    // PostgreSQL 15 has 69 + 139; cip adds DataFusion's df_settings and lacks NOT_ANSWERED.
    assert_eq!(relations.len(), 69 + 139 + 1 - NOT_ANSWERED.len());
    let mut wrong = Vec::new();
    for r in &relations {
        let (schema, name) = (&r[0], &r[1]);
        let found = described(&c, &format!("SELECT * FROM {schema}.{name}")).await;
        let mut columns = listed
            .remove(&(schema.clone(), name.clone()))
            .unwrap_or_default();
        columns.sort();
        let positions: Vec<i64> = columns.iter().map(|(p, _)| *p).collect();
        let names: Vec<String> = columns.into_iter().map(|(_, n)| n).collect();
        if positions != (1..=names.len() as i64).collect::<Vec<_>>() {
            wrong.push(format!("{schema}.{name}: positions {positions:?}"));
        }
        if found.as_ref() != Ok(&names) {
            wrong.push(format!(
                "{schema}.{name}: listed {names:?}, described {found:?}"
            ));
        }
    }
    assert!(
        listed.is_empty(),
        "columns of unlisted relations: {listed:?}"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
