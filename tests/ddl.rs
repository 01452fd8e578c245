//! Views and schemas users create persist and are shared: seen by every connection at its next
//! statement and after a restart; cip's own tables and views cannot be dropped or replaced.

use crate::pgwire::{code, Server};
use tokio_postgres::Client;

async fn names(c: &Client, sql: &str) -> Vec<String> {
    c.query(sql, &[])
        .await
        .expect(sql)
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_and_schemas_are_shared_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let server = Server::start(dir.path());
        let a = server.connect().await;
        let b = server.connect().await;
        a.batch_execute(
            "INSERT INTO members (member_id, points) VALUES ('M1', 5), ('M2', 50); \
             CREATE VIEW rich AS SELECT member_id FROM members WHERE points > 10",
        )
        .await
        .expect("create view");
        assert_eq!(names(&b, "SELECT member_id FROM rich").await, ["M2"]);
        a.batch_execute(
            "CREATE OR REPLACE VIEW rich AS SELECT member_id FROM members WHERE points > 1 \
             ORDER BY member_id",
        )
        .await
        .expect("replace view");
        assert_eq!(names(&b, "SELECT member_id FROM rich").await, ["M1", "M2"]);
        // dbt's way: its own schema, three-part names, a view on a view.
        a.batch_execute(
            "CREATE SCHEMA IF NOT EXISTS analytics; \
             CREATE VIEW \"cip\".\"analytics\".\"rich_count\" AS SELECT count(*) AS n FROM rich",
        )
        .await
        .expect("schema and qualified view");
        let n: i64 = b
            .query_one("SELECT n FROM analytics.rich_count", &[])
            .await
            .expect("qualified view from another connection")
            .get(0);
        assert_eq!(n, 2);
        a.batch_execute("CREATE VIEW doomed AS SELECT 1 AS one; DROP VIEW doomed")
            .await
            .expect("create and drop");
        let e = b
            .simple_query("SELECT * FROM doomed")
            .await
            .expect_err("dropped view");
        assert_eq!(code(&e), "42P01", "{e:?}");
        for sql in [
            "DROP VIEW customer_segments",
            "CREATE OR REPLACE VIEW customer_segments AS SELECT 1 AS x",
            "DROP TABLE members",
        ] {
            let e = a.simple_query(sql).await.expect_err(sql);
            assert_eq!(code(&e), "42501", "{sql}: {e:?}");
        }
        assert_eq!(
            names(&b, "SELECT count(*)::text FROM customer_segments")
                .await
                .len(),
            1
        );
    }
    let server = Server::start(dir.path());
    let c = server.connect().await;
    assert_eq!(names(&c, "SELECT member_id FROM rich").await, ["M1", "M2"]);
    let n: i64 = c
        .query_one("SELECT n FROM analytics.rich_count", &[])
        .await
        .expect("after a restart")
        .get(0);
    assert_eq!(n, 2);
    let listed = names(
        &c,
        "SELECT table_schema || '.' || table_name FROM information_schema.tables \
         WHERE table_type = 'VIEW' AND table_name IN ('rich', 'rich_count', 'doomed') \
         ORDER BY 1",
    )
    .await;
    assert_eq!(listed, ["analytics.rich_count", "public.rich"]);
    let e = c
        .simple_query("SELECT * FROM doomed")
        .await
        .expect_err("still dropped");
    assert_eq!(code(&e), "42P01", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_created_with_sql_are_durable_warehouse_tables() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let server = Server::start(dir.path());
        let a = server.connect().await;
        let b = server.connect().await;
        a.batch_execute(
            "INSERT INTO members (member_id, points) VALUES ('M1', 5), ('M2', 50); \
             CREATE TABLE scores (member_id text NOT NULL, score double precision); \
             INSERT INTO scores VALUES ('M1', 1.5), ('M2', 2.5)",
        )
        .await
        .expect("create and fill a table");
        let total: f64 = b
            .query_one("SELECT sum(score) FROM scores", &[])
            .await
            .expect("another connection reads it")
            .get(0);
        assert_eq!(total, 4.0);
        let e = a
            .simple_query("INSERT INTO scores VALUES (NULL, 1)")
            .await
            .expect_err("not null");
        assert_eq!(code(&e), "23502", "{e:?}");
        // dbt's table materialization: CREATE TABLE … AS in its own schema.
        a.batch_execute(
            "CREATE SCHEMA IF NOT EXISTS analytics; \
             CREATE TABLE \"cip\".\"analytics\".\"big\" AS \
               SELECT member_id, points FROM members WHERE points > 10",
        )
        .await
        .expect("create table as");
        assert_eq!(
            names(&b, "SELECT member_id FROM analytics.big").await,
            ["M2"]
        );
        // dbt swaps its new relation in with ALTER TABLE … RENAME TO, for tables and views.
        a.batch_execute(
            "CREATE TABLE analytics.big__dbt_tmp AS \
               SELECT member_id, points FROM members WHERE points > 1; \
             ALTER TABLE \"cip\".\"analytics\".\"big\" RENAME TO \"big__dbt_backup\"; \
             ALTER TABLE \"cip\".\"analytics\".\"big__dbt_tmp\" RENAME TO \"big\"; \
             DROP TABLE IF EXISTS \"cip\".\"analytics\".\"big__dbt_backup\"; \
             CREATE VIEW v1 AS SELECT 1 AS one; \
             ALTER TABLE v1 RENAME TO v2",
        )
        .await
        .expect("renames");
        assert_eq!(
            names(&b, "SELECT member_id FROM analytics.big ORDER BY 1").await,
            ["M1", "M2"]
        );
        assert_eq!(names(&b, "SELECT one::text FROM v2").await, ["1"]);
        let e = b
            .simple_query("SELECT * FROM v1")
            .await
            .expect_err("renamed");
        assert_eq!(code(&e), "42P01", "{e:?}");
        let e = a
            .simple_query("ALTER TABLE members RENAME TO people")
            .await
            .expect_err("built in");
        assert_eq!(code(&e), "42501", "{e:?}");
        // In a block, CREATE TABLE AS is the block's: others see no table before COMMIT.
        a.batch_execute("BEGIN; CREATE TABLE pending AS SELECT member_id FROM members")
            .await
            .expect("create in a block");
        assert_eq!(names(&a, "SELECT count(*)::text FROM pending").await, ["2"]);
        let e = b
            .simple_query("SELECT member_id FROM pending")
            .await
            .expect_err("not before COMMIT");
        assert_eq!(code(&e), "42P01", "{e:?}");
        a.batch_execute("ROLLBACK").await.expect("rollback");
        let e = a
            .simple_query("SELECT member_id FROM pending")
            .await
            .expect_err("rolled back");
        assert_eq!(code(&e), "42P01", "{e:?}");
        // A connection that ends inside its block takes the block's DDL with it: the table's
        // folder goes.
        let c = server.connect().await;
        c.batch_execute("BEGIN; CREATE TABLE abandoned AS SELECT member_id FROM members")
            .await
            .expect("create in a block");
        assert!(dir.path().join("abandoned").exists(), "its folder is made");
        drop(c);
        let mut gone = false;
        for _ in 0..50 {
            if !dir.path().join("abandoned").exists() {
                gone = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(gone, "the abandoned block's table is gone");
        a.batch_execute("DROP TABLE scores")
            .await
            .expect("drop tables");
        let e = b
            .simple_query("SELECT * FROM scores")
            .await
            .expect_err("dropped");
        assert_eq!(code(&e), "42P01", "{e:?}");
        let e = a
            .simple_query("CREATE TABLE members (x int)")
            .await
            .expect_err("taken");
        assert_eq!(code(&e), "42P07", "{e:?}");
        a.batch_execute("CREATE TABLE IF NOT EXISTS members (x int)")
            .await
            .expect("IF NOT EXISTS");
    }
    let server = Server::start(dir.path());
    let c = server.connect().await;
    assert_eq!(
        names(&c, "SELECT member_id FROM analytics.big ORDER BY 1").await,
        ["M1", "M2"]
    );
    assert_eq!(names(&c, "SELECT one::text FROM v2").await, ["1"]);
    let e = c
        .simple_query("SELECT * FROM scores")
        .await
        .expect_err("still dropped");
    assert_eq!(code(&e), "42P01", "{e:?}");
    let listed = names(
        &c,
        "SELECT table_schema || '.' || table_name FROM information_schema.tables \
         WHERE table_type = 'BASE TABLE' \
           AND table_name IN ('big', 'scores', 'pending', 'big__dbt_tmp', 'big__dbt_backup')",
    )
    .await;
    assert_eq!(listed, ["analytics.big"]);
    assert!(
        !dir.path().join("scores").exists(),
        "a dropped table's files are gone"
    );
}

/// ALTER TABLE … ADD COLUMN is seen by every connection at its next statement and after a
/// restart; a block of another connection that wrote before it commits its rows with NULLs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_columns_are_shared_and_durable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = "SELECT k::text || ':' || coalesce(extra, '-') FROM grown ORDER BY k";
    {
        let server = Server::start(dir.path());
        let a = server.connect().await;
        let b = server.connect().await;
        a.batch_execute("CREATE TABLE grown (k int); INSERT INTO grown VALUES (1), (2)")
            .await
            .expect("create");
        b.batch_execute("BEGIN; INSERT INTO grown VALUES (10)")
            .await
            .expect("b's block");
        a.batch_execute(
            "ALTER TABLE grown ADD COLUMN extra text; INSERT INTO grown VALUES (3, 'x')",
        )
        .await
        .expect("add column");
        // b's snapshot is older than a's row, not than the column.
        assert_eq!(names(&b, rows).await, ["1:-", "2:-", "10:-"]);
        b.batch_execute("COMMIT").await.expect("commit");
        let c = server.connect().await;
        assert_eq!(names(&c, rows).await, ["1:-", "2:-", "3:x", "10:-"]);
        let columns = "SELECT column_name FROM information_schema.columns \
                       WHERE table_name = 'grown' ORDER BY ordinal_position";
        assert_eq!(names(&b, columns).await, ["k", "extra"]);
    }
    let server = Server::start(dir.path());
    let c = server.connect().await;
    assert_eq!(names(&c, rows).await, ["1:-", "2:-", "3:x", "10:-"]);
    c.batch_execute("UPDATE grown SET extra = 'y' WHERE k = 1")
        .await
        .expect("update after a restart");
    assert_eq!(names(&c, rows).await, ["1:y", "2:-", "3:x", "10:-"]);
}

