//! What one role may do about others and about the warehouse's objects, as PostgreSQL
//! answers it: an analyst signals (pg_cancel_backend / pg_terminate_backend) only sessions of
//! their own user, and the privilege inquiry functions (has_table_privilege and the rest)
//! say what cip's roles allow — what BI tools and IDEs ask before offering an edit.

use crate::cancel::backend_pid;
use crate::pgwire::Server;
use crate::roles::{code, login, CONFIG};

/// A server with roles.rs's users, and a connection of each.
async fn operator_and_analyst(
    dir: &std::path::Path,
) -> (Server, tokio_postgres::Client, tokio_postgres::Client) {
    let data = dir.join("data");
    let cfg = dir.join("cip.toml");
    std::fs::write(&cfg, CONFIG).expect("config");
    let server = Server::start_with(&data, &["--config", cfg.to_str().expect("path")]);
    let ops = login(server.port, "ops", "ops-secret-1")
        .await
        .expect("ops");
    let ana = login(server.port, "ana", "ana-secret-1")
        .await
        .expect("ana");
    (server, ops, ana)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analysts_signal_only_their_own_sessions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, ops, ana) = operator_and_analyst(dir.path()).await;
    let ana2 = login(server.port, "ana", "ana-secret-1")
        .await
        .expect("ana again");
    let (ops_pid, ana2_pid) = (backend_pid(&ops).await, backend_pid(&ana2).await);
    // Each logged-in connection has a pid of its own (all were 100000 once).
    let ana_pid = backend_pid(&ana).await;
    assert!(ops_pid != ana_pid && ana_pid != ana2_pid && ops_pid != ana2_pid);
    // An analyst may not signal an operator's (superuser's) session: PostgreSQL's 42501.
    for sql in [
        format!("SELECT pg_cancel_backend({ops_pid})"),
        format!("SELECT pg_terminate_backend({ops_pid})"),
    ] {
        let e = ana.simple_query(&sql).await.expect_err("refused");
        assert_eq!(code(&e), "42501", "{sql}: {e:?}");
        assert!(format!("{e:?}").contains("must be a superuser"), "{e:?}");
    }
    // … but its own other session, and an operator any.
    let own: bool = ana
        .query_one("SELECT pg_cancel_backend($1)", &[&ana2_pid])
        .await
        .expect("own session")
        .get(0);
    let any: bool = ops
        .query_one("SELECT pg_cancel_backend($1)", &[&ana2_pid])
        .await
        .expect("operator")
        .get(0);
    assert!(own && any);
    let alive: i64 = ana2.query_one("SELECT 1", &[]).await.expect("ana2").get(0);
    assert_eq!(
        alive, 1,
        "a cancel with nothing running leaves the session be"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privilege_functions_say_what_each_role_may_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_server, ops, ana) = operator_and_analyst(dir.path()).await;
    // An analyst reads every table, writes none (as their INSERT would be refused).
    let tables = "SELECT has_table_privilege('members', 'SELECT'), \
        has_table_privilege('members', 'INSERT'), has_table_privilege('members', 'select, update'), \
        has_any_column_privilege('visits', 'UPDATE'), has_column_privilege('members', 'tier', 'SELECT'), \
        has_column_privilege('members', 'tier', 'UPDATE')";
    let t = Some(true);
    let f = Some(false);
    assert_eq!(answers(&ana, tables).await, [t, f, t, f, t, f]);
    assert_eq!(answers(&ops, tables).await, [t, t, t, t, t, t]);
    let e = ana
        .simple_query("INSERT INTO tier_rules SELECT * FROM tier_rules WHERE false")
        .await;
    assert!(
        e.is_err(),
        "the analyst's write is refused, as the function said"
    );
    // Schemas: the analyst creates only in the schema named after them.
    let schemas = "SELECT has_schema_privilege('public', 'USAGE'), \
        has_schema_privilege('public', 'CREATE'), has_schema_privilege('ana', 'CREATE'), \
        has_database_privilege('cip', 'CONNECT'), has_function_privilege('abs(integer)', 'EXECUTE')";
    assert_eq!(answers(&ana, schemas).await, [t, f, t, t, t]);
    // About another user, by name or OID; roles are members of themselves.
    let others = "SELECT has_table_privilege('ana', 'members', 'DELETE'), \
        has_table_privilege(10, 'members', 'DELETE'), pg_has_role('ana', 'ops', 'MEMBER'), \
        pg_has_role('ana', 'ana', 'USAGE'), pg_has_role('ops', 'ana', 'MEMBER')";
    assert_eq!(answers(&ops, others).await, [f, t, f, t, t]);
    // NULL gives NULL; PostgreSQL's errors for the rest.
    assert_eq!(
        answers(
            &ana,
            "SELECT has_table_privilege(NULL, 'SELECT'), has_schema_privilege('public', NULL)"
        )
        .await,
        [None, None]
    );
    for (sql, expected) in [
        ("SELECT has_table_privilege('members', 'FLY')", "22023"),
        (
            "SELECT has_table_privilege('nobody', 'members', 'SELECT')",
            "42704",
        ),
        ("SELECT has_table_privilege('nosuch', 'SELECT')", "42P01"),
    ] {
        let e = ana.simple_query(sql).await.expect_err(sql);
        assert_eq!(code(&e), expected, "{sql}: {e:?}");
    }
}

/// The one row `sql` answers, as booleans.
async fn answers(c: &tokio_postgres::Client, sql: &str) -> Vec<Option<bool>> {
    let row = c.query_one(sql, &[]).await.expect(sql);
    (0..row.len())
        .map(|i| row.get::<_, Option<bool>>(i))
        .collect()
}
