//! BI tools' start-up and browsing statements (tests/clients/bi_startup.sql), through the
//! simple protocol (as psql-like clients send them) and the extended one (pgjdbc, which
//! DBeaver and Metabase use); and the RESET / DISCARD that connection pools send between
//! users really put the session back.

use crate::pgwire::Server;
use tokio_postgres::SimpleQueryMessage;

fn statements() -> Vec<String> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/bi_startup.sql");
    std::fs::read_to_string(path)
        .expect("bi_startup.sql")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("--"))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dbeaver_metabase_and_grafana_startup_statements_succeed() {
    let dir = tempfile::tempdir().expect("tempdir");
    crate::common::generate(dir.path(), 300, 31);
    let server = Server::start(dir.path());
    let c = server.connect().await;
    let statements = statements();
    assert!(statements.len() > 15);
    for sql in &statements {
        c.simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("simple: {sql}: {e:?}"));
        c.query(sql.as_str(), &[])
            .await
            .unwrap_or_else(|e| panic!("extended: {sql}: {e:?}"));
    }
    // Grafana's table list finds our tables; the version arithmetic is PostgreSQL's.
    let grafana = statements
        .iter()
        .find(|s| s.contains("timescaledb_information"))
        .expect("grafana statement");
    let names: Vec<String> = c
        .simple_query(grafana)
        .await
        .expect("tables")
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .collect();
    // public is on the search path, so Grafana lists its tables unqualified (once, every
    // name came back schema-qualified: the IN subquery in its select list answered false).
    assert!(names.iter().any(|n| n == "visits"), "{names:?}");
    assert!(!names.iter().any(|n| n == "public.visits"), "{names:?}");
    // (DataFusion types int / integer literal as bigint, where PostgreSQL keeps int4.)
    let v: i64 = c
        .query_one(
            "SELECT current_setting('server_version_num')::int / 100",
            &[],
        )
        .await
        .expect("version")
        .get(0);
    assert_eq!(v, 1600);
    // A parameterised catalog lookup, as pgjdbc sends it.
    let rows = c
        .query(
            "SELECT db.oid, db.datname FROM pg_catalog.pg_database db WHERE datname = $1",
            &[&"cip"],
        )
        .await
        .expect("database by name");
    assert_eq!(rows.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_and_discard_put_the_session_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.connect().await;
    let show = |sql: &'static str| {
        let c = &c;
        async move {
            let messages = c.simple_query(sql).await.expect(sql);
            let row = messages.into_iter().find_map(|m| match m {
                SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or_default().to_string()),
                _ => None,
            });
            row.unwrap_or_else(|| panic!("{sql}: no row"))
        }
    };
    let default = show("SHOW cip.as_of").await;
    c.batch_execute("SET cip.as_of = '2026-01-31'")
        .await
        .expect("set");
    assert_eq!(show("SHOW cip.as_of").await, "2026-01-31");
    c.batch_execute("RESET cip.as_of").await.expect("reset one");
    assert_eq!(show("SHOW cip.as_of").await, default);

    c.batch_execute("SET cip.as_of = '2026-01-31'; SET statement_timeout = '5s'")
        .await
        .expect("set");
    c.batch_execute("RESET ALL").await.expect("reset all");
    assert_eq!(show("SHOW cip.as_of").await, default);
    assert_eq!(show("SHOW statement_timeout").await, "0");

    // Through the extended protocol too (pgjdbc pools send DISCARD ALL prepared).
    c.batch_execute("SET cip.as_of = '2026-01-31'")
        .await
        .expect("set");
    c.execute("DISCARD ALL", &[]).await.expect("discard all");
    assert_eq!(show("SHOW cip.as_of").await, default);
    c.batch_execute("DISCARD PLANS; DISCARD TEMP")
        .await
        .expect("discard others");

    let e = c
        .batch_execute("RESET cip.no_such")
        .await
        .expect_err("unknown");
    assert_eq!(e.code().map(|s| s.code()), Some("42704"), "{e:?}");
}
