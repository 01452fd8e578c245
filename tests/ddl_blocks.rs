//! Tables, views and schemas made, replaced, renamed, altered or dropped inside a block are the
//! block's own until COMMIT, as its rows are: other connections see them as they were, ROLLBACK
//! (and ROLLBACK TO a savepoint) leaves no trace, and a crash keeps each block's DDL with its
//! rows or neither.

use crate::pgwire::{code, Server};
use crate::transactions::{commits_under_kills, kill_trials};
use tokio_postgres::Client;

async fn one(c: &Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).await.expect(sql).get(0)
}

/// The folders of the data directory whose names start with one of `prefixes`.
fn folders(dir: &std::path::Path, prefixes: &[&str]) -> Vec<String> {
    let entries = std::fs::read_dir(dir).expect("list");
    let names = entries.filter_map(|e| e.ok());
    let names = names.map(|e| e.file_name().to_string_lossy().into_owned());
    names
        .filter(|n| n != "model_fits" && prefixes.iter().any(|p| n.starts_with(p)))
        .collect()
}

/// `a` runs `first` in a block; `b` commits `second`, which makes the same name, meanwhile:
/// `a`'s COMMIT fails with 42P07.
async fn taken_meanwhile(a: &Client, b: &Client, first: &str, second: &str) {
    a.batch_execute(&format!("BEGIN; {first}"))
        .await
        .expect(first);
    b.batch_execute(second).await.expect(second);
    let e = a
        .batch_execute("COMMIT")
        .await
        .expect_err("taken meanwhile");
    assert_eq!(code(&e), "42P07", "{e:?}");
}

