//! One member's segment and figures, the question a front desk, a CRM page or the HTTP API's
//! per-member endpoint asks many times a second (issue 20): `SELECT * FROM customer_segments
//! WHERE member_id = $1`, a prepared statement over the extended protocol, on cip (answered
//! from the member_scores snapshot `cip serve` builds before it listens) against PostgreSQL 15
//! serving the same rows from a table with a primary key; same machine, same run, same client
//! (tokio-postgres).
//!
//! - latency: one client, CIP_LOOKUPS (2,000) lookups of random members: p50 / p99 of each;
//! - throughput: 32 clients for 10 s each: lookups per second;
//! - what the same lookup costs computed live (customer_segments_live), a few lookups;
//! - under writes: a visit inserted every 100 ms for 20 s while one client looks members up
//!   (p50 / p99; before the snapshot caught up with writes, every lookup after a write was
//!   live), and how long after a visit its member's lookup reads the snapshot again.
//!
//! Run: `bash benches/run.sh lookup` (CIP_BENCH_MEMBERS, default 1,000,000).

#[path = "common/run.rs"]
mod run;
#[allow(dead_code)]
#[path = "wire/servers.rs"]
mod servers;

use run::setting;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

const LOOKUP: &str = "SELECT * FROM customer_segments WHERE member_id = $1";

fn main() {
    let Some(pg_bin) = servers::postgres_bin() else {
        eprintln!("PostgreSQL 15 server binaries not found: apt-get install postgresql-15");
        return;
    };
    let members = setting("CIP_BENCH_MEMBERS", 1_000_000) as u32;
    let lookups = setting("CIP_LOOKUPS", 2_000) as usize;
    let root = servers::shared_tempdir();
    let data = root.path().join("cip");
    servers::generate(&data, members);
    let started = Instant::now();
    let cip = servers::Cip::serve(&data);
    eprintln!(
        "cip serve listened {:.1} s after start (building the snapshot)",
        started.elapsed().as_secs_f64()
    );
    let pg = servers::Postgres::start(&pg_bin, &root.path().join("pg"));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let c = servers::connect(cip.port, "cip").await;
        let p = servers::connect(pg.port, "postgres").await;
        let rows = servers::mirror(&c, &p, "customer_segments").await;
        p.batch_execute("ALTER TABLE customer_segments ADD PRIMARY KEY (member_id)")
            .await
            .expect("primary key");
        let ids: Arc<Vec<String>> = Arc::new(
            c.query("SELECT member_id FROM customer_segments", &[])
                .await
                .expect("ids")
                .iter()
                .map(|r| r.get(0))
                .collect(),
        );
        let pick = |i: usize| ids[(i.wrapping_mul(2_654_435_761)) % ids.len()].clone();
        let cip_ms = latencies(&c, LOOKUP, lookups, &pick).await;
        let pg_ms = latencies(&p, LOOKUP, lookups, &pick).await;
        println!(
            "lookup customer_segments ({rows} rows), one client, {lookups} lookups: \
             cip p50 {:.2} ms p99 {:.2} ms; PostgreSQL 15 p50 {:.2} ms p99 {:.2} ms: \
             cip takes {:.2}x (p50) / {:.2}x (p99) PostgreSQL's time",
            cip_ms.0,
            cip_ms.1,
            pg_ms.0,
            pg_ms.1,
            cip_ms.0 / pg_ms.0,
            cip_ms.1 / pg_ms.1
        );
        let cip_rate = throughput(cip.port, "cip", ids.clone()).await;
        let pg_rate = throughput(pg.port, "postgres", ids.clone()).await;
        println!(
            "lookup customer_segments, 32 clients for 10 s: cip {cip_rate:.0}/s, PostgreSQL 15 \
             {pg_rate:.0}/s: cip answers {:.4}x PostgreSQL's rate (1/{:.0})",
            cip_rate / pg_rate,
            pg_rate / cip_rate
        );
        let live = latencies(
            &c,
            "SELECT * FROM customer_segments_live WHERE member_id = $1",
            3,
            &pick,
        )
        .await;
        println!(
            "the same lookup computed live (customer_segments_live): {:.0} ms median of 3",
            live.0
        );
        under_writes(&c, cip.port, &pick).await;
    });
}

