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
