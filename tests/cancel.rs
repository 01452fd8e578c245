//! Cancel requests (libpq's PQcancel, tokio-postgres's CancelToken) stop a statement while its
//! rows are being computed, over both protocols, and leave the connection usable; so does
//! pg_cancel_backend from another session, and pg_terminate_backend ends a connection.

use crate::pgwire::Server;
use crate::roles::code;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::NoTls;

/// A hundred billion rows: it would not finish within the test, so only a cancel ends it.
/// (A scan, which yields between batches; DataFusion's cross join does not, and an abort only
/// reaches it when its current poll ends.)
const ENDLESS: &str = "SELECT sum(value % 7) FROM generate_series(1, 100000000000)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_request_stops_a_running_statement_with_57014() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = std::sync::Arc::new(server.connect().await);

    // A cancel while nothing runs is ignored, as in PostgreSQL. (The client returns once the
    // request is sent; give the server time to read it, or it would race the next statement.)
    c.cancel_token().cancel_query(NoTls).await.expect("cancel");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let one: i64 = c
        .query_one("SELECT 1", &[])
        .await
        .expect("idle cancel ignored")
        .get(0);
    assert_eq!(one, 1);

    for extended in [false, true] {
        let client = c.clone();
        let running = tokio::spawn(async move {
            if extended {
                client.query(ENDLESS, &[]).await.map(|_| ())
            } else {
                client.simple_query(ENDLESS).await.map(|_| ())
            }
        });
        // Let execution start (planning takes a few milliseconds).
        tokio::time::sleep(Duration::from_millis(800)).await;
        // Meanwhile another client connects and is answered: one heavy statement does not
        // hold the server (it runs on the execution runtime, see src/executor.rs).
        let asked = std::time::Instant::now();
        let other = tokio::time::timeout(Duration::from_secs(60), async {
            let other = server.connect().await;
            other
                .query_one("SELECT 1", &[])
                .await
                .map(|r| r.get::<_, i64>(0))
        })
        .await
        .expect("another client is answered while the statement runs")
        .expect("SELECT 1");
        assert_eq!(other, 1);
        assert!(!running.is_finished(), "the statement was still running");
        eprintln!("another client's SELECT 1 took {:?}", asked.elapsed());
        // Now cancel it.
        let started = std::time::Instant::now();
        c.cancel_token().cancel_query(NoTls).await.expect("cancel");
        let outcome = tokio::time::timeout(Duration::from_secs(120), running)
            .await
            .expect("the statement ended after the cancel")
            .expect("task");
        let e = outcome.expect_err("canceled");
        let db = e.as_db_error().expect("a server error");
        assert_eq!(db.code().code(), "57014", "{db:?}");
        assert!(db.message().contains("user request"), "{db:?}");
        eprintln!(
            "extended={extended}: canceled {:?} after the request",
            started.elapsed()
        );
        let one: i64 = c.query_one("SELECT 1", &[]).await.expect("usable").get(0);
        assert_eq!(one, 1);
    }
}

/// CPU time (user + system, in clock ticks) the process has used.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc stat");
    // Fields after the command name (which may hold spaces) start past the last ')'.
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