/// DROP TABLE in a block is the block's until COMMIT: another connection still reads the
/// table, a server killed inside the block has it back, whole, after a restart; a committed
/// drop leaves nothing, its folder included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_dropped_in_a_block_survives_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let server = Server::start(dir.path());
        let a = server.connect().await;
        a.batch_execute(
            "CREATE TABLE kept AS SELECT member_id FROM members; \
             INSERT INTO kept VALUES ('K1'), ('K2'); \
             CREATE TABLE gone (k int); \
             BEGIN; DROP TABLE gone; COMMIT; \
             BEGIN; DROP TABLE kept",
        )
        .await
        .expect("drop in a block");
        let e = a
            .simple_query("SELECT * FROM kept")
            .await
            .expect_err("dropped for the block");
        assert_eq!(code(&e), "42P01", "{e:?}");
        let b = server.connect().await;
        assert_eq!(
            names(&b, "SELECT member_id FROM kept ORDER BY 1").await,
            ["K1", "K2"],
            "others read it until COMMIT"
        );
        // Dropping the server kills it (SIGKILL) with the block open.
    }
    let server = Server::start(dir.path());
    let c = server.connect().await;
    assert_eq!(
        names(&c, "SELECT member_id FROM kept ORDER BY 1").await,
        ["K1", "K2"]
    );
    let e = c
        .simple_query("SELECT * FROM gone")
        .await
        .expect_err("committed drop");
    assert_eq!(code(&e), "42P01", "{e:?}");
    assert!(!dir.path().join("gone").exists(), "its folder went");
}