/// Lookups while visits arrive, and how soon a visit's member is read from the snapshot.
async fn under_writes(c: &Client, port: u16, pick: &impl Fn(usize) -> String) {
    let writer = servers::connect(port, "cip").await;
    let insert = "INSERT INTO visits (visit_id, member_id, store_id, started_at, amount) \
                  VALUES ($1, $2, 'S001', now(), 120.00)";
    let ids: Vec<String> = (0..200).map(|i| pick(i * 31 + 7)).collect();
    let writing = tokio::spawn(async move {
        let until = Instant::now() + Duration::from_secs(20);
        let mut n = 0usize;
        while Instant::now() < until {
            let id = format!("bench-w-{n}");
            writer
                .execute(insert, &[&id, &ids[n % ids.len()]])
                .await
                .expect("insert visit");
            n += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (writer, n)
    });
    let statement = c.prepare(LOOKUP).await.expect("prepare");
    let mut ms = Vec::new();
    let mut i = 0usize;
    while !writing.is_finished() {
        let id = pick(i);
        let t = Instant::now();
        c.query(&statement, &[&id]).await.expect("lookup");
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        i += 1;
    }
    let (writer, visits) = writing.await.expect("writer");
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    println!(
        "lookups while a visit arrives every 100 ms ({visits} visits in 20 s): {n} lookups, \
         p50 {:.2} ms p99 {:.2} ms",
        ms[n / 2],
        ms[(n * 99 / 100).min(n - 1)]
    );
    let mut waits = Vec::new();
    for k in 0..10usize {
        let member = pick(k * 101 + 3);
        let explain = format!("EXPLAIN SELECT * FROM member_scores WHERE member_id = '{member}'");
        let t = Instant::now();
        writer
            .execute(insert, &[&format!("bench-r-{k}"), &member])
            .await
            .expect("insert visit");
        loop {
            let plan: Vec<String> = c
                .query(explain.as_str(), &[])
                .await
                .expect("explain")
                .iter()
                .map(|r| r.get::<_, String>(1))
                .collect();
            // The snapshot alone: while it catches up, a union with the live view answers.
            let text = plan.join("\n");
            if text.contains("member_scores/part-") && !text.contains("UnionExec") {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(120), "no catch-up");
        }
        waits.push(t.elapsed().as_secs_f64() * 1e3);
    }
    waits.sort_by(f64::total_cmp);
    println!(
        "a new visit's member read from the snapshot again after: median {:.0} ms, max {:.0} ms \
         (10 visits)",
        waits[waits.len() / 2],
        waits[waits.len() - 1]
    );
}

/// Median and 99th percentile of `n` executions of `sql` for members `pick(i)`, in ms.
async fn latencies(c: &Client, sql: &str, n: usize, pick: &impl Fn(usize) -> String) -> (f64, f64) {
    let statement = c.prepare(sql).await.expect("prepare");
    let mut ms = Vec::with_capacity(n);
    for i in 0..n {
        let id = pick(i);
        let t = Instant::now();
        let rows = c.query(&statement, &[&id]).await.expect("lookup");
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(rows.len(), 1, "{id}");
    }
    ms.sort_by(f64::total_cmp);
    (ms[n / 2], ms[(n * 99 / 100).min(n - 1)])
}

/// Lookups per second of 32 clients, each running prepared lookups for 10 s.
async fn throughput(port: u16, user: &'static str, ids: Arc<Vec<String>>) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(10);
    let mut clients = Vec::new();
    for k in 0..32usize {
        let (done, ids) = (done.clone(), ids.clone());
        clients.push(tokio::spawn(async move {
            let c = servers::connect(port, user).await;
            let statement = c.prepare(LOOKUP).await.expect("prepare");
            let mut i = k * 7919;
            while Instant::now() < until {
                let id = &ids[(i.wrapping_mul(2_654_435_761)) % ids.len()];
                c.query(&statement, &[id]).await.expect("lookup");
                done.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    let t = Instant::now();
    for h in clients {
        h.await.expect("client");
    }
    done.load(Ordering::Relaxed) as f64 / t.elapsed().as_secs_f64()
}