/// A model fit runs its optimiser inside one poll, where dropping the stream cannot reach it;
/// it asks the session's StatementStop between iterations, so a timeout ends the work too,
/// not only the response.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_fit_stops_between_iterations_at_a_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.connect().await;
    // Eight million distinct synthetic customers: aggregated in about a second, then the
    // optimiser runs for several more (8 s in all on this 2-core machine, debug build). The
    // timeout falls inside the fit.
    let fit = "SELECT bgnbd_fit(f, CASE WHEN f = 0 THEN 0 ELSE r + 1 END, t) FROM \
               (SELECT CAST(value % 40 AS DOUBLE) AS f, CAST((value * 7919) % 997 AS DOUBLE) AS r, \
               CAST(1000 + value % 100003 AS DOUBLE) AS t FROM generate_series(1, 8000000))";
    // One partition: the aggregate then runs in a single phase whose every step can stop
    // (batches yield, the optimiser asks between iterations). With several partitions the
    // final phase first merges the partial states in one uninterruptible call (seconds for
    // eight million rows on a loaded machine), which is not what this test is about.
    c.batch_execute("SET datafusion.execution.target_partitions = 1; SET statement_timeout = '3s'")
        .await
        .expect("set");
    let e = c.query(fit, &[]).await.expect_err("timed out");
    assert_eq!(e.code().map(|s| s.code()), Some("57014"), "{e:?}");
    // Then the server must go idle: a fit that went on would keep a core busy (100 ticks a
    // second) until about 8 s after it started, and longer on a loaded machine. What cannot
    // stop mid-way — the last batch of the aggregation, the fit's set-up (sorting the
    // distinct customers takes a second or two) — may run on before the optimiser's first
    // check, longer while other tests load the machine: so the server passes when any
    // half-second within 4.5 s of the timeout is idle, which a fit that kept going never is.
    let mut windows = Vec::new();
    for _ in 0..9 {
        let before = cpu_ticks(server.pid());
        tokio::time::sleep(Duration::from_millis(500)).await;
        windows.push(cpu_ticks(server.pid()) - before);
        if windows.last().is_some_and(|t| *t < 15) {
            break;
        }
    }
    assert!(
        windows.last().is_some_and(|t| *t < 15),
        "the server kept computing after the timeout: ticks per half-second {windows:?}"
    );
    let one: i64 = c.query_one("SELECT 1", &[]).await.expect("usable").get(0);
    assert_eq!(one, 1);
}

/// The connection's own facts, as PostgreSQL's session information functions give them: each
/// connection its own backend pid (the one its cancel requests name), the addresses and
/// ports of both ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_connection_knows_its_pid_and_addresses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let (a, b) = (server.connect().await, server.connect().await);
    let facts = "SELECT pg_backend_pid(), inet_client_addr(), inet_client_port(), \
                 inet_server_addr(), inet_server_port()";
    let (ra, rb) = (
        a.query_one(facts, &[]).await.expect("facts"),
        b.query_one(facts, &[]).await.expect("facts"),
    );
    let pid = |r: &tokio_postgres::Row| r.get::<_, i32>(0);
    assert_ne!(pid(&ra), pid(&rb), "two connections, two pids");
    for r in [&ra, &rb] {
        assert_eq!(r.get::<_, Option<String>>(1).as_deref(), Some("127.0.0.1"));
        assert!(r.get::<_, Option<i32>>(2).is_some_and(|p| p > 0));
        assert_eq!(r.get::<_, Option<String>>(3).as_deref(), Some("127.0.0.1"));
        assert_eq!(r.get::<_, Option<i32>>(4), Some(i32::from(server.port)));
    }
    // The same pid on every statement of the connection.
    let again: i32 = a
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0);
    assert_eq!(again, pid(&ra));
}

/// pg_stat_activity lists each client connection: its pid (what pg_backend_pid says there),
/// user, application_name and address, the statement it runs or last ran, and whether it is
/// active, idle or idle in a block; a connection that closed is gone from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_stat_activity_lists_the_connections_and_what_they_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let (a, conn) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user=cip dbname=cip application_name=loader",
            server.port
        ),
        NoTls,
    )
    .await
    .expect("connect");
    let a_conn = tokio::spawn(conn);
    let b = server.connect().await;
    let (a_pid, b_pid) = (backend_pid(&a).await, backend_pid(&b).await);
    a.batch_execute("BEGIN; SELECT 41 + 1")
        .await
        .expect("a block");
    let row = |p: i32| {
        let b = &b;
        async move {
            b.query_opt(
                "SELECT usename::text, application_name, client_addr, state, query, \
                 xact_start IS NOT NULL, datname::text, usesysid::int \
                 FROM pg_stat_activity WHERE pid = $1",
                &[&p],
            )
            .await
            .expect("pg_stat_activity")
        }
    };
    let a_row = row(a_pid).await.expect("a is listed");
    assert_eq!(a_row.get::<_, String>(0), "cip");
    assert_eq!(a_row.get::<_, String>(1), "loader");
    assert_eq!(a_row.get::<_, String>(2), "127.0.0.1");
    assert_eq!(a_row.get::<_, String>(3), "idle in transaction");
    assert!(a_row.get::<_, String>(4).contains("41 + 1"), "{a_row:?}");
    assert!(a_row.get::<_, bool>(5), "a block has its xact_start");
    assert_eq!(a_row.get::<_, String>(6), "cip");
    assert_eq!(a_row.get::<_, i32>(7), 10);
    // The reading connection is active, running the reading statement.
    let b_row = row(b_pid).await.expect("b is listed");
    assert_eq!(b_row.get::<_, String>(3), "active");
    assert!(b_row.get::<_, String>(4).contains("pg_stat_activity"));
    a.batch_execute("ROLLBACK").await.expect("rollback");
    assert_eq!(row(a_pid).await.expect("a").get::<_, String>(3), "idle");
    drop(a);
    let _ = a_conn.await;
    let mut gone = false;
    for _ in 0..50 {
        if row(a_pid).await.is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "a closed connection leaves pg_stat_activity");
}