/// CREATE INDEX and DROP INDEX are seen by every connection at its next statement and after a
/// restart; a block writing the table meanwhile commits its rows; two blocks taking one index
/// name on different tables: the later COMMIT is 42P07 and leaves nothing of its block.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexes_are_shared_and_durable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let listed = "SELECT indexname || ' ' || tablename FROM pg_indexes \
                  WHERE tablename IN ('ix_a', 'ix_b') ORDER BY 1";
    {
        let server = Server::start(dir.path());
        let a = server.connect().await;
        let b = server.connect().await;
        a.batch_execute(
            "CREATE TABLE ix_a (k int PRIMARY KEY, v text); CREATE TABLE ix_b (k int); \
             INSERT INTO ix_a VALUES (1, 'x')",
        )
        .await
        .expect("create");
        b.batch_execute("BEGIN; INSERT INTO ix_a VALUES (2, 'y')")
            .await
            .expect("b's block");
        a.batch_execute("CREATE INDEX ix_v ON ix_a (v DESC); CREATE INDEX ON ix_b (k)")
            .await
            .expect("create index");
        b.batch_execute("COMMIT")
            .await
            .expect("b commits after the index");
        assert_eq!(
            names(&b, listed).await,
            ["ix_a_pkey ix_a", "ix_b_k_idx ix_b", "ix_v ix_a"]
        );
        a.batch_execute("BEGIN; CREATE INDEX taken ON ix_a (v)")
            .await
            .expect("a's block");
        b.batch_execute("BEGIN; CREATE INDEX taken ON ix_b (k); INSERT INTO ix_b VALUES (5)")
            .await
            .expect("b's block");
        a.batch_execute("COMMIT").await.expect("first commit");
        let e = b
            .batch_execute("COMMIT")
            .await
            .expect_err("second takes the name");
        assert_eq!(code(&e), "42P07", "{e:?}");
        assert_eq!(names(&b, "SELECT count(*)::text FROM ix_b").await, ["0"]);
    }
    let server = Server::start(dir.path());
    let c = server.connect().await;
    assert_eq!(
        names(&c, listed).await,
        [
            "ix_a_pkey ix_a",
            "ix_b_k_idx ix_b",
            "ix_v ix_a",
            "taken ix_a"
        ]
    );
    let def = "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_v'";
    assert_eq!(
        names(&c, def).await,
        ["CREATE INDEX ix_v ON public.ix_a USING btree (v DESC)"]
    );
    c.batch_execute("DROP INDEX ix_v, taken; INSERT INTO ix_a VALUES (3, 'z')")
        .await
        .expect("drop after a restart");
    assert_eq!(
        names(&c, listed).await,
        ["ix_a_pkey ix_a", "ix_b_k_idx ix_b"]
    );
    assert_eq!(
        names(&c, "SELECT v FROM ix_a ORDER BY k").await,
        ["x", "y", "z"]
    );
}