async fn missing(c: &Client, sql: &str) {
    let e = c.simple_query(sql).await.expect_err(sql);
    assert!(
        matches!(code(&e).as_str(), "42P01" | "3F000"),
        "{sql}: {e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_made_in_a_block_are_its_own_until_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let (a, b) = (server.connect().await, server.connect().await);
    a.batch_execute(
        "CREATE VIEW tally AS SELECT 1 AS n; \
         BEGIN; \
         CREATE SCHEMA mart; \
         CREATE VIEW mart.fresh AS SELECT 2 AS n; \
         CREATE OR REPLACE VIEW tally AS SELECT 3 AS n",
    )
    .await
    .expect("ddl in a block");
    assert_eq!(one(&a, "SELECT n FROM mart.fresh").await, 2, "its own view");
    assert_eq!(
        one(&a, "SELECT n FROM tally").await,
        3,
        "its own replacement"
    );
    missing(&b, "SELECT n FROM mart.fresh").await;
    assert_eq!(
        one(&b, "SELECT n FROM tally").await,
        1,
        "others: as committed"
    );
    let listed = one(
        &b,
        "SELECT count(*) FROM pg_namespace WHERE nspname = 'mart'",
    )
    .await;
    assert_eq!(
        listed, 0,
        "the schema is not listed to others before COMMIT"
    );
    a.batch_execute("ROLLBACK").await.expect("rollback");
    missing(&a, "SELECT n FROM mart.fresh").await;
    assert_eq!(
        one(&a, "SELECT n FROM tally").await,
        1,
        "the replacement undone"
    );

    // dbt's swap of a view model: made under a temporary name, renamed over the old one.
    a.batch_execute(
        "BEGIN; \
         CREATE VIEW tally__dbt_tmp AS SELECT 4 AS n; \
         ALTER TABLE tally RENAME TO tally__dbt_backup; \
         ALTER TABLE tally__dbt_tmp RENAME TO tally",
    )
    .await
    .expect("swap in a block");
    assert_eq!(one(&a, "SELECT n FROM tally").await, 4);
    assert_eq!(one(&b, "SELECT n FROM tally").await, 1, "not before COMMIT");
    missing(&b, "SELECT n FROM tally__dbt_backup").await;
    a.batch_execute("COMMIT; DROP VIEW tally__dbt_backup")
        .await
        .expect("commit");
    assert_eq!(one(&b, "SELECT n FROM tally").await, 4, "seen after COMMIT");
    missing(&b, "SELECT n FROM tally__dbt_tmp").await;

    // ROLLBACK TO a savepoint takes back what came after it only.
    a.batch_execute(
        "BEGIN; CREATE VIEW kept AS SELECT 5 AS n; SAVEPOINT s; \
         CREATE VIEW undone AS SELECT 6 AS n; DROP VIEW tally; ROLLBACK TO SAVEPOINT s",
    )
    .await
    .expect("savepoint");
    let listed = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'undone'";
    assert_eq!(one(&a, listed).await, 0, "undone with its savepoint");
    assert_eq!(one(&a, "SELECT n FROM tally").await, 4, "the drop undone");
    a.batch_execute("COMMIT").await.expect("commit");
    assert_eq!(one(&b, "SELECT n FROM kept").await, 5);
    missing(&b, "SELECT n FROM undone").await;

    // Two blocks create the same view: the second COMMIT fails and keeps nothing of its block.
    let first = "CREATE VIEW twice AS SELECT 7 AS n; \
                 INSERT INTO members (member_id, points) VALUES ('T1', 1)";
    taken_meanwhile(&a, &b, first, "CREATE VIEW twice AS SELECT 8 AS n").await;
    assert_eq!(one(&a, "SELECT n FROM twice").await, 8);
    let rows = one(&a, "SELECT count(*) FROM members WHERE member_id = 'T1'").await;
    assert_eq!(rows, 0, "the failed commit kept none of its rows");

    // PostgreSQL's own spelling of a view's rename.
    a.batch_execute("ALTER VIEW kept RENAME TO kept_too")
        .await
        .expect("alter view");
    assert_eq!(one(&b, "SELECT n FROM kept_too").await, 5);

    drop((a, b));
    drop(server);
    let server = Server::start(dir.path());
    let c = server.connect().await;
    assert_eq!(one(&c, "SELECT n FROM tally").await, 4, "after a restart");
    assert_eq!(one(&c, "SELECT n FROM kept_too").await, 5);
    missing(&c, "SELECT n FROM mart.fresh").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_made_in_a_block_are_its_own_until_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let (a, b) = (server.connect().await, server.connect().await);
    a.batch_execute(
        "CREATE TABLE model AS SELECT 1::bigint AS n; \
         BEGIN; \
         CREATE TABLE made AS SELECT 2::bigint AS n; \
         INSERT INTO made VALUES (3); \
         ALTER TABLE model ADD COLUMN note text; \
         INSERT INTO model VALUES (4, 'four')",
    )
    .await
    .expect("table ddl in a block");
    assert_eq!(one(&a, "SELECT sum(n) FROM made").await, 5, "its own table");
    missing(&b, "SELECT n FROM made").await;
    let e = b
        .simple_query("SELECT note FROM model")
        .await
        .expect_err("column");
    assert_eq!(code(&e), "42703", "others: no column before COMMIT: {e:?}");
    assert_eq!(one(&b, "SELECT count(*) FROM model").await, 1);
    a.batch_execute("ROLLBACK").await.expect("rollback");
    missing(&a, "SELECT n FROM made").await;
    let e = a
        .simple_query("SELECT note FROM model")
        .await
        .expect_err("undone");
    assert_eq!(code(&e), "42703", "{e:?}");

    // dbt's table model: built under a temporary name and swapped in, all in one block.
    a.batch_execute(
        "BEGIN; \
         CREATE TABLE model__dbt_tmp AS SELECT 5::bigint AS n; \
         ALTER TABLE model RENAME TO model__dbt_backup; \
         ALTER TABLE model__dbt_tmp RENAME TO model",
    )
    .await
    .expect("swap in a block");
    assert_eq!(one(&a, "SELECT n FROM model").await, 5);
    assert_eq!(
        one(&b, "SELECT n FROM model").await,
        1,
        "the old one until COMMIT"
    );
    missing(&b, "SELECT n FROM model__dbt_backup").await;
    a.batch_execute("COMMIT; DROP TABLE model__dbt_backup")
        .await
        .expect("commit");
    assert_eq!(
        one(&b, "SELECT n FROM model").await,
        5,
        "the new one after COMMIT"
    );
    missing(&b, "SELECT n FROM model__dbt_tmp").await;

    // A DROP and a CREATE of the same name, a savepoint between.
    a.batch_execute(
        "BEGIN; DROP TABLE model; SAVEPOINT s; CREATE TABLE model (n bigint); \
         ROLLBACK TO SAVEPOINT s",
    )
    .await
    .expect("savepoint");
    missing(&a, "SELECT n FROM model").await;
    assert_eq!(one(&b, "SELECT n FROM model").await, 5);
    a.batch_execute("ROLLBACK").await.expect("rollback");
    assert_eq!(one(&a, "SELECT n FROM model").await, 5, "the drop undone");

    // Two blocks create the same table: the second COMMIT fails, keeping nothing.
    let first = "CREATE TABLE twice (n bigint); INSERT INTO twice VALUES (1)";
    let second = "CREATE TABLE twice (n bigint); INSERT INTO twice VALUES (2)";
    taken_meanwhile(&a, &b, first, second).await;
    assert_eq!(one(&a, "SELECT sum(n) FROM twice").await, 2);

    drop((a, b));
    drop(server);
    let server = Server::start(dir.path());
    let c = server.connect().await;
    assert_eq!(one(&c, "SELECT n FROM model").await, 5, "after a restart");
    missing(&c, "SELECT n FROM made").await;
    let folders = folders(dir.path(), &["model", "made", "twice"]);
    assert_eq!(
        folders.len(),
        2,
        "only the tables' folders stay: {folders:?}"
    );
}

/// SIGKILL at random moments while a client commits blocks that add a member, replace a view
/// and a table naming it: after each restart both name exactly the last member whose block
/// committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_keeps_a_blocks_views_with_its_rows() {
    let trials = kill_trials(30);
    let dir = tempfile::tempdir().expect("tempdir");
    let acknowledged_total =
        commits_under_kills(dir.path(), trials, 0x2545_f491_4f6c_dd1d, |trial, k| {
            let n = trial * 100_000 + k;
            format!(
                "BEGIN; \
             INSERT INTO members (member_id, points) VALUES ('V{n}', {n}); \
             CREATE OR REPLACE VIEW last_block AS SELECT {n}::bigint AS n; \
             DROP TABLE IF EXISTS last_table; \
             CREATE TABLE last_table AS SELECT {n}::bigint AS n; \
             COMMIT"
            )
        })
        .await;
    let server = Server::start(dir.path());
    let c = server.connect().await;
    let blocks = one(&c, "SELECT count(*) FROM members WHERE member_id LIKE 'V%'").await;
    let newest = one(
        &c,
        "SELECT max(points) FROM members WHERE member_id LIKE 'V%'",
    )
    .await;
    let named = one(&c, "SELECT n FROM last_block").await;
    let table = one(&c, "SELECT n FROM last_table").await;
    eprintln!(
        "view kill trials: {trials} kills, {acknowledged_total} acknowledged, {blocks} blocks present"
    );
    assert_eq!(named, newest, "the view is the last committed block's");
    assert_eq!(table, newest, "the table is the last committed block's");
    let tables = folders(dir.path(), &["last_table"]);
    assert_eq!(
        tables.len(),
        1,
        "no folder of an uncommitted or dropped table stays: {tables:?}"
    );
    assert!(
        blocks >= acknowledged_total,
        "an acknowledged commit was lost"
    );
    assert!(blocks <= acknowledged_total + trials as i64);
}
