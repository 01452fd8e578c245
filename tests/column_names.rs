//! The names result columns carry over the wire, as PostgreSQL gives them, where DataFusion
//! alone would refuse the statement (or not run it: EXISTS in the select list): one name
//! twice, several scalar subqueries, repeats through a `*` over a derived table, a derived
//! table's computed columns used by name outside it. Both protocols; stored names still refuse
//! repeats.

use crate::pgwire::Server;
use tokio_postgres::SimpleQueryMessage;

/// (column names, the first row as text) over the simple protocol.
async fn simple(c: &tokio_postgres::Client, sql: &str) -> (Vec<String>, Vec<Option<String>>) {
    let messages = c
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    for m in messages {
        if let SimpleQueryMessage::Row(r) = m {
            let names = r.columns().iter().map(|c| c.name().to_string()).collect();
            let values = (0..r.len()).map(|i| r.get(i).map(str::to_string)).collect();
            return (names, values);
        }
    }
    panic!("{sql}: no row");
}

/// The column names the extended protocol describes for a prepared statement.
async fn described(c: &tokio_postgres::Client, sql: &str) -> Vec<String> {
    let stmt = c
        .prepare(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    stmt.columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect()
}

/// A statement, the names its columns get, its first row as text.
type Case<'a> = (&'a str, &'a [&'a str], &'a [Option<&'a str>]);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_column_names_reach_the_client_as_postgresql_names_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.connect().await;
    c.batch_execute(
        "INSERT INTO members (member_id, name, phone, store_id, tier, status, registered_at, points) \
         VALUES ('M1', '周一', '13900000001', 'S001', 'silver', 'active', TIMESTAMP '2026-01-01 10:00:00', 5)",
    )
    .await
    .expect("a member");
    let cases: [Case; 9] = [
        ("SELECT 1 AS a, 2 AS a", &["a", "a"], &[Some("1"), Some("2")]),
        (
            "SELECT 1 AS \"A\", 2 AS a, 3 AS A",
            &["A", "a", "a"],
            &[Some("1"), Some("2"), Some("3")],
        ),
        (
            "SELECT (SELECT count(*) FROM members), (SELECT max(points) FROM members), \
             (SELECT min(member_id) FROM visits)",
            &["count", "max", "min"],
            &[Some("1"), Some("5"), None],
        ),
        (
            "SELECT EXISTS (SELECT 1 FROM members), EXISTS (SELECT 1 FROM visits)",
            &["exists", "exists"],
            &[Some("t"), Some("f")],
        ),
        (
            "SELECT m.member_id, NOT EXISTS (SELECT 1 FROM visits v WHERE v.member_id = m.member_id) \
             FROM members m",
            &["member_id", "exists"],
            &[Some("M1"), Some("t")],
        ),
        (
            "SELECT * FROM (SELECT member_id AS x, points AS x, 1 AS y, 2 AS y FROM members) t",
            &["x", "x", "y", "y"],
            &[Some("M1"), Some("5"), Some("1"), Some("2")],
        ),
        // A derived table's or CTE's computed columns carry PostgreSQL's names, outside too.
        ("SELECT * FROM (SELECT 1) t", &["?column?"], &[Some("1")]),
        (
            "SELECT t.count + 1 AS n, t.upper FROM (SELECT count(*), upper('m') FROM members) t",
            &["n", "upper"],
            &[Some("2"), Some("M")],
        ),
        (
            "WITH c AS (SELECT max(points), 1, 2 FROM members) SELECT * FROM c",
            &["max", "?column?", "?column?"],
            &[Some("5"), Some("1"), Some("2")],
        ),
    ];
    for (sql, names, values) in cases {
        let (got, row) = simple(&c, sql).await;
        assert_eq!(got, names, "{sql}");
        let row: Vec<Option<&str>> = row.iter().map(Option::as_deref).collect();
        assert_eq!(row, values, "{sql}");
        assert_eq!(described(&c, sql).await, names, "{sql} (extended)");
    }
    // Stored column names may not repeat, as in PostgreSQL (42701); the session goes on.
    for sql in [
        "CREATE VIEW twice AS SELECT 1 AS a, 2 AS a",
        "CREATE TABLE twice AS SELECT 1, 1",
    ] {
        let e = c.batch_execute(sql).await.expect_err(sql);
        assert_eq!(e.code().map(|s| s.code()), Some("42701"), "{sql}: {e}");
    }
    assert_eq!(simple(&c, "SELECT 1").await.0, ["?column?"]);
}
