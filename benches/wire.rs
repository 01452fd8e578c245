//! The PostgreSQL wire protocol against PostgreSQL 15 itself, same machine, same run, same
//! client (tokio-postgres):
//!
//! - streaming: every row of the `customer_segments` view (1,000,000 generated members; cip
//!   computes the view as it streams) against PostgreSQL serving the same rows from a table;
//!   also the plain `members` table from both. Text rows (simple protocol, as psql and most BI
//!   tools read) and binary rows (extended protocol, as JDBC does after five executions).
//! - ingest: `COPY visits FROM STDIN (FORMAT csv, HEADER)` of 1,000,000 visits, durable in
//!   both (PostgreSQL with its default fsync and synchronous_commit).
//!
//! Needs PostgreSQL 15's server binaries (Debian's postgresql-15; benches/run.sh installs it).
//! Run: `bash benches/run.sh wire`. CIP_BENCH_MEMBERS changes the size.

#[path = "wire/servers.rs"]
mod servers;

use futures::StreamExt;
use std::time::{Duration, Instant};
use tokio_postgres::{Client, SimpleQueryMessage};

const RUNS: usize = 3;

fn main() {
    let Some(pg_bin) = servers::postgres_bin() else {
        eprintln!("PostgreSQL 15 server binaries not found: apt-get install postgresql-15");
        return;
    };
    let members: u32 = std::env::var("CIP_BENCH_MEMBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let root = servers::shared_tempdir();
    let data = root.path().join("cip");
    let t = Instant::now();
    servers::generate(&data, members);
    eprintln!("generated {members} members in {:?}", t.elapsed());
    let cip = servers::Cip::serve(&data);
    let empty = servers::Cip::serve(&root.path().join("cip-ingest"));
    let pg = servers::Postgres::start(&pg_bin, &root.path().join("pg"));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let c = servers::connect(cip.port, "cip").await;
        let ingest = servers::connect(empty.port, "cip").await;
        let p = servers::connect(pg.port, "postgres").await;
        for relation in ["customer_segments", "members"] {
            let rows = servers::mirror(&c, &p, relation).await;
            for binary in [false, true] {
                let cip_s = best(|| stream(&c, relation, binary)).await;
                let pg_s = best(|| stream(&p, relation, binary)).await;
                println!(
                    "stream {relation} ({rows} rows, {}): cip {:.2} s ({:.0} rows/s), \
                     PostgreSQL 15 {:.2} s ({:.0} rows/s): cip takes {:.2}x PostgreSQL's time",
                    if binary {
                        "binary, extended"
                    } else {
                        "text, simple"
                    },
                    cip_s,
                    rows as f64 / cip_s,
                    pg_s,
                    rows as f64 / pg_s,
                    cip_s / pg_s
                );
            }
        }
        let csv = servers::export_csv(&c, "SELECT * FROM visits LIMIT 1000000").await;
        let rows = csv.iter().filter(|b| **b == b'\n').count() - 1;
        servers::create_like(&c, &p, "visits", "SELECT * FROM visits").await;
        let cip_s = best(|| servers::copy_in(&ingest, "visits", &csv)).await;
        let pg_s = best(|| servers::copy_in(&p, "visits", &csv)).await;
        println!(
            "COPY visits FROM STDIN ({rows} rows, {:.1} MB CSV): cip {:.2} s ({:.0} rows/s), \
             PostgreSQL 15 {:.2} s ({:.0} rows/s): cip ingests at {:.2}x PostgreSQL's rate",
            csv.len() as f64 / 1e6,
            cip_s,
            rows as f64 / cip_s,
            pg_s,
            rows as f64 / pg_s,
            pg_s / cip_s
        );
    });
}

/// The fastest of RUNS runs, in seconds.
async fn best<F, Fut>(mut run: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    let mut best = f64::MAX;
    for _ in 0..RUNS {
        best = best.min(run().await.as_secs_f64());
    }
    best
}

/// Reads every row of `relation`; the time taken.
async fn stream(client: &Client, relation: &str, binary: bool) -> Duration {
    let sql = format!("SELECT * FROM {relation}");
    let t = Instant::now();
    let mut n = 0u64;
    if binary {
        let rows = client
            .query_raw(&sql, std::iter::empty::<i32>())
            .await
            .expect("query");
        futures::pin_mut!(rows);
        while let Some(row) = rows.next().await {
            row.expect("row");
            n += 1;
        }
    } else {
        let rows = client.simple_query_raw(&sql).await.expect("query");
        futures::pin_mut!(rows);
        while let Some(m) = rows.next().await {
            if let SimpleQueryMessage::Row(_) = m.expect("row") {
                n += 1;
            }
        }
    }
    assert!(n > 0, "{relation} returned no rows");
    t.elapsed()
}