/// DROP / RENAME COLUMN and SET NOT NULL rewrite the rows in the change's own commit: a
/// block making one commits 40001 (nothing of it kept) when another connection wrote the
/// table meanwhile; the new shape and rows survive a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn column_changes_rewrite_rows_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let columns = "SELECT column_name FROM information_schema.columns \
                   WHERE table_name = 'cc' ORDER BY ordinal_position";
    {
        let server = Server::start(dir.path());
        let a = server.connect().await;
        let b = server.connect().await;
        a.batch_execute(
            "CREATE TABLE cc (k int, v text, w int); INSERT INTO cc VALUES (1, 'a', 10), (2, 'b', 20)",
        )
        .await
        .expect("create");
        b.batch_execute("BEGIN; ALTER TABLE cc DROP COLUMN w")
            .await
            .expect("b's block");
        a.batch_execute("INSERT INTO cc VALUES (3, 'c', 30)")
            .await
            .expect("a writes meanwhile");
        let e = b
            .batch_execute("COMMIT")
            .await
            .expect_err("rewrote a moved table");
        assert_eq!(code(&e), "40001", "{e:?}");
        assert_eq!(names(&b, columns).await, ["k", "v", "w"]);
        a.batch_execute(
            "ALTER TABLE cc DROP COLUMN w, RENAME COLUMN v TO label, ALTER COLUMN k SET NOT NULL",
        )
        .await
        .expect("alter");
    }
    let server = Server::start(dir.path());
    let c = server.connect().await;
    assert_eq!(names(&c, columns).await, ["k", "label"]);
    assert_eq!(
        names(&c, "SELECT k::text || label FROM cc ORDER BY k").await,
        ["1a", "2b", "3c"]
    );
    let e = c
        .batch_execute("INSERT INTO cc VALUES (NULL, 'd')")
        .await
        .expect_err("k is NOT NULL");
    assert_eq!(code(&e), "23502", "{e:?}");
}
