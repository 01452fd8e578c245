//! What connections cost the server: a thousand connect / query / close rounds leave its
//! resident memory where it was (each connection's catalog used to outlive it, ~8.8 MiB a
//! round), a thousand idle connections fit beside a 1 GiB pool (each held its own plans of
//! the views, ~3.6 MiB), and a startup that never completes is closed
//! (server.authentication_timeout).

use crate::pgwire::Server;
use tokio_postgres::NoTls;

/// The server's resident set, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

/// `rounds` connections, two at a time, each running one query and closing.
async fn rounds(port: u16, rounds: usize) {
    let one = |i: usize| async move {
        let (client, conn) = tokio_postgres::connect(
            &format!("host=127.0.0.1 port={port} user=round{i} dbname=cip"),
            NoTls,
        )
        .await
        .expect("connect");
        let task = tokio::spawn(conn);
        let n: i64 = client
            .query_one("SELECT count(*) FROM pg_catalog.pg_class", &[])
            .await
            .expect("query")
            .get(0);
        assert!(n > 0);
        drop(client);
        task.await
            .expect("join")
            .expect("connection closes cleanly");
    };
    for i in (0..rounds).step_by(2) {
        tokio::join!(one(i), one(i + 1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_connections_leave_memory_where_it_was() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"));
    // Warm up: the first few hundred connections build what every later one shares (the
    // static catalog tables, the allocator's arenas), and the allocator's resident set then
    // wanders by several percent from one sample to the next. Flat means: after 1,000 more
    // rounds RSS is within 10% of the highest figure seen while warming up (a leak of even
    // 100 KiB a round would exceed it many times over).
    let mut start = 0;
    for _ in 0..5 {
        rounds(server.port, 100).await;
        start = start.max(rss_kib(server.pid()));
    }
    rounds(server.port, 1000).await;
    let end = rss_kib(server.pid());
    assert!(
        end * 10 <= start * 11,
        "RSS grew from {start} KiB to {end} KiB over 1,000 connections"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_connections_fit_beside_the_pool() {
    const POOL_MIB: u64 = 1024;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("cip.toml");
    std::fs::write(
        &cfg,
        format!(
            "[scheduler]\nenabled = false\n\n[server]\nmax_connections = 1100\n\n\
             [engine]\nmemory_limit = \"{POOL_MIB}MiB\"\n"
        ),
    )
    .expect("config");
    let server = Server::start_with(
        &dir.path().join("data"),
        &["--config", cfg.to_str().expect("path")],
    );
    let mut idle = Vec::new();
    for i in 0..1000 {
        idle.push(server.connect().await);
        if i % 250 == 249 {
            // Another client is answered while they pile up.
            let probe = server.connect().await;
            let one: i64 = probe
                .query_one("SELECT 1", &[])
                .await
                .expect("probe")
                .get(0);
            assert_eq!(one, 1);
        }
    }
    let rss_mib = rss_kib(server.pid()) / 1024;
    assert!(
        rss_mib < POOL_MIB + 512,
        "1,000 idle connections: RSS {rss_mib} MiB (pool {POOL_MIB} MiB)"
    );
    // They are connections, not corpses: every hundredth still answers a view query.
    for c in idle.iter().step_by(100) {
        let n: i64 = c
            .query_one("SELECT count(*) FROM segment_summary", &[])
            .await
            .expect("an idle connection answers")
            .get(0);
        assert!(n >= 0);
    }
}

#[test]
fn a_connection_that_never_starts_up_is_closed() {
    use std::io::Read;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("cip.toml");
    std::fs::write(
        &cfg,
        "[scheduler]\nenabled = false\n\n[server]\nauthentication_timeout = \"1s\"\n",
    )
    .expect("config");
    let server = Server::start_with(
        &dir.path().join("data"),
        &["--config", cfg.to_str().expect("path")],
    );
    let mut silent = std::net::TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    // Far longer than the timeout: a server that never closes fails the read instead of
    // hanging the test.
    silent
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("read timeout");
    let mut buf = [0u8; 16];
    let n = silent.read(&mut buf).expect("the server closes the socket");
    assert_eq!(n, 0, "closed without a word");
}