pub(crate) async fn backend_pid(c: &tokio_postgres::Client) -> i32 {
    c.query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_session_cancels_and_terminates_another() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let a = Arc::new(server.connect().await);
    let b = server.connect().await;
    let a_pid = backend_pid(&a).await;
    // A running statement of a is cancelled from b; a's connection goes on.
    let running = {
        let a = a.clone();
        tokio::spawn(async move { a.simple_query("SELECT pg_sleep(60)").await })
    };
    wait_for_state(&b, a_pid, "active").await;
    let told: bool = b
        .query_one("SELECT pg_cancel_backend($1)", &[&a_pid])
        .await
        .expect("cancel")
        .get(0);
    assert!(told);
    let e = running.await.expect("join").expect_err("cancelled");
    assert_eq!(code(&e), "57014", "{e}");
    let alive: i64 = a.query_one("SELECT 1", &[]).await.expect("a").get(0);
    assert_eq!(alive, 1);
    // A pid no session has: false (and a WARNING), as PostgreSQL.
    let none: bool = b
        .query_one("SELECT pg_cancel_backend(0)", &[])
        .await
        .expect("no such pid")
        .get(0);
    assert!(!none);
    // Terminating a, inside its block: its connection closes, its block is rolled back.
    a.batch_execute("CREATE TABLE kept (k int); BEGIN; INSERT INTO kept VALUES (1)")
        .await
        .expect("a block");
    let ended: bool = b
        .query_one("SELECT pg_terminate_backend($1, 5000)", &[&a_pid])
        .await
        .expect("terminate")
        .get(0);
    assert!(ended, "pg_terminate_backend waited for a to end");
    assert!(a.simple_query("SELECT 1").await.is_err(), "a is closed");
    let listed: i64 = b
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
            &[&a_pid],
        )
        .await
        .expect("activity")
        .get(0);
    assert_eq!(listed, 0);
    let rows: i64 = b
        .query_one("SELECT count(*) FROM kept", &[])
        .await
        .expect("kept")
        .get(0);
    assert_eq!(rows, 0, "the terminated block wrote nothing");
    // A session may cancel itself (its own statement ends with 57014); timeouts are checked.
    let e = b
        .simple_query("SELECT pg_cancel_backend(pg_backend_pid())")
        .await
        .expect_err("own statement cancelled");
    assert_eq!(code(&e), "57014", "{e}");
    let e = b
        .simple_query("SELECT pg_terminate_backend(pg_backend_pid(), -1)")
        .await
        .expect_err("negative timeout");
    assert_eq!(code(&e), "22023", "{e}");
    let null: Option<bool> = b
        .query_one("SELECT pg_terminate_backend(NULL)", &[])
        .await
        .expect("null")
        .get(0);
    assert_eq!(null, None);
}

async fn wait_for_state(c: &tokio_postgres::Client, pid: i32, state: &str) {
    for _ in 0..100 {
        let now: Option<String> = c
            .query_opt("SELECT state FROM pg_stat_activity WHERE pid = $1", &[&pid])
            .await
            .expect("activity")
            .map(|r| r.get(0));
        if now.as_deref() == Some(state) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("session {pid} never became {state}");
}
