//! What a careless or hostile client can make the server hold (issue 22), against a server
//! with a 1 GiB pool (so a session may hold 256 MiB): statements that build huge values or
//! aggregates fail with 53200 / 54000 and leave the server small and answering; a client that
//! stops reading a huge result holds its statement back instead of growing the server, over
//! the simple and the extended protocol; Execute with a row limit suspends the portal.

use crate::pgwire::{code, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const POOL_MIB: u64 = 1024;

fn start(dir: &std::path::Path) -> Server {
    let cfg = dir.join("cip.toml");
    std::fs::write(
        &cfg,
        format!("[scheduler]\nenabled = false\n\n[engine]\nmemory_limit = \"{POOL_MIB}MiB\"\n"),
    )
    .expect("config");
    Server::start_with(
        &dir.join("data"),
        &["--config", cfg.to_str().expect("path")],
    )
}

/// The server's resident set and its peak so far, in MiB.
fn rss_mib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .expect("status field")
            / 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Another client's `SELECT 1` answers (within a generous bound: a hang fails the test).
async fn probe(server: &Server) {
    let answered = tokio::time::timeout(Duration::from_secs(30), async {
        let c = server.connect().await;
        c.query_one("SELECT 1", &[])
            .await
            .map(|r| r.get::<_, i64>(0))
    })
    .await;
    assert!(matches!(answered, Ok(Ok(1))), "probe: {answered:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_values_and_aggregates_fail_and_leave_the_server_small() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path());
    let c = server.connect().await;
    let cases = [
        // One value of ~1 GB: more than the session's 256 MiB.
        ("SELECT length(repeat('x', 1000000000))", "53200"),
        // Past PostgreSQL's 1 GiB field limit: too large whatever the memory.
        ("SELECT length(repeat('x', 3000000000))", "54000"),
        ("SELECT length(lpad('a', 2000000000, 'xy'))", "54000"),
        ("SELECT cardinality(array_repeat(1, 500000000))", "54000"),
        // A small text whose every character becomes a long one.
        (
            "SELECT length(replace(repeat('x', 1000000), 'x', repeat('y', 10000)))",
            "54000",
        ),
        (
            "SELECT length(replace(repeat('x', 100000), 'x', repeat('y', 3000)))",
            "53200",
        ),
        (
            "SELECT length(regexp_replace(repeat('x', 1000000), 'x', repeat('y', 10000), 'g'))",
            "54000",
        ),
        // Back-references copy the match: 3,000 copies of each of 100,000 characters.
        (
            "SELECT length(regexp_replace(repeat('x', 100000), '(.)', repeat('\\1', 3000), 'g'))",
            "53200",
        ),
        ("SELECT cardinality(range(1, 2000000000))", "54000"),
        // Many moderate values: the batch's total is weighed.
        (
            "SELECT max(length(repeat('x', 100000 + g))) FROM generate_series(1, 100000) t(g)",
            "53200",
        ),
        // Aggregate states are charged to the session.
        (
            "SELECT length(string_agg(repeat('x', 1000), '')) FROM generate_series(1, 1000000)",
            "53200",
        ),
        (
            "SELECT cardinality(array_agg(x)) FROM generate_series(1, 100000000) g(x)",
            "53200",
        ),
    ];
    for (sql, expected) in cases {
        let e = c.simple_query(sql).await.expect_err(sql);
        assert_eq!(code(&e), expected, "{sql}: {e:?}");
        // The same over the extended protocol, where the plan is built at Parse.
        let e = c.query(sql, &[]).await.expect_err(sql);
        assert_eq!(code(&e), expected, "{sql} (extended): {e:?}");
        probe(&server).await;
    }
    // What fits still runs, NULLs and negatives as PostgreSQL answers them.
    let row = c
        .query_one(
            "SELECT length(repeat('x', 10000000)), repeat('ab', 3), repeat(NULL, 3), \
             repeat('x', -1), lpad('7', 3, '0'), cardinality(array_repeat(0, 1000)), \
             replace('abc', 'b', 'xx'), regexp_replace('abcb', '(b)', '\\1\\1', 'g'), \
             regexp_replace('abcb', 'b', 'y'), replace(NULL, 'a', 'b')",
            &[],
        )
        .await
        .expect("small values");
    assert_eq!(row.get::<_, i32>(0), 10_000_000);
    assert_eq!(row.get::<_, &str>(1), "ababab");
    assert_eq!(row.get::<_, Option<&str>>(2), None);
    assert_eq!(row.get::<_, &str>(3), "");
    assert_eq!(row.get::<_, &str>(4), "007");
    assert_eq!(row.get::<_, &str>(6), "axxc");
    assert_eq!(row.get::<_, &str>(7), "abbcbb");
    assert_eq!(row.get::<_, &str>(8), "aycb");
    assert_eq!(row.get::<_, Option<&str>>(9), None);
    let (_, peak) = rss_mib(server.pid());
    assert!(
        peak < POOL_MIB + 512,
        "the server's peak RSS was {peak} MiB with a {POOL_MIB} MiB pool"
    );
}

/// A raw connection that sends a huge query and then reads nothing.
fn stalled_reader(port: u16, extended: bool) -> TcpStream {
    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    }
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut startup = 196608i32.to_be_bytes().to_vec();
    startup.extend_from_slice(b"user\0cip\0database\0cip\0\0");
    let mut packet = (startup.len() as i32 + 4).to_be_bytes().to_vec();
    packet.extend_from_slice(&startup);
    s.write_all(&packet).expect("startup");
    // Until ReadyForQuery (Z, length 5, status I).
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(6).any(|w| w == b"Z\0\0\0\x05I") {
        let n = s.read(&mut buf).expect("startup answer");
        assert!(n > 0, "closed during startup");
        seen.extend_from_slice(&buf[..n]);
    }
    // 400 million rows of ~220 bytes: far more than the server's memory.
    let sql = b"SELECT a.x, b.y, repeat('z', 200) FROM generate_series(1, 20000) a(x), \
                generate_series(1, 20000) b(y)\0";
    let mut out = Vec::new();
    if extended {
        let mut parse = vec![0u8];
        parse.extend_from_slice(sql);
        parse.extend_from_slice(&[0, 0]);
        out.extend(message(b'P', &parse));
        out.extend(message(b'B', &[0, 0, 0, 0, 0, 0, 0, 0]));
        out.extend(message(b'E', &[0, 0, 0, 0, 0]));
        out.extend(message(b'S', &[]));
    } else {
        out.extend(message(b'Q', sql));
    }
    s.write_all(&out).expect("query");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_holds_back_its_statement() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path());
    probe(&server).await;
    for extended in [true, false] {
        let (before, _) = rss_mib(server.pid());
        let mut stalled = stalled_reader(server.port, extended);
        let mut highest = before;
        for _ in 0..6 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            probe(&server).await;
            highest = highest.max(rss_mib(server.pid()).0);
        }
        // Buffering the result would take gigabytes; back-pressure keeps a few batches.
        assert!(
            highest < before + 256,
            "extended: {extended}: RSS went from {before} to {highest} MiB while the client \
             read nothing"
        );
        // The rows were there all along: reading resumes the statement.
        let mut got = 0usize;
        let mut buf = vec![0u8; 1 << 20];
        while got < 20 << 20 {
            let n = stalled.read(&mut buf).expect("rows");
            assert!(n > 0, "closed while streaming");
            got += n;
        }
        assert!(buf.contains(&b'D'), "data rows");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_with_a_row_limit_suspends_the_portal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path());
    let mut c = server.connect().await;
    let t = c.transaction().await.expect("begin");
    let stmt = t
        .prepare("SELECT x FROM generate_series(1, 10) t(x) ORDER BY x")
        .await
        .expect("prepare");
    let portal = t.bind(&stmt, &[]).await.expect("bind");
    let mut pages = Vec::new();
    loop {
        let rows = t.query_portal(&portal, 3).await.expect("execute");
        pages.push(rows.iter().map(|r| r.get::<_, i64>(0)).collect::<Vec<_>>());
        if rows.len() < 3 {
            break;
        }
    }
    let flat: Vec<i64> = pages.concat();
    assert_eq!(flat, (1..=10).collect::<Vec<_>>(), "{pages:?}");
    assert_eq!(pages.len(), 4, "{pages:?}");
    // A result that could never be gathered whole: the portal keeps its place in the stream
    // between Executes (cip sends rows from the stream itself, not from a gathered page).
    let endless = t
        .prepare("SELECT x FROM generate_series(1, 1000000000000) t(x)")
        .await
        .expect("prepare");
    let portal = t.bind(&endless, &[]).await.expect("bind");
    let first = tokio::time::timeout(Duration::from_secs(60), t.query_portal(&portal, 5))
        .await
        .expect("the first rows come before the whole result")
        .expect("rows");
    let first: Vec<i64> = first.iter().map(|r| r.get(0)).collect();
    assert_eq!(first, vec![1, 2, 3, 4, 5]);
    let next = t.query_portal(&portal, 2).await.expect("more");
    assert_eq!(
        next.iter().map(|r| r.get(0)).collect::<Vec<i64>>(),
        vec![6, 7]
    );
    t.rollback().await.expect("rollback");
}

