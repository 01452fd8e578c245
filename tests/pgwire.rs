//! The PostgreSQL wire protocol, driven by a real client (tokio-postgres) against a real
//! `cip serve` process.

use crate::common;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use tokio_postgres::{error::SqlState, NoTls};

pub struct Server {
    child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn start(data: &Path) -> Server {
        Server::start_with(data, &[])
    }

    /// Starts `cip serve` with extra arguments (e.g. `--config FILE`).
    pub fn start_with(data: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(common::cip_bin())
            .args(extra)
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("CIP_LOG", "warn")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn cip serve");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("cip serve exited before listening")
                .expect("read stderr");
            if let Some(addr) = line.strip_prefix("listening: postgresql://") {
                break addr
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("port");
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, port }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub async fn connect(&self) -> tokio_postgres::Client {
        self.connect_as("cip").await
    }

    /// A client logged in as `user` (a server without users lets anyone in as an operator).
    pub async fn connect_as(&self, user: &str) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(
            &format!("host=127.0.0.1 port={} user={user} dbname=cip", self.port),
            NoTls,
        )
        .await
        .expect("connect");
        tokio::spawn(conn);
        client
    }
}

pub fn code(e: &tokio_postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_parameters_writes_and_sqlstates_over_the_wire() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let a = server.connect().await;
    let b = server.connect().await;

    let n = a
        .execute(
            "INSERT INTO members (member_id, name, tier, status, points, marketing_consent) VALUES ($1, $2, 'basic', 'active', $3, true)",
            &[&"M1", &"王伟", &10i64],
        )
        .await
        .expect("insert with parameters");
    assert_eq!(n, 1);
    a.batch_execute("INSERT INTO members (member_id, name, tier) VALUES ('M2', '李娜', 'silver')")
        .await
        .expect("simple insert");

    // Visible on another connection at once.
    let row = b
        .query_one(
            "SELECT name, points FROM members WHERE member_id = $1",
            &[&"M1"],
        )
        .await
        .expect("select");
    assert_eq!(row.get::<_, String>(0), "王伟");
    assert_eq!(row.get::<_, Option<i64>>(1), Some(10));

    let updated = b
        .execute(
            "UPDATE members SET tier = 'gold' WHERE tier = $1",
            &[&"silver"],
        )
        .await
        .expect("update");
    assert_eq!(updated, 1);
    let deleted = a
        .execute("DELETE FROM members WHERE member_id = 'M1'", &[])
        .await
        .expect("delete");
    assert_eq!(deleted, 1);
    let rows = a
        .simple_query("SELECT member_id, tier FROM members")
        .await
        .expect("simple");
    let data: Vec<_> = rows
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                Some((r.get(0).map(String::from), r.get(1).map(String::from)))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        data,
        vec![(Some("M2".to_string()), Some("gold".to_string()))]
    );

    for (sql, want) in [
        ("SELECT * FROM no_such_table", SqlState::UNDEFINED_TABLE),
        (
            "SELECT no_such_column FROM members",
            SqlState::UNDEFINED_COLUMN,
        ),
        ("SELEC 1", SqlState::SYNTAX_ERROR),
        ("SELECT 1 / 0", SqlState::DIVISION_BY_ZERO),
        (
            "INSERT INTO members (member_id) VALUES ('M2')",
            SqlState::UNIQUE_VIOLATION,
        ),
        ("SELECT no_such_function(1)", SqlState::UNDEFINED_FUNCTION),
        // No abs(text), no integer + text: "function / operator does not exist" (42883).
        ("SELECT abs('x')", SqlState::UNDEFINED_FUNCTION),
        ("SELECT 1 + 'a'", SqlState::UNDEFINED_FUNCTION),
        // A table function given arguments it does not take, as PostgreSQL says it.
        (
            "SELECT * FROM refresh_member_scores(1)",
            SqlState::UNDEFINED_FUNCTION,
        ),
        (
            "SELECT * FROM members WHERE points",
            SqlState::DATATYPE_MISMATCH,
        ),
        (
            "SELECT CAST('x' AS INT)",
            SqlState::INVALID_TEXT_REPRESENTATION,
        ),
    ] {
        let e = a.simple_query(sql).await.expect_err(sql);
        assert_eq!(code(&e), want.code(), "{sql}: {e:?}");
    }
    // The connection is still usable after errors.
    let one = a
        .query_one("SELECT 1::BIGINT", &[])
        .await
        .expect("select 1");
    assert_eq!(one.get::<_, i64>(0), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_one_connection_does_not_hurt_the_others() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let good = server.connect().await;
    for junk in [
        &b"\x00\x00\x00\x08\x04\xd2\x16\x2f"[..],
        b"GET / HTTP/1.1\r\n\r\n",
        b"\x00\x00\x00\x03",
        b"\xff\xff\xff\xff garbage",
    ] {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
            .await
            .expect("tcp");
        let _ = s.write_all(junk).await;
        let _ = s.shutdown().await;
        let mut buf = Vec::new();
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    }
    let row = good
        .query_one("SELECT count(*) FROM members", &[])
        .await
        .expect("still serving");
    assert_eq!(row.get::<_, i64>(0), 0);
    let fresh = server.connect().await;
    fresh
        .simple_query("SELECT 1")
        .await
        .expect("new connections still work");
}

