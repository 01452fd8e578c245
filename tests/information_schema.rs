//! information_schema as PostgreSQL 15 has it. tests/data/pg15_information_schema_columns.txt
//! is PostgreSQL 15's own list (`SELECT table_name, string_agg(column_name, ',' ORDER BY
//! ordinal_position) FROM information_schema.columns WHERE table_schema =
//! 'information_schema' GROUP BY 1`, run on a PostgreSQL 15 server): every one of its 69
//! relations answers here, described with PostgreSQL's columns in PostgreSQL's order (cip's
//! own may follow). What views read, and their definitions, match what PostgreSQL 15 answered
//! for the same statements.

use crate::pgwire::Server;
use tokio_postgres::SimpleQueryMessage;

fn postgresql_15() -> Vec<(String, Vec<String>)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/pg15_information_schema_columns.txt"
    );
    std::fs::read_to_string(path)
        .expect("PostgreSQL 15's information_schema columns")
        .lines()
        .filter_map(|l| l.split_once('|'))
        .map(|(view, cols)| {
            (
                view.to_string(),
                cols.split(',').map(String::from).collect(),
            )
        })
        .collect()
}

/// Every row of a simple query, as text.
pub async fn rows(c: &tokio_postgres::Client, sql: &str) -> Vec<Vec<String>> {
    let messages = c
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    messages
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(
                (0..r.len())
                    .map(|i| r.get(i).unwrap_or("NULL").to_string())
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_relation_of_postgresql_15s_information_schema_answers_with_its_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.connect().await;
    let expected = postgresql_15();
    assert_eq!(expected.len(), 69, "PostgreSQL 15 has 69");
    let mut wrong = Vec::new();
    for (view, columns) in &expected {
        let sql = format!("SELECT * FROM information_schema.{view}");
        let described = match c.prepare(&sql).await {
            Ok(s) => s.columns().iter().map(|c| c.name().to_string()).collect(),
            Err(e) => {
                wrong.push(format!("{view}: {e}"));
                continue;
            }
        };
        let described: Vec<String> = described;
        if described.get(..columns.len()) != Some(columns.as_slice()) {
            wrong.push(format!("{view}: {described:?}, PostgreSQL {columns:?}"));
        }
        // And it answers: rows or none, not an error.
        if let Err(e) = c.simple_query(&sql).await {
            wrong.push(format!("{view} rows: {e}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Each listed once in information_schema.tables, as PostgreSQL lists them.
    let listed = rows(
        &c,
        "SELECT table_name, count(*) FROM information_schema.tables \
         WHERE table_schema = 'information_schema' GROUP BY 1 HAVING count(*) > 1",
    )
    .await;
    assert!(listed.is_empty(), "listed twice: {listed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_show_what_they_read_and_their_query_as_postgresql_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.connect().await;
    c.batch_execute(
        "CREATE TABLE iu_t (a int, b text, c int); \
         CREATE TABLE iu_other (a int, z int); \
         CREATE VIEW iu_v AS WITH k AS (SELECT a, b FROM iu_t WHERE c > 0) \
           SELECT k.a, upper(k.b) AS ub, yuan(k.a) AS y FROM k; \
         CREATE VIEW iu_w AS SELECT * FROM iu_v",
    )
    .await
    .expect("tables and views");
    // PostgreSQL 15, the same statements (without yuan): iu_t; a, b, c.
    let usage = |view: &str, what: &str| {
        format!(
            "SELECT {what} FROM information_schema.view_{view}_usage \
             WHERE view_name IN ('iu_v', 'iu_w') ORDER BY 1, 2"
        )
    };
    assert_eq!(
        rows(&c, &usage("table", "view_name, table_name")).await,
        [["iu_v", "iu_t"], ["iu_w", "iu_v"]]
    );
    assert_eq!(
        rows(&c, &usage("column", "view_name, column_name")).await,
        [
            ["iu_v", "a"],
            ["iu_v", "b"],
            ["iu_v", "c"],
            ["iu_w", "a"],
            ["iu_w", "ub"],
            ["iu_w", "y"]
        ]
    );
    // cip's own function, not the built-in upper (PostgreSQL lists no built-in either).
    assert_eq!(
        rows(
            &c,
            "SELECT table_name, specific_name FROM information_schema.view_routine_usage \
             WHERE table_name LIKE 'iu_%'"
        )
        .await,
        [["iu_v", "yuan"]]
    );
    // The query alone, as PostgreSQL's pg_get_viewdef and the views give it: a tool that
    // writes `CREATE OR REPLACE VIEW v AS` before it gets a statement that runs.
    let defined = rows(
        &c,
        "SELECT pg_get_viewdef('iu_w'::regclass), \
           (SELECT view_definition FROM information_schema.views WHERE table_name = 'iu_w'), \
           (SELECT definition FROM pg_views WHERE viewname = 'iu_w')",
    )
    .await;
    assert_eq!(defined, [[" SELECT * FROM iu_v;"; 3]]);
    c.batch_execute(&format!("CREATE OR REPLACE VIEW iu_w AS{}", defined[0][0]))
        .await
        .expect("re-created from its definition");
    // A DROP still finds the view that reads the table (2BP01), CTE names aside.
    let err = c.batch_execute("DROP TABLE iu_t").await.expect_err("2BP01");
    assert_eq!(err.code().map(|s| s.code()), Some("2BP01"), "{err}");
    c.batch_execute("DROP VIEW iu_w; DROP VIEW iu_v; DROP TABLE iu_t; DROP TABLE iu_other")
        .await
        .expect("dropped");
    // Nothing left to list, and the catalog's name and implementation facts answer.
    assert!(rows(&c, &usage("table", "view_name, table_name"))
        .await
        .is_empty());
    assert_eq!(
        rows(
            &c,
            "SELECT (SELECT catalog_name FROM information_schema.information_schema_catalog_name), \
               character_value FROM information_schema.sql_implementation_info \
             WHERE implementation_info_name = 'DBMS NAME'"
        )
        .await,
        [["cip", "PostgreSQL"]]
    );
}