/// COPY FROM STDIN holds its data until the end (it is all or nothing): what a session may
/// hold bounds it too, and a refused COPY leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_past_the_session_limit_fails_whole() {
    use futures::SinkExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path());
    let c = server.connect().await;
    c.batch_execute("CREATE TABLE big_copy (v text)")
        .await
        .expect("table");
    let sink = c
        .copy_in("COPY big_copy FROM STDIN")
        .await
        .expect("copy in");
    let mut sink = Box::pin(sink);
    let line = bytes::Bytes::from(format!("{}\n", "x".repeat(1 << 20)));
    // 300 MiB: past the session's 256 MiB, under the COPY cap of 1 GiB.
    let mut refused = None;
    for _ in 0..300 {
        if let Err(e) = sink.send(line.clone()).await {
            refused = Some(e);
            break;
        }
    }
    let e = match refused {
        Some(e) => e,
        None => sink.as_mut().finish().await.expect_err("over the limit"),
    };
    assert_eq!(code(&e), "53200", "{e:?}");
    let other = server.connect().await;
    let n: i64 = other
        .query_one("SELECT count(*) FROM big_copy", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 0);
    let (_, peak) = rss_mib(server.pid());
    assert!(peak < POOL_MIB + 512, "peak RSS {peak} MiB");
}