/// One SHOW's value, as text.
async fn show(c: &tokio_postgres::Client, statement: &str) -> String {
    c.query_one(statement, &[])
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"))
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cip_settings_are_per_connection_and_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let a = server.connect().await;
    let b = server.connect().await;
    a.batch_execute("SET cip.as_of = '2026-10-31'")
        .await
        .expect("set");
    let on_a = show(&a, "SHOW cip.as_of").await;
    let on_b = show(&b, "SHOW cip.as_of").await;
    assert_eq!(on_a, "2026-10-31");
    assert_eq!(on_b, "today", "a SET on one connection leaked into another");
    // Prepared (extended protocol) SET, as JDBC sends it.
    b.execute("SET cip.as_of = '2025-12-31'", &[])
        .await
        .expect("prepared set");
    let on_b = show(&b, "SHOW cip.as_of").await;
    assert_eq!(on_b, "2025-12-31");
    let e = a
        .batch_execute("SET cip.as_of = 'last tuesday'")
        .await
        .expect_err("bad date");
    assert_eq!(code(&e), "22023", "{e:?}");
    let e = a
        .batch_execute("SET cip.no_such_setting = 1")
        .await
        .expect_err("unknown");
    assert_eq!(code(&e), "42704", "{e:?}");
    let on_a = show(&a, "SHOW cip.as_of").await;
    assert_eq!(on_a, "2026-10-31", "a refused SET changed the setting");
    // DataFusion's own options: SET applies to this connection, SHOW reads it back, a bad
    // value or name is refused.
    a.batch_execute("SET datafusion.execution.batch_size = 100")
        .await
        .expect("set a datafusion option");
    let batch_size = show(&a, "SHOW datafusion.execution.batch_size").await;
    assert_eq!(batch_size, "100");
    let on_b = show(&b, "SHOW datafusion.execution.batch_size").await;
    assert_eq!(on_b, "8192");
    let e = a
        .batch_execute("SET datafusion.execution.batch_size = 'many'")
        .await
        .expect_err("bad value");
    assert_eq!(code(&e), "22023", "{e:?}");
    let e = a
        .simple_query("SHOW datafusion.no_such_option")
        .await
        .expect_err("unknown option");
    assert_eq!(code(&e), "42704", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_looks_like_postgresql_to_clients() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.connect().await;
    let v: String = c
        .query_one("SELECT version()", &[])
        .await
        .expect("version")
        .get(0);
    assert!(v.starts_with("PostgreSQL 16."), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_from_stdin_is_durable_checked_and_all_or_nothing() {
    use futures::SinkExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.connect().await;
    c.batch_execute("INSERT INTO campaigns (campaign_id, name) VALUES ('C1', 'one')")
        .await
        .expect("campaign");
    let sink = c
        .copy_in("COPY campaign_tracking (campaign_id, member_id, status, revenue, cost) FROM STDIN (FORMAT csv, HEADER true)")
        .await
        .expect("copy in");
    let mut sink = Box::pin(sink);
    let data: &'static [u8] = b"campaign_id,member_id,status,revenue,cost\nC1,M1,sent,0,0.05\nC1,M2,opened,,\nC1,M1,converted,388.00,20\n";
    sink.send(data).await.expect("send");
    let n = sink.as_mut().finish().await.expect("finish");
    assert_eq!(n, 3);
    let row = c
        .query_one(
            "SELECT count(*), sum(revenue)::DOUBLE, min(id), max(id) FROM campaign_tracking",
            &[],
        )
        .await
        .expect("select");
    assert_eq!(row.get::<_, i64>(0), 3);
    assert_eq!(row.get::<_, f64>(1), 388.0);
    assert_eq!(
        (row.get::<_, i64>(2), row.get::<_, i64>(3)),
        (1, 3),
        "ids filled in"
    );

    // A bad value: the whole COPY is refused with its line and column; nothing lands.
    let sink = c
        .copy_in("COPY visits (visit_id, member_id, amount) FROM STDIN (FORMAT csv)")
        .await
        .expect("copy in");
    let mut sink = Box::pin(sink);
    let bad: &'static [u8] = b"V1,M1,10.00\nV2,M2,ten\n";
    sink.send(bad).await.expect("send");
    let e = sink.as_mut().finish().await.expect_err("bad value");
    assert_eq!(code(&e), "22P02", "{e:?}");
    assert!(
        e.to_string().contains("line 2") || format!("{e:?}").contains("line 2"),
        "{e:?}"
    );
    let n: i64 = c
        .query_one("SELECT count(*) FROM visits", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 0);
    let e = c
        .simple_query("COPY no_such_table FROM STDIN")
        .await
        .expect_err("no table");
    assert_eq!(code(&e), "42P01", "{e:?}");
    // The connection is fine afterwards.
    c.simple_query("SELECT 1").await.expect("still usable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_query_to_stdout_streams_csv_and_text() {
    use futures::TryStreamExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.connect().await;
    c.batch_execute(
        "INSERT INTO visits (visit_id, member_id, store_id, started_at, amount) VALUES \
         ('V1', 'M1', 'S1', TIMESTAMP '2026-01-01 20:00:00', 12.50), ('V2', 'M2', NULL, TIMESTAMP '2026-01-02 21:00:00', 8.00)",
    )
    .await
    .expect("insert");
    let read = |sql: &'static str| {
        let c = &c;
        async move {
            let chunks: Vec<Vec<u8>> = c
                .copy_out(sql)
                .await
                .expect("copy out")
                .map_ok(|b| b.to_vec())
                .try_collect()
                .await
                .expect("copy data");
            String::from_utf8(chunks.concat()).expect("utf8")
        }
    };
    assert_eq!(
        read("COPY (SELECT visit_id, store_id, amount FROM visits ORDER BY visit_id) TO STDOUT (FORMAT csv, HEADER true)").await,
        "visit_id,store_id,amount\nV1,S1,12.50\nV2,,8.00\n"
    );
    assert_eq!(
        read("COPY (SELECT visit_id, store_id FROM visits ORDER BY visit_id) TO STDOUT").await,
        "V1\tS1\nV2\t\\N\n"
    );
    let e = c
        .simple_query("COPY visits TO '/tmp/x.csv'")
        .await
        .expect_err("server file");
    assert_eq!(code(&e), "0A000", "{e:?}");
    // A copy that fails once under way ends with an ErrorResponse, as in PostgreSQL, and the
    // connection goes on (it once sent a CopyFail, which tokio-postgres cannot read).
    let failed: Result<Vec<bytes::Bytes>, tokio_postgres::Error> = async {
        c.copy_out("COPY (SELECT string_to_array('a,b', ',') AS t) TO STDOUT (FORMAT csv)")
            .await?
            .try_collect()
            .await
    }
    .await;
    let e = failed.expect_err("a list has no CSV form here");
    assert!(e.as_db_error().is_some(), "{e:?}");
    let one: i64 = c.query_one("SELECT 1", &[]).await.expect("usable").get(0);
    assert_eq!(one, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_refused_with_53300() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("cip.toml");
    std::fs::write(&cfg, "[server]\nmax_connections = 2\n").expect("write config");
    let server = Server::start_with(
        &dir.path().join("data"),
        &["--config", cfg.to_str().expect("path")],
    );
    let a = server.connect().await;
    let b = server.connect().await;
    let refused = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={} user=cip dbname=cip", server.port),
        NoTls,
    )
    .await
    .err()
    .expect("a third connection is refused");
    assert_eq!(code(&refused), "53300", "{refused:?}");
    a.simple_query("SELECT 1")
        .await
        .expect("the others keep working");
    drop(a);
    // The slot frees when a client leaves.
    let mut again = None;
    for _ in 0..50 {
        if let Ok((c, conn)) = tokio_postgres::connect(
            &format!("host=127.0.0.1 port={} user=cip dbname=cip", server.port),
            NoTls,
        )
        .await
        {
            tokio::spawn(conn);
            again = Some(c);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    again
        .expect("a slot freed")
        .simple_query("SELECT 1")
        .await
        .expect("query");
    b.simple_query("SELECT 1").await.expect("query");
}

/// Drivers bind numbers with their own types (psycopg: int8 / float8, JDBC setDouble); a
/// decimal column takes them as PostgreSQL does, in text and in binary parameter format.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integer_and_float_parameters_compare_with_decimal_columns() {
    use tokio_postgres::types::Type;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.connect().await;
    c.batch_execute(
        "INSERT INTO visits (visit_id, member_id, store_id, started_at, amount) VALUES \
         ('V1', 'M1', 'S1', TIMESTAMP '2026-10-01 20:00:00', 99.50), \
         ('V2', 'M1', 'S1', TIMESTAMP '2026-10-02 20:00:00', 100.00), \
         ('V3', 'M2', 'S1', TIMESTAMP '2026-10-03 20:00:00', 250.75)",
    )
    .await
    .expect("insert");
    let sql = "SELECT count(*) FROM visits WHERE amount > $1";
    // tokio-postgres sends binary parameters of the declared type.
    let int8 = c
        .prepare_typed(sql, &[Type::INT8])
        .await
        .expect("prepare int8");
    let n: i64 = c.query_one(&int8, &[&100i64]).await.expect("int8").get(0);
    assert_eq!(n, 1);
    let float8 = c
        .prepare_typed(sql, &[Type::FLOAT8])
        .await
        .expect("prepare float8");
    let n: i64 = c
        .query_one(&float8, &[&99.75f64])
        .await
        .expect("float8")
        .get(0);
    assert_eq!(n, 2);
    let int4 = c
        .prepare_typed(sql, &[Type::INT4])
        .await
        .expect("prepare int4");
    let n: i64 = c.query_one(&int4, &[&0i32]).await.expect("int4").get(0);
    assert_eq!(n, 3);
    // An UPDATE with a float parameter into a decimal column.
    let upd = c
        .prepare_typed(
            "UPDATE visits SET amount = $1 WHERE visit_id = 'V1'",
            &[Type::FLOAT8],
        )
        .await
        .expect("prepare update");
    assert_eq!(c.execute(&upd, &[&120.25f64]).await.expect("update"), 1);
    let n: i64 = c
        .query_one(&int8, &[&100i64])
        .await
        .expect("after update")
        .get(0);
    assert_eq!(n, 2);
    // Without declared types the server infers numeric and the text form works as before.
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM visits WHERE amount > $1::DOUBLE PRECISION",
            &[&100.0f64],
        )
        .await
        .expect("cast")
        .get(0);
    assert_eq!(n, 2);
}

/// Over the memory pool: 53200 on the wire, and the server keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_over_the_memory_pool_gets_53200_over_the_wire() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("cip.toml");
    std::fs::write(&cfg, "[engine]\nmemory_limit = \"2MiB\"\n").expect("config");
    let server = Server::start_with(
        &dir.path().join("data"),
        &["--config", cfg.to_str().expect("path")],
    );
    let c = server.connect().await;
    let big = "SELECT v % 1000 AS k, array_agg(repeat('x', 100) || v) AS a \
               FROM generate_series(1, 300000) AS t(v) GROUP BY 1";
    let e = c.simple_query(big).await.expect_err("over the pool");
    assert_eq!(code(&e), "53200", "{e:?}");
    let one: i64 = c
        .query_one("SELECT 1", &[])
        .await
        .expect("still serving")
        .get(0);
    assert_eq!(one, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_timeout_cancels_a_running_statement_with_57014() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.connect().await;
    c.batch_execute("SET statement_timeout = '300ms'")
        .await
        .expect("set");
    // A hundred billion rows: far longer than the timeout, cut off while it runs (not at
    // planning), and stopped: the next statement does not wait behind it.
    let slow = "SELECT sum(value % 7) FROM generate_series(1, 100000000000)";
    let started = std::time::Instant::now();
    let e = c
        .simple_query(slow)
        .await
        .expect_err("simple query canceled");
    assert_eq!(code(&e), "57014", "{e:?}");
    let e = c
        .query(slow, &[])
        .await
        .expect_err("prepared query canceled");
    assert_eq!(code(&e), "57014", "{e:?}");
    eprintln!("two canceled statements took {:?}", started.elapsed());
    // The connection is usable, and without a timeout statements run to the end.
    let one: i64 = c.query_one("SELECT 1", &[]).await.expect("after").get(0);
    assert_eq!(one, 1);
    c.batch_execute("SET statement_timeout = 0")
        .await
        .expect("reset");
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM generate_series(1, 1000) a CROSS JOIN generate_series(1, 1000) b",
            &[],
        )
        .await
        .expect("runs")
        .get(0);
    assert_eq!(n, 1_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_functions_lists_cips_functions_over_both_protocols() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.connect().await;
    let rows = c
        .simple_query("SHOW FUNCTIONS LIKE 'mbgnbd%'")
        .await
        .expect("simple");
    let names: Vec<String> = rows
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(String::from),
            _ => None,
        })
        .collect();
    assert_eq!(
        names,
        [
            "mbgnbd_expected_visits",
            "mbgnbd_fit",
            "mbgnbd_p_alive",
            "mbgnbd_p_no_visit"
        ]
    );
    let rows = c
        .query("SHOW FUNCTIONS LIKE 'execute_upgrades'", &[])
        .await
        .expect("extended");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, String>(1), "table");
    assert!(rows[0].get::<_, String>(3).contains("Exactly once"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_text_format_escapes_round_trip() {
    use futures::{SinkExt, StreamExt};
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let c = server.connect().await;
    let sink = c
        .copy_in("COPY members (member_id, name, phone) FROM STDIN")
        .await
        .expect("copy in");
    let mut sink = Box::pin(sink);
    // PostgreSQL's text format: a tab, a newline and a backslash inside values are escaped;
    // \N is NULL, and \\N is the two characters backslash-N.
    let data: &'static [u8] = b"T1\ttab\\there\t\\N\nT2\tline\\nbreak \\\\ slash\t\\\\N\n";
    sink.send(data).await.expect("send");
    assert_eq!(sink.as_mut().finish().await.expect("finish"), 2);
    let rows = c
        .query(
            "SELECT member_id, name, phone FROM members ORDER BY member_id",
            &[],
        )
        .await
        .expect("select");
    let got: Vec<(String, String, Option<String>)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        got,
        vec![
            ("T1".into(), "tab\there".into(), None),
            (
                "T2".into(),
                "line\nbreak \\ slash".into(),
                Some("\\N".into())
            ),
        ]
    );
    // And back out in the same format, byte for byte.
    let out = c
        .copy_out("COPY (SELECT member_id, name, phone FROM members ORDER BY member_id) TO STDOUT")
        .await
        .expect("copy out");
    let mut out = Box::pin(out);
    let mut text = Vec::new();
    while let Some(chunk) = out.next().await {
        text.extend_from_slice(&chunk.expect("chunk"));
    }
    assert_eq!(
        String::from_utf8_lossy(&text),
        String::from_utf8_lossy(data)
    );
}
